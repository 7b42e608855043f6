/**
 * Exit codes and output conventions of the `sv0` CLI (shared/DESIGN.md): `--json` prints one JSON
 * document on stdout; progress and prose go to stderr.
 */
export const ExitCode = {
  /** Done. */
  Ok: 0,
  /** The operation or workflow failed. */
  Failed: 1,
  /** Bad input or usage (also `apply` without `--yes` when stdin is not a terminal). */
  BadInput: 2,
  /** A dependency (Temporal, AWS, the container engine) is unreachable. */
  Unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a chosen exit code and a message for the operator. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** Whether an unreachable dependency gets the "run sv0 doctor" hint (not from doctor itself). */
    readonly doctorHint = true,
  ) {
    super(message);
  }
}

/** Print `data` as the one JSON document on stdout. */
export function printJson(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
}

/** Prose and progress for people: stderr, so `--json` output stays parseable. */
export function say(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Print rows as an aligned text table on stdout. */
export function printTable(headers: string[], rows: (string | number | undefined)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const row of cells) {
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
  }
}
