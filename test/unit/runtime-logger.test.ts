/**
 * LOG_LEVEL sets the level of every line a process writes (pino's and the Temporal SDK's); a
 * value it does not take stops the worker with one line naming the variable.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, logLevelFromEnv } from '../../lib/runtime/logger';

const REPO_ROOT = path.resolve(__dirname, '../..');

describe('LOG_LEVEL', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('defaults to info and takes the levels in any case', () => {
    expect(logLevelFromEnv({})).toBe('info');
    expect(logLevelFromEnv({ LOG_LEVEL: '' })).toBe('info');
    expect(logLevelFromEnv({ LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelFromEnv({ LOG_LEVEL: ' warn ' })).toBe('warn');
  });

  it('refuses any other value, naming the variable and the levels', () => {
    expect(() => logLevelFromEnv({ LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL=verbose: use one of trace, debug, info, warn, error',
    );
  });

  it('sets the level of the loggers the worker and the CLI create', () => {
    vi.stubEnv('LOG_LEVEL', 'WARN');
    const lines: string[] = [];
    const logger = createLogger('level-test', { write: (line: string) => void lines.push(line) });
    logger.info('not written');
    logger.warn('written');
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['written']);
  });

  it('stops the worker with one line before it connects anywhere when the value is wrong', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'workers', 'main.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, LOG_LEVEL: 'verbose', TEMPORAL_ADDRESS: '127.0.0.1:9' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'sv0 worker failed: LOG_LEVEL=verbose: use one of trace, debug, info, warn, error',
    );
  });
});
