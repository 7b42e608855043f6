/**
 * P4 throughput: connector-sync workflows whose container runner does nothing, against no-op
 * workflows, per second, on the same dev server and worker in one run. Batches alternate (no-op,
 * sync, no-op, sync, ...) so that load from other processes on the machine hits both alike; the
 * figure is the median of the per-round ratios. Target: >= 0.5.
 */
import { createConnectorSyncActivities } from '../activities/connectors/sync';
import type { ContainerRunner } from '../activities/connectors/containers';
import { secretResolverFromEnv } from '../activities/secrets/resolve';
import { createLogger } from '../lib/runtime/logger';
import { TaskQueues, WorkflowTypes } from '../lib/names';
import { connectorSyncWorkflow } from '../workflows/connectors/sync';
import {
  benchConnector,
  benchTemporal,
  startBenchWorker,
  waitForCount,
  type BenchTemporal,
} from './temporal';
import {
  historyProfile,
  median,
  pool,
  withTimeout,
  type BenchContext,
  type Benchmark,
  type Row,
} from './support';
import { benchHealthSinkWorkflow, benchNoopWorkflow, benchStopSignal } from './workflows';
import pino from 'pino';

/** The container runner a no-op connector gets: exits 0 at once, no engine involved. */
export const noopRunner: ContainerRunner = {
  run: () => Promise.resolve({ exitCode: 0, durationMs: 0, timedOut: false, logTail: [] }),
  reapOrphans: () => Promise.resolve([]),
};

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
    `P4 round ${round} ${kind}: ${n} in ${((done - started) / 1000).toFixed(1)} s = ${perSecond.toFixed(1)}/s`,
  );
  return perSecond;
}

export const p4: Benchmark = {
  id: 'P4',
  title: 'throughput: connector sync (no-op runner) vs no-op workflow',
  method:
    'One worker on sv0-connectors with the production settings (4 concurrent activities): the real connectorSyncWorkflow and runConnector activity with a ContainerRunner that exits 0 at once, against a workflow that returns at once. Batches of each, started 50 in flight, alternate; rate = batch size / (first start to the visibility count of completed reaching the batch). The syncs report to a stand-in for connector-health.',
  capMs: { full: 3 * 60_000, quick: 90_000 },
  async run(ctx) {
    const n = ctx.quick ? 100 : 500;
    const rounds = ctx.quick ? 1 : 3;
    const t = await benchTemporal(ctx);
    // Logs go nowhere, but are still written: a production worker pays for its log lines too.
    const logger = createLogger('bench-p4', pino.destination({ dest: '/dev/null', sync: false }));
    // The production worker's settings for sv0-connectors (workers/main.ts): 4 concurrent activities.
    await startBenchWorker(ctx, t, {
      taskQueue: TaskQueues.connectors,
      activities: createConnectorSyncActivities({
        runner: noopRunner,
        secrets: secretResolverFromEnv({}),
        logger,
      }),
      maxConcurrentActivityTaskExecutions: 4,
    });
    const healthId = 'p4-connector-health';
    const health = await t.client.workflow.start(benchHealthSinkWorkflow, {
      taskQueue: TaskQueues.connectors,
      workflowId: healthId,
    });

    const noop: number[] = [];
    const sync: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds && !ctx.signal.aborted; r++) {
      try {
        const a = await batch(ctx, t, 'noop', r, n, healthId);
        const b = await batch(ctx, t, 'sync', r, n, healthId);
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
    const profile = async (id: string) =>
      historyProfile((await t.client.workflow.getHandle(id).fetchHistory()).events ?? []);
    const costs = await withTimeout(
      (async () => `per run: sync ${await profile('p4-sync-0-0')}; no-op ${await profile('p4-noop-0-0')}`)(),
      10_000,
      'reading the histories',
    ).catch((err: unknown) => `histories not read: ${(err as Error).message}`);
    const rows: Row[] = [
      {
        id: 'P4',
        what: 'connector sync (no-op runner) / no-op workflow, completions per second',
        target: '>= 0.50',
        measured: ratio.toFixed(2),
        pass: ratio >= 0.5,
        notes: `median of ${ratios.length} alternated round(s) of ${n} each: no-op ${noop.map((x) => x.toFixed(0)).join(', ')}/s; sync ${sync.map((x) => x.toFixed(0)).join(', ')}/s; ${START_CONCURRENCY} starts in flight; health stand-in got ${reports} reports; ${costs}`,
      },
    ];
    return rows;
  },
};
