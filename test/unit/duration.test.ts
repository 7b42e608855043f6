import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, isDuration, parseDuration, parseTtlTag } from '../../lib/duration';

describe('durations', () => {
  it('reads the one strict form: a whole number and one unit', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(isDuration('90m')).toBe(true);
  });

  it.each(['1.5h', '2 hours', '1h30m', 'PT1H', '', '-1h', '1H'])('refuses %j, naming the field', (text) => {
    expect(isDuration(text)).toBe(false);
    expect(() => parseDuration(text, '--ttl')).toThrow(DurationError);
    expect(() => parseDuration(text, '--ttl')).toThrow(
      `--ttl: "${text}" is not a duration; write a whole number and one unit: 30s, 30m, 2h or 1d`,
    );
  });

  it('refuses zero', () => {
    expect(() => parseDuration('0m', 'extend')).toThrow('extend: "0m" must be longer than zero');
  });

  it('formats in the largest unit that divides exactly', () => {
    expect(formatDuration(2 * 86_400_000)).toBe('2d');
    expect(formatDuration(90 * 60_000)).toBe('90m');
    expect(formatDuration(7_200_000)).toBe('2h');
    expect(formatDuration(1500)).toBe('2s');
    expect(parseDuration(formatDuration(36 * 3_600_000))).toBe(36 * 3_600_000);
  });

  it('reads an sv0:ttl tag: a duration, bare hours, or permanent', () => {
    expect(parseTtlTag('30m')).toBe(1_800_000);
    expect(parseTtlTag('24')).toBe(24 * 3_600_000);
    expect(parseTtlTag('permanent')).toBeUndefined();
    expect(() => parseTtlTag('soon')).toThrow(/sv0:ttl tag: "soon" is not a duration/);
  });
});
