/**
 * Output conventions of the `sv0` CLI: `--json` prints one JSON document on stdout; progress and
 * prose go to stderr, so the JSON stays parseable.
 */
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
