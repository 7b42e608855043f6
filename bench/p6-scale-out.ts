/**
 * P6 scale-out: connector syncs per second with two worker processes against one, on the
 * production server, where the workers are the bottleneck by design: each production worker
 * process runs two connector syncs at a time (SV0_MAX_CONCURRENT_CONNECTORS=2) with a container
 * runner that takes a fixed 2 s, so one process completes at most one sync a second. Rounds
 * alternate (one, two, two, one, ...) so that load from other processes hits both alike; the
 * second process is started before and stopped after its rounds, outside the timing. The figure is
 * the median of the pairs' ratios. Target: >= 1.6.
 */
import { TaskQueues } from '../lib/names';
import { connectorSyncWorkflow } from '../workflows/connectors/sync';
import { median, pool, secs, type BenchContext, type Benchmark, type Row } from './support';
import { benchConnector, benchTemporal, type BenchTemporal } from './temporal';
import type { WorkerChildConfig } from './worker-child';
import { forkWorker, type ForkedWorker } from './worker-fork';
import { benchHealthSinkWorkflow, benchStopSignal } from './workflows';

const RUN_MS = 2000;
const SLOTS = 2;

/** Start `n` syncs at once and wait for every result; syncs per second from the first start to the last result. */
async function batch(
  ctx: BenchContext,
  t: BenchTemporal,
  label: string,
  n: number,
  healthId: string,
): Promise<number> {
  const connector = benchConnector('bench-sleep');
  const started = Date.now();
  const handles: Promise<unknown>[] = [];
  await pool(
    Array.from({ length: n }, (_, i) => `p6-${label}-${i}`),
    50,
    ctx.signal,
    async (workflowId) => {
      const handle = await t.client.workflow.start(connectorSyncWorkflow, {
        taskQueue: TaskQueues.connectors,
        workflowId,
        args: [{ connector, healthWorkflowId: healthId }],
      });
      handles.push(handle.result());
    },
  );
  await Promise.all(handles);
  const perSecond = n / ((Date.now() - started) / 1000);
  ctx.log(`${label}: ${n} syncs in ${secs(Date.now() - started)} = ${perSecond.toFixed(2)}/s`);
  return perSecond;
}

export const p6: Benchmark = {
  id: 'P6',
  title: 'scale-out: connector syncs with two worker processes against one',
  method: `Production server (as P5). Worker processes: the production worker process (both task queues' workers) as child processes with SV0_MAX_CONCURRENT_CONNECTORS=${SLOTS} and a ContainerRunner that sleeps ${RUN_MS / 1000} s (the real connectorSyncWorkflow and runConnector activity, reporting to a stand-in for connector-health). Per round, a batch of syncs started 50 in flight; rate = batch size / (first start to the last result). Rounds with one process and with two alternate.`,
  capMs: { full: 8 * 60_000, quick: 4 * 60_000 },
  async run(ctx) {
    const n = ctx.quick ? 12 : 40;
    const pairs = ctx.quick ? 1 : 3;
    const t = await benchTemporal(ctx, { kind: 'production' });
    const config: WorkerChildConfig = {
      address: t.address,
      namespace: t.namespace,
      bundlePath: ctx.bundlePath,
      activities: { kind: 'sleeping-runner', sleepMs: RUN_MS },
      tuning: {},
    };
    const env = { SV0_MAX_CONCURRENT_CONNECTORS: String(SLOTS) };
    await forkWorker(ctx, 'P6 worker process 1', config, { env });
    const healthId = 'p6-connector-health';
    const health = await t.client.workflow.start(benchHealthSinkWorkflow, {
      taskQueue: TaskQueues.connectors,
      workflowId: healthId,
    });
    let second: ForkedWorker | undefined;
    const workers = async (count: 1 | 2) => {
      if (count === 2 && !second) second = await forkWorker(ctx, 'P6 worker process 2', config, { env });
      if (count === 1 && second) {
        await second.stop();
        second = undefined;
      }
    };

    const one: number[] = [];
    const two: number[] = [];
    const ratios: number[] = [];
    for (let p = 0; p < pairs && !ctx.signal.aborted; p++) {
      const order: (1 | 2)[] = p % 2 === 0 ? [1, 2] : [2, 1];
      const rate: Partial<Record<1 | 2, number>> = {};
      try {
        for (const count of order) {
          await workers(count);
          rate[count] = await batch(
            ctx,
            t,
            `pair ${p} ${count} worker${count === 2 ? 's' : ''}`,
            n,
            healthId,
          );
        }
      } catch (err) {
        // A pair the cap cut short is dropped; the pairs before it stand.
        if (!ctx.signal.aborted || ratios.length === 0) throw err;
        ctx.log(`pair ${p} cut short by the cap: ${(err as Error).message}`);
        break;
      }
      one.push(rate[1]!);
      two.push(rate[2]!);
      ratios.push(rate[2]! / rate[1]!);
    }
    if (!ctx.signal.aborted) await health.signal(benchStopSignal);
    const r = median(ratios);
    const ceiling = SLOTS / (RUN_MS / 1000);
    const rows: Row[] = [
      {
        id: 'P6',
        what: 'connector syncs per second, two worker processes / one',
        target: '>= 1.6',
        measured: r.toFixed(2),
        pass: r >= 1.6,
        notes: `median of ${ratios.length} pair(s) of ${n} syncs each: one process ${one.map((x) => x.toFixed(2)).join(', ')}/s, two ${two.map((x) => x.toFixed(2)).join(', ')}/s (at most ${ceiling.toFixed(1)}/s per process: ${SLOTS} slots, ${RUN_MS / 1000} s a run); ${t.description}`,
      },
    ];
    return rows;
  },
};
