/**
 * Durations in the one strict form used everywhere (config, CLI, tags): a whole number and one unit,
 * `30s`, `30m`, `2h`, `1d`. Anything else is an error that says what was expected.
 */
const DURATION_PATTERN = /^([0-9]+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export class DurationError extends Error {
  override name = 'DurationError';
}

/** True when `text` is a duration in the strict form. */
export function isDuration(text: string): boolean {
  return DURATION_PATTERN.test(text);
}

/**
 * Parse a strict duration into milliseconds.
 * @param what names the thing being parsed in the error, e.g. `--ttl` or `config/connectors.yaml: connectors[0].interval`.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) {
    throw new DurationError(
      `${what}: "${text}" is not a duration; write a whole number and one unit: 30s, 30m, 2h or 1d`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms <= 0) throw new DurationError(`${what}: "${text}" must be longer than zero`);
  return ms;
}

/** Format milliseconds in the largest unit that divides them exactly (`7200000` -> `2h`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.ceil(ms / 1000)}s`;
}

/**
 * Read an `sv0:ttl` tag: a strict duration, or a bare number of hours as CDK-made stacks
 * often write it (`24`). `permanent` gives `undefined`: never expires, never swept.
 */
export function parseTtlTag(value: string): number | undefined {
  if (value === 'permanent') return undefined;
  if (/^[0-9]+$/.test(value)) return Number(value) * UNIT_MS.h;
  return parseDuration(value, 'sv0:ttl tag');
}
