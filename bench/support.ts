/**
 * What every benchmark shares: the result row, statistics, a cleanup stack that stops every server
 * even when a benchmark fails or hits its time cap, the workflow bundle and the machine's details.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { StackTools } from '../scripts/local-stack';
import type { DemoFigures } from './p2-demos';
import type { ThroughputFigures } from './p4-throughput';
import type { ServerKind } from './temporal';

/** One line of the results table. */
export interface Row {
  id: string;
  what: string;
  target: string;
  measured: string;
  /** undefined: informational, no target. */
  pass?: boolean;
  notes?: string;
}

/** What each benchmark receives from the runner. */
export interface BenchContext {
  tools: StackTools;
  quick: boolean;
  /** The bundle of bench/workflows.ts (the project's workflows plus the no-op ones). */
  bundlePath: string;
  cleanup: Cleanup;
  /** Aborted when the benchmark's time cap passes; loops check it and stop. */
  signal: AbortSignal;
  /** A fresh directory for this benchmark (removed at the end). */
  tmpDir: string;
  log: (line: string) => void;
  /** Figures a benchmark leaves for a later one in the same run (P5 compares the servers). */
  figures: RunFigures;
}

/** Figures by server kind, filled by P2 and P4 on the dev server and by P5 on the production one. */
export interface RunFigures {
  demos: Partial<Record<ServerKind, DemoFigures>>;
  throughput: Partial<Record<ServerKind, ThroughputFigures>>;
}

export interface Benchmark {
  id: 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6';
  title: string;
  /** How it measures, for the results file: what is real and what is a stand-in. */
  method: string;
  /** Hard cap in ms for the full and the quick run. */
  capMs: { full: number; quick: number };
  run(ctx: BenchContext): Promise<Row[]>;
}

/**
 * A stack of stop functions, run last-in first-out. Benchmarks register each server and worker as
 * they start it; the runner runs the stack after the benchmark, also on failure or at its cap.
 */
export class Cleanup {
  private readonly stack: { name: string; fn: () => Promise<void> | void }[] = [];
  add(name: string, fn: () => Promise<void> | void): void {
    this.stack.push({ name, fn });
  }
  async run(log: (line: string) => void): Promise<void> {
    while (this.stack.length > 0) {
      const { name, fn } = this.stack.pop()!;
      try {
        await withTimeout(Promise.resolve(fn()), 20_000, `stopping ${name}`);
      } catch (err) {
        log(`cleanup: ${name}: ${(err as Error).message}`);
      }
    }
  }
}

/** Reject after `ms` with a message naming what took too long. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The q-quantile (0..1) of the values, nearest-rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: readonly number[]) => {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const secs = (ms: number, digits = 1) => `${(ms / 1000).toFixed(digits)} s`;
export const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/** Run `fn` on every item with at most `limit` in flight; stops taking new items once `signal` aborts. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !signal.aborted) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}

/** Bundle bench/workflows.ts once for every benchmark (webpack takes a while on two cores). */
export async function bundleWorkflows(dir: string): Promise<string> {
  const quiet = {
    trace: () => {},
    debug: () => {},
    info: () => {},
    log: () => {},
    warn: () => {},
    error: (m: string) => process.stderr.write(`bundler: ${m}\n`),
  };
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quiet });
  const file = path.join(dir, 'workflow-bundle.js');
  writeFileSync(file, code);
  return file;
}

export function makeTmpDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sv0-bench-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

/** The machine's details for the results file. */
export function machineDetails(tools: StackTools): Record<string, string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    nproc: firstLine('nproc', []),
    cpu,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    'load average at start': os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    'temporal CLI': firstLine(tools.temporalCli, ['--version']),
    moto: firstLine(path.join(path.dirname(tools.motoServer), 'python'), [
      '-c',
      'import moto; print(moto.__version__)',
    ]),
    podman: tools.podman ? firstLine(tools.podman, ['--version']) : (tools.dockerHost ?? 'none'),
  };
}

/** The results table as Markdown. */
export function markdownTable(rows: readonly Row[]): string {
  const verdict = (r: Row) => (r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS');
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| id | measure | target | measured | result | notes |', '|---|---|---|---|---|---|'];
  for (const r of rows)
    lines.push(
      `| ${r.id} | ${esc(r.what)} | ${esc(r.target)} | ${esc(r.measured)} | ${verdict(r)} | ${esc(r.notes ?? '')} |`,
    );
  return lines.join('\n');
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere
 * or once it has exited. Used to see which process limits a phase: the server or the worker.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const s = procStat(pid);
  return s && s.own;
}

/** A process's parent, its own CPU seconds, and those plus its reaped children's, from /proc/<pid>/stat. */
function procStat(pid: number): { ppid: number; own: number; cpu: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3: ppid is field 4,
    // utime, stime, cutime and cstime fields 14 to 17.
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    const own = (fields[11]! + fields[12]!) / 100;
    return { ppid: fields[1]!, own, cpu: own + (fields[13]! + fields[14]!) / 100 };
  } catch {
    return undefined;
  }
}

/** A process id, or a function that reads CPU seconds itself (a process tree). */
export type CpuSource = number | undefined | (() => number | undefined);

/**
 * CPU seconds of a process and everything it started: its own and its reaped children's time,
 * plus every live descendant's (PostgreSQL forks a backend per connection).
 */
export function processTreeCpu(rootPid: number | undefined): () => number | undefined {
  return () => {
    if (rootPid === undefined) return undefined;
    const stats = new Map<number, { ppid: number; cpu: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const s = procStat(Number(entry));
      if (s) stats.set(Number(entry), s);
    }
    if (!stats.has(rootPid)) return undefined;
    let total = 0;
    const tree = new Set([rootPid]);
    for (let grew = true; grew;) {
      grew = false;
      for (const [pid, s] of stats)
        if (!tree.has(pid) && tree.has(s.ppid)) {
          tree.add(pid);
          grew = true;
        }
    }
    for (const pid of tree) total += stats.get(pid)!.cpu;
    return total;
  };
}

/** CPU use of named processes between two points, as "name x.x cpu-s (yy %)". */
export class CpuMeter {
  private start = new Map<string, number | undefined>();
  private startedAt = Date.now();
  constructor(private readonly sources: Record<string, CpuSource>) {
    this.reset();
  }
  private static seconds(source: CpuSource): number | undefined {
    return typeof source === 'function' ? source() : cpuSeconds(source);
  }
  reset(): void {
    this.startedAt = Date.now();
    for (const [name, source] of Object.entries(this.sources)) this.start.set(name, CpuMeter.seconds(source));
  }
  /** Per process since the last reset: CPU seconds, and share of one core over the wall time. */
  split(): { wallSeconds: number; cpu: Record<string, number | undefined> } {
    const wallSeconds = (Date.now() - this.startedAt) / 1000;
    const cpu: Record<string, number | undefined> = {};
    for (const [name, source] of Object.entries(this.sources)) {
      const a = this.start.get(name);
      const b = CpuMeter.seconds(source);
      cpu[name] = a === undefined || b === undefined ? undefined : b - a;
    }
    return { wallSeconds, cpu };
  }
  read(): string {
    return formatCpu(this.split());
  }
}

/** "name x.x cpu-s (yy % of a core), ... over w s". */
export function formatCpu({ wallSeconds, cpu }: ReturnType<CpuMeter['split']>): string {
  const parts = Object.entries(cpu).map(([name, s]) =>
    s === undefined
      ? `${name} ?`
      : `${name} ${s.toFixed(1)} cpu-s (${Math.round((s / wallSeconds) * 100)} % of a core)`,
  );
  return `${parts.join(', ')} over ${wallSeconds.toFixed(1)} s`;
}

/** The parts of a history event the profile reads (the client's fetchHistory() returns these). */
interface ProfiledEvent {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskCompletedEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  timerStartedEventAttributes?: unknown;
}

const eventMs = (e: ProfiledEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/**
 * What one workflow run cost, from its history: events, workflow tasks, activities and timers, its
 * wall time, and the activities that took longest (scheduled to completed). Where the time goes.
 */
export function historyProfile(events: readonly ProfiledEvent[]): string {
  if (events.length === 0) return 'no history';
  const scheduled = new Map<string, { name: string; at: number }>();
  const durations: { name: string; ms: number }[] = [];
  let tasks = 0;
  let timers = 0;
  for (const e of events) {
    if (e.workflowTaskCompletedEventAttributes) tasks++;
    if (e.timerStartedEventAttributes) timers++;
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(String(e.eventId), {
        name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        at: eventMs(e),
      });
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = scheduled.get(String(done.scheduledEventId));
      if (s) durations.push({ name: s.name, ms: eventMs(e) - s.at });
    }
  }
  const wall = eventMs(events[events.length - 1]!) - eventMs(events[0]!);
  const inActivities = durations.reduce((sum, d) => sum + d.ms, 0);
  const slowest = [...durations]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map((d) => `${d.name} ${d.ms} ms`)
    .join(', ');
  return (
    `${events.length} events, ${tasks} workflow tasks, ${scheduled.size} activities${timers ? `, ${timers} timers` : ''}, ${wall} ms wall` +
    (durations.length ? `, ${inActivities} ms summed in activities (slowest: ${slowest})` : '')
  );
}
