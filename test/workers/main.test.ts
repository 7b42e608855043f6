/**
 * The worker process's own settings (SV0_* variables): their defaults, and a clear refusal of a
 * value the worker cannot read rather than a silent default.
 */
import { describe, expect, it } from 'vitest';
import { processOptionsFromEnv } from '../../workers/main';

describe('processOptionsFromEnv', () => {
  it('defaults to a cache of 250 and V8 favouring memory over speed', () => {
    const options = processOptionsFromEnv({});
    expect(options).toMatchObject({
      maxCachedWorkflows: 250,
      maxConcurrentConnectors: 4,
      optimizeForSize: true,
    });
  });

  it('turns --optimize-for-size off only when asked to', () => {
    expect(processOptionsFromEnv({ SV0_OPTIMIZE_FOR_SIZE: 'false' }).optimizeForSize).toBe(false);
    expect(processOptionsFromEnv({ SV0_OPTIMIZE_FOR_SIZE: 'true' }).optimizeForSize).toBe(true);
    expect(processOptionsFromEnv({ SV0_OPTIMIZE_FOR_SIZE: '' }).optimizeForSize).toBe(true);
  });

  it('refuses a value that is neither true nor false, naming the variable', () => {
    expect(() => processOptionsFromEnv({ SV0_OPTIMIZE_FOR_SIZE: 'no' })).toThrow(
      'SV0_OPTIMIZE_FOR_SIZE must be true or false, not "no"',
    );
  });
});
