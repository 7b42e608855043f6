/**
 * The parent's side of a benchmark worker process (bench/worker-child.ts): start it with the
 * process settings the worker image sets, keep its reports, and say where its memory is.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../scripts/local-stack';
import { mib, type BenchContext } from './support';
import type { WorkerChildConfig, WorkerChildReport } from './worker-child';

/** What the worker image's environment sets for the process itself: the allocator and Node's flags. */
const PROCESS_SETTINGS = /^(LD_PRELOAD|MALLOC_\w+|NODE_OPTIONS)$/;

/**
 * The process settings of the Dockerfile's last stage (its ENV lines), so that a benchmark's
 * worker runs with the allocator and Node flags the image ships, not the machine's defaults.
 */
export function imageProcessSettings(
  dockerfile = path.join(REPO_ROOT, 'Dockerfile'),
): Record<string, string> {
  const lines = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const lastStage = lines.reduce((last, l, i) => (/^FROM\s/i.test(l) ? i : last), 0);
  const settings: Record<string, string> = {};
  for (const line of lines.slice(lastStage)) {
    const m = /^ENV\s+(.*)$/i.exec(line.trim());
    if (!m) continue;
    for (const [, name, value] of m[1]!.matchAll(/(\w+)=("[^"]*"|\S*)/g))
      if (PROCESS_SETTINGS.test(name!)) settings[name!] = value!.replace(/^"(.*)"$/, '$1');
  }
  return settings;
}

/** The LD_PRELOAD entries (names or paths) missing from the process's mappings. */
function unloaded(pid: number | undefined, preload: string | undefined): string[] {
  if (!preload || pid === undefined) return [];
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return [];
  }
  return preload.split(/[\s:]+/).filter((lib) => lib && !maps.includes(path.basename(lib)));
}

export type MemorySample = Pick<
  WorkerChildReport,
  'rss' | 'heapUsed' | 'heapTotal' | 'heapYoung' | 'external' | 'threadHeaps' | 'kernel'
> & { at: number };

/** What the parent keeps of a worker's reports. */
export class WorkerState {
  memory: MemorySample[] = [];
  teardowns = new Map<string, number>();
  last?: WorkerChildReport;
  take(r: WorkerChildReport) {
    const { rss, heapUsed, heapTotal, heapYoung, external, threadHeaps, kernel } = r;
    this.memory.push({ at: Date.now(), rss, heapUsed, heapTotal, heapYoung, external, threadHeaps, kernel });
    for (const [id, at] of r.teardowns) if (!this.teardowns.has(id)) this.teardowns.set(id, at);
    this.last = r;
  }
}

export interface ForkedWorker {
  child: ChildProcess;
  state: WorkerState;
  /** LD_PRELOAD libraries the process did not load (missing on this machine). */
  missingPreloads: string[];
  /** Ask it to shut down gracefully (SIGKILL after 15 s); resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Fork a worker process and wait until its workers run. `env` and `execArgv` come on top of the
 * image's process settings (a measurement of another setting); cleanup stops it.
 */
export async function forkWorker(
  ctx: BenchContext,
  name: string,
  config: WorkerChildConfig,
  opts: { env?: Record<string, string>; execArgv?: string[] } = {},
): Promise<ForkedWorker> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...imageProcessSettings(),
    ...opts.env,
    SV0_BENCH_WORKER: JSON.stringify(config),
  };
  const child = fork(path.join(__dirname, 'worker-child.ts'), [], {
    execArgv: [...(opts.execArgv ?? []), '--import', 'tsx'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const state = new WorkerState();
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send('stop');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };
  ctx.cleanup.add(name, stop);
  child.on('message', (m: WorkerChildReport | { type: 'started' }) => {
    if (m.type === 'report') state.take(m);
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before it started`)));
  });
  const missingPreloads = unloaded(child.pid, env.LD_PRELOAD);
  if (missingPreloads.length)
    ctx.log(
      `${name}: LD_PRELOAD ${missingPreloads.join(', ')} not loaded (bash scripts/stack.sh provision installs it)`,
    );
  return { child, state, stop, missingPreloads };
}

/**
 * Where a sample's memory is: the V8 heaps (the main thread's: the SDK's JavaScript and the
 * activities; each workflow thread's: its workers' cached workflows), what V8 keeps outside them,
 * the code mapped from files (node, the SDK's native library), and the rest: the SDK's Rust core,
 * the allocator's arenas and thread stacks. A miss says which of these to tune.
 */
export function memorySplit(s: MemorySample): string {
  const threads = s.threadHeaps;
  const threadTotal = threads.reduce((sum, h) => sum + h.total, 0);
  const threadUsed = threads.reduce((sum, h) => sum + h.used, 0);
  const young = s.heapYoung + threads.reduce((sum, h) => sum + h.young, 0);
  const outsideHeaps = s.external + threads.reduce((sum, h) => sum + h.external + h.malloced, 0);
  const fileBacked = s.kernel?.fileBacked ?? 0;
  const rest = s.rss - s.heapTotal - threadTotal - outsideHeaps - fileBacked;
  return [
    `main V8 heap ${mib(s.heapUsed)} used of ${mib(s.heapTotal)}`,
    `${threads.length} workflow thread heaps ${mib(threadUsed)} used of ${mib(threadTotal)}`,
    `of these heaps the young generations ${mib(young)}`,
    `V8 external and malloced ${mib(outsideHeaps)}`,
    `file-backed ${s.kernel ? mib(fileBacked) : '?'}`,
    `the rest (Rust core, allocator, stacks of ${s.kernel?.threads ?? '?'} threads) ${mib(rest)}`,
  ].join(', ');
}
