/**
 * P4 throughput: connector-sync workflows whose container runner does nothing, against no-op
 * workflows, per second, on the same dev server and worker in one run. Batches alternate (no-op,
 * sync, no-op, sync, ...) so that load from other processes on the machine hits both alike; the
 * figure is the median of the per-round ratios. Target: >= 0.5.
 */
import { TaskQueues, WorkflowTypes } from '../lib/names';
import { connectorSyncWorkflow } from '../workflows/connectors/sync';
import { benchConnector, benchTemporal, waitForCount, type BenchTemporal, type ServerKind } from './temporal';
import { forkWorker } from './worker-fork';
import {
  CpuMeter,
  historyProfile,
  median,
  pool,
  withTimeout,
  type BenchContext,
  type Benchmark,
  type Row,
} from './support';
import { benchHealthSinkWorkflow, benchNoopWorkflow, benchStopSignal } from './workflows';

/** Starts in flight at once: enough to keep the worker busy, few enough not to measure the client. */
const START_CONCURRENCY = 50;

async function batch(
  ctx: BenchContext,
  t: BenchTemporal,
  kind: 'noop' | 'sync',
  round: number,
  n: number,
  healthId: string,
): Promise<number> {
  const type = kind === 'noop' ? 'benchNoopWorkflow' : WorkflowTypes.connectorSync;
  const query = `WorkflowType = '${type}' AND ExecutionStatus = 'Completed'`;
  const before = (await t.client.workflow.count(query)).count;
  const connector = benchConnector('bench-noop');
  const ids = Array.from({ length: n }, (_, i) => `p4-${kind}-${round}-${i}`);
  const started = Date.now();
  await pool(ids, START_CONCURRENCY, ctx.signal, async (workflowId) => {
    if (kind === 'noop')
      await t.client.workflow.start(benchNoopWorkflow, { taskQueue: TaskQueues.connectors, workflowId });
    else {
      await t.client.workflow.start(connectorSyncWorkflow, {
        taskQueue: TaskQueues.connectors,
        workflowId,
        args: [{ connector, healthWorkflowId: healthId }],
      });
    }
  });
  const done = await waitForCount(ctx, t.client, query, before + n);
  const perSecond = n / ((done - started) / 1000);
  ctx.log(
    `round ${round} ${kind}: ${n} in ${((done - started) / 1000).toFixed(1)} s = ${perSecond.toFixed(1)}/s`,
  );
  return perSecond;
}

/** P4's figures, for P5's comparison of the two servers. */
export interface ThroughputFigures {
  server: string;
  noopPerSecond: number;
  syncPerSecond: number;
  ratio: number;
  /** CPU seconds per sync completed, by process, over the sync batches. */
  cpuPerSync: Record<string, number | undefined>;
}

/**
 * Run P4 against a server of the given kind; rows carry `id`. The worker is the production worker
 * process (its settings: 4 concurrent connector runs) with a container runner that exits at once.
 */
export async function measureThroughput(
  ctx: BenchContext,
  id: string,
  kind: ServerKind,
): Promise<{ rows: Row[]; figures?: ThroughputFigures }> {
  const n = ctx.quick ? 100 : 500;
  const rounds = ctx.quick ? 1 : 3;
  const t = await benchTemporal(ctx, { kind });
  const worker = await forkWorker(ctx, `${id} worker process`, {
    address: t.address,
    namespace: t.namespace,
    bundlePath: ctx.bundlePath,
    activities: { kind: 'sleeping-runner', sleepMs: 0 },
    tuning: {},
  });
  const healthId = `${id.toLowerCase()}-connector-health`;
  const health = await t.client.workflow.start(benchHealthSinkWorkflow, {
    taskQueue: TaskQueues.connectors,
    workflowId: healthId,
  });
  const cpu = new CpuMeter({ ...t.processes, worker: worker.child.pid, client: process.pid });
  const syncCpu: Record<string, number | undefined>[] = [];

  const noop: number[] = [];
  const sync: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds && !ctx.signal.aborted; r++) {
    try {
      const a = await batch(ctx, t, 'noop', r, n, healthId);
      cpu.reset();
      const b = await batch(ctx, t, 'sync', r, n, healthId);
      syncCpu.push(cpu.split().cpu);
      noop.push(a);
      sync.push(b);
      ratios.push(b / a);
    } catch (err) {
      // A round the cap cut short is dropped; the rounds before it stand.
      if (!ctx.signal.aborted || ratios.length === 0) throw err;
      ctx.log(`round ${r} cut short by the cap: ${(err as Error).message}`);
    }
  }
  const ratio = median(ratios);
  // After the cap a backlog of syncs may still queue ahead of the stop signal: do not wait behind it.
  let reports = 'not counted (cut short by the cap)';
  if (!ctx.signal.aborted) {
    await health.signal(benchStopSignal);
    reports = String(await health.result());
  }
  const profile = async (workflowId: string) =>
    historyProfile((await t.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []);
  const costs = await withTimeout(
    (async () => `per run: sync ${await profile('p4-sync-0-0')}; no-op ${await profile('p4-noop-0-0')}`)(),
    10_000,
    'reading the histories',
  ).catch((err: unknown) => `histories not read: ${(err as Error).message}`);
  const cpuPerSync = Object.fromEntries(
    Object.keys(syncCpu[0] ?? {}).map((name) => {
      const values = syncCpu.map((c) => c[name]);
      return [
        name,
        values.some((v) => v === undefined)
          ? undefined
          : values.reduce((a, b) => a! + b!, 0)! / (n * syncCpu.length),
      ];
    }),
  );
  const rows: Row[] = [
    {
      id,
      what: 'connector sync (no-op runner) / no-op workflow, completions per second',
      target: '>= 0.50',
      measured: ratio.toFixed(2),
      pass: ratio >= 0.5,
      notes: `median of ${ratios.length} alternated round(s) of ${n} each: no-op ${noop.map((x) => x.toFixed(0)).join(', ')}/s; sync ${sync.map((x) => x.toFixed(0)).join(', ')}/s; ${START_CONCURRENCY} starts in flight; CPU per sync: ${perItem(cpuPerSync)}; health stand-in got ${reports} reports; ${costs}; ${t.description}`,
    },
  ];
  const figures = ratios.length
    ? { server: t.description, noopPerSecond: median(noop), syncPerSecond: median(sync), ratio, cpuPerSync }
    : undefined;
  return { rows, figures };
}

/** "name x ms, ..." of CPU seconds per item. */
export function perItem(cpu: Record<string, number | undefined>): string {
  return Object.entries(cpu)
    .map(([name, s]) => `${name} ${s === undefined ? '?' : `${(s * 1000).toFixed(1)} ms`}`)
    .join(', ');
}

export const p4: Benchmark = {
  id: 'P4',
  title: 'throughput: connector sync (no-op runner) vs no-op workflow',
  method:
    "The production worker process (both task queues' workers, its settings: 4 concurrent connector runs) as a child process: the real connectorSyncWorkflow and runConnector activity with a ContainerRunner that exits 0 at once, against a workflow that returns at once, on the dev server (SQLite file). Batches of each, started 50 in flight, alternate; rate = batch size / (first start to the visibility count of completed reaching the batch). The syncs report to a stand-in for connector-health.",
  capMs: { full: 3 * 60_000, quick: 90_000 },
  async run(ctx) {
    const { rows, figures } = await measureThroughput(ctx, 'P4', 'dev');
    ctx.figures.throughput.dev = figures;
    return rows;
  },
};
