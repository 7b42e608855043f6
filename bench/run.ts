/**
 * `npm run bench [-- P1 P3 ...] [--quick]`: run the benchmarks P1 to P6, each on its own servers,
 * each bounded by a count and a hard time cap, each stopping what it started (also on failure, at
 * its cap, or on Ctrl-C). Prints a Markdown table; a full run adds its table, with the machine's
 * details and load, to bench/RESULTS.md (newest first, under the analysis and history kept by
 * hand), any other run writes it to a file in the temp dir.
 * Traffic stays on 127.0.0.1. Not part of `npm test`.
 *
 * For calibrating on another machine: SV0_BENCH_P2='{"n":3000,"expiring":500}' overrides part of
 * P2's plan (SV0_BENCH_P5 the same for P5's demos); SV0_BENCH_DB=memory runs the dev servers
 * without a database file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { provisionStack } from '../scripts/local-stack';
import { p1 } from './p1-sync-overhead';
import { p2 } from './p2-demos';
import { p3 } from './p3-org-bootstrap';
import { p4 } from './p4-throughput';
import { p5 } from './p5-production';
import { p6 } from './p6-scale-out';
import {
  bundleWorkflows,
  Cleanup,
  machineDetails,
  makeTmpDir,
  markdownTable,
  secs,
  sleep,
  type Benchmark,
  type Row,
  type RunFigures,
} from './support';

const BENCHMARKS: Benchmark[] = [p1, p2, p3, p4, p5, p6];
/** How long a benchmark may take to return its partial figures after its cap, before its servers are stopped under it. */
const GRACE_MS = 20_000;

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

function parseArgs(argv: string[]): { selected: Benchmark[]; quick: boolean } {
  const quick = argv.includes('--quick');
  const ids = argv.filter((a) => a !== '--quick').map((a) => a.toUpperCase());
  const unknown = ids.filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown argument(s) ${unknown.join(', ')}; use P1 to P6 and --quick\n`);
    process.exit(2);
  }
  return { selected: ids.length ? BENCHMARKS.filter((b) => ids.includes(b.id)) : BENCHMARKS, quick };
}

let current: { cleanup: Cleanup; abort: AbortController } | undefined;

async function runOne(
  b: Benchmark,
  base: { tools: ReturnType<typeof provisionStack>; quick: boolean; bundlePath: string; figures: RunFigures },
): Promise<Row[]> {
  const capMs = base.quick ? b.capMs.quick : b.capMs.full;
  const abort = new AbortController();
  const cleanup = new Cleanup();
  const tmp = makeTmpDir(b.id.toLowerCase());
  current = { cleanup, abort };
  const started = Date.now();
  log(`${b.id} ${b.title}: start (cap ${secs(capMs, 0)})`);
  const capTimer = setTimeout(() => abort.abort(new Error(`time cap of ${secs(capMs, 0)} reached`)), capMs);
  const work = b.run({
    ...base,
    cleanup,
    signal: abort.signal,
    tmpDir: tmp.dir,
    log: (l) => log(`${b.id} ${l}`),
  });
  // The benchmark sees the abort and returns what it measured; if it hangs, its servers are stopped under it.
  const hardStop = new Promise<'hung'>((resolve) => {
    const onAbort = () => setTimeout(() => resolve('hung'), GRACE_MS).unref();
    if (abort.signal.aborted) onAbort();
    else abort.signal.addEventListener('abort', onAbort, { once: true });
  });
  let rows: Row[];
  try {
    const outcome = await Promise.race([work, hardStop]);
    rows =
      outcome === 'hung'
        ? [
            {
              id: b.id,
              what: b.title,
              target: '-',
              measured: 'no result',
              pass: false,
              notes: `did not finish within its cap of ${secs(capMs, 0)}`,
            },
          ]
        : outcome;
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!;
    log(`${b.id} failed: ${(err as Error).stack ?? message}`);
    rows = [{ id: b.id, what: b.title, target: '-', measured: 'failed', pass: false, notes: message }];
  } finally {
    clearTimeout(capTimer);
    await cleanup.run((l) => log(`${b.id} ${l}`));
    tmp.remove();
    current = undefined;
  }
  work.catch(() => undefined);
  log(`${b.id} done in ${secs(Date.now() - started)}`);
  return rows;
}

const RESULTS_FILE = path.join(__dirname, 'RESULTS.md');
/** The line of RESULTS.md under which each full run's section goes, newest first. */
const RUNS_MARKER = '<!-- npm run bench inserts each full run below this line, newest first -->';

/** RESULTS.md with this run's section added under the marker; the analysis and history above it stay. */
function withRun(section: string): string {
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '';
  const at = current.indexOf(RUNS_MARKER);
  if (at < 0)
    return `# Benchmarks\n\n## Runs\n\n${RUNS_MARKER}\n\n${section}\n${current ? `\n${current}` : ''}`;
  const after = at + RUNS_MARKER.length;
  return `${current.slice(0, after)}\n\n${section}${current.slice(after)}`;
}

async function main(): Promise<void> {
  const { selected, quick } = parseArgs(process.argv.slice(2));
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping the servers of the running benchmark`);
      current?.abort.abort(new Error(sig));
      void (current?.cleanup.run(log) ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  // A call the client retries after its benchmark's connection was closed at the cap throws from
  // a timer; that must not take the other benchmarks' figures with it.
  process.on('uncaughtException', (err) => log(`ignored after a cleanup: ${err.message}`));
  const tools = provisionStack({ quiet: true });
  const details = machineDetails(tools);
  const shared = makeTmpDir('bundle');
  let rows: Row[] = [];
  const started = Date.now();
  try {
    log('bundling the workflows');
    const bundlePath = await bundleWorkflows(shared.dir);
    const figures: RunFigures = { demos: {}, throughput: {} };
    for (const b of selected) {
      rows = rows.concat(await runOne(b, { tools, quick, bundlePath, figures }));
      await sleep(1000);
    }
  } finally {
    shared.remove();
  }
  const total = Date.now() - started;
  const table = markdownTable(rows);
  process.stdout.write(`\n${table}\n\n`);
  const full = !quick && selected.length === BENCHMARKS.length;
  const section = [
    `### ${details.date} (${selected.map((b) => b.id).join(', ')}${quick ? ', --quick' : ''}; ${secs(total, 0)} in all)`,
    '',
    'Each benchmark starts its own servers (the dev server with SQLite, in memory for P2; the production server for P5 and P6) and, where it needs them,',
    'moto and the Podman Docker API, all on 127.0.0.1, and stops them at its end.',
    '',
    ...Object.entries(details).map(([k, v]) => `- ${k}: ${v}`),
    '',
    table,
    '',
    'Method:',
    '',
    ...selected.map((b) => `- ${b.id}, ${b.title}: ${b.method}`),
    '',
  ].join('\n');
  const out = full ? RESULTS_FILE : path.join(os.tmpdir(), `sv0-bench-${Date.now()}.md`);
  writeFileSync(out, full ? withRun(section) : section);
  log(
    `results written to ${out}${full ? '' : ' (a partial or --quick run does not go into bench/RESULTS.md)'}`,
  );
  // A missed target is a result; only a benchmark that produced no figures fails the command.
  process.exitCode = rows.some((r) => r.measured === 'failed' || r.measured === 'no result') ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
