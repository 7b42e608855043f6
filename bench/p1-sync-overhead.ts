/**
 * P1 sync overhead: a connector's Schedule (as `sv0 connectors apply` creates it) triggered now,
 * running the test connector image for 2 s through the real activity and dockerode runner on
 * Podman, from the trigger to the workflow's close (server time), against a direct dockerode run
 * of the same container (create, start, wait, remove: `docker run --rm`). Pairs alternate their
 * order (ABBA) after one untimed warm-up of each; the figure is the median of the pair ratios.
 * Target: <= 1.10.
 */
import Docker from 'dockerode';
import pino from 'pino';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { createConnectorSyncActivities } from '../activities/connectors/sync';
import { createDockerRunner } from '../activities/connectors/containers';
import { workerSecretResolver } from '../activities/secrets/resolve';
import { connectorScheduleOptions } from '../clients/connectors/schedules';
import type { ConnectorSpec } from '../lib/config/connectors';
import { createLogger } from '../lib/runtime/logger';
import { ScheduleIds, TaskQueues } from '../lib/names';
import { startDockerApi } from '../scripts/local-stack';
import { median, secs, sleep, type BenchContext, type Benchmark } from './support';
import {
  BENCH_NETWORK,
  benchConnector,
  benchTemporal,
  benchWorkerSettings,
  startBenchWorker,
} from './temporal';
import { ensureNetwork } from '../scripts/dev-config';
import { benchHealthSinkWorkflow, benchStopSignal } from './workflows';

const SLEEP_SECONDS = 2;

/** `docker run --rm` of the connector through dockerode: ms from create to removed. */
async function directRun(docker: Docker, c: ConnectorSpec): Promise<number> {
  const started = Date.now();
  const container = await docker.createContainer({
    Image: c.image,
    Cmd: c.args,
    Env: Object.entries(c.environment).map(([k, v]) => `${k}=${v}`),
    HostConfig: { Memory: c.memoryMb * 1024 * 1024, NetworkMode: c.network },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`direct run exited with ${StatusCode}`);
  } finally {
    await container.remove({ force: true });
  }
  return Date.now() - started;
}

/** Trigger the schedule and wait for the run it started; ms from the trigger to the workflow's close time. */
async function scheduledRun(client: Client, c: ConnectorSpec): Promise<{ ms: number; breakdown: string }> {
  const handle = client.schedule.getHandle(ScheduleIds.connector(c.name));
  const seen = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
  const triggered = Date.now();
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  let workflowId: string | undefined;
  while (!workflowId) {
    const d = await handle.describe();
    workflowId = [
      ...d.info.runningActions.map((a) => a.workflow),
      ...d.info.recentActions.map((a) => a.action.workflow),
    ].find((w) => !seen.has(w.workflowId))?.workflowId;
    if (!workflowId) {
      if (Date.now() - triggered > 30_000)
        throw new Error('the schedule started no run within 30 s of the trigger');
      await sleep(50);
    }
  }
  const wf = client.workflow.getHandle(workflowId);
  await wf.result();
  const d = await wf.describe();
  const closed = d.closeTime!.getTime();
  return {
    ms: closed - triggered,
    breakdown: `start +${d.startTime.getTime() - triggered} ms, run ${closed - d.startTime.getTime()} ms`,
  };
}

export const p1: Benchmark = {
  id: 'P1',
  title: 'sync overhead: scheduled connector sync vs direct dockerode run',
  method:
    'The connector Schedule as `sv0 connectors apply` creates it, triggered (overlap SKIP); the real runConnector activity and dockerode runner on Podman run the test connector image with SV0_TEST_SLEEP=2; time from the trigger to the workflow close time (server). Against: dockerode create, start, wait, remove of the same image, env, memory limit and network (the platform bridge network). One untimed warm-up of each, then pairs in ABBA order. The sync reports to a stand-in for connector-health (a workflow that takes the signals).',
  capMs: { full: 3 * 60_000, quick: 2 * 60_000 },
  async run(ctx: BenchContext) {
    const pairs = ctx.quick ? 3 : 10;
    const api = await startDockerApi(ctx.tools, 'podman-bench');
    if (api.stop) ctx.cleanup.add('podman API', api.stop);
    const docker = api.socketPath ? new Docker({ socketPath: api.socketPath }) : new Docker();
    await ensureNetwork(docker, BENCH_NETWORK);
    const t = await benchTemporal(ctx);
    const logger = createLogger('bench-p1', pino.destination({ dest: '/dev/null', sync: false }));
    await startBenchWorker(ctx, t, {
      taskQueue: TaskQueues.connectors,
      activities: createConnectorSyncActivities({
        runner: createDockerRunner({ docker, logger }),
        secrets: workerSecretResolver(benchWorkerSettings, {}),
        logger,
        settings: benchWorkerSettings,
      }),
      maxConcurrentActivityTaskExecutions: 4,
    });
    const healthId = 'p1-connector-health';
    const health = await t.client.workflow.start(benchHealthSinkWorkflow, {
      taskQueue: TaskQueues.connectors,
      workflowId: healthId,
    });
    // On the platform network as in production; a 24 h interval so the schedule never fires by itself.
    const connector = benchConnector('bench-sleep', {
      image: ctx.tools.connectorImage,
      environment: { SV0_TEST_SLEEP: String(SLEEP_SECONDS) },
      interval: '24h',
    });
    await t.client.schedule.create(connectorScheduleOptions(connector, { healthWorkflowId: healthId }));
    ctx.cleanup.add('P1 schedule', () =>
      t.client.schedule.getHandle(ScheduleIds.connector(connector.name)).delete(),
    );

    // Warm-up, untimed: the image's layers in the page cache, the worker's first workflow task.
    await directRun(docker, connector);
    await scheduledRun(t.client, connector);

    const ratios: number[] = [];
    const syncs: number[] = [];
    const directs: number[] = [];
    const breakdowns: string[] = [];
    for (let i = 0; i < pairs && !ctx.signal.aborted; i++) {
      let sync: number;
      let direct: number;
      if (i % 2 === 0) {
        direct = await directRun(docker, connector);
        const s = await scheduledRun(t.client, connector);
        sync = s.ms;
        breakdowns.push(s.breakdown);
      } else {
        const s = await scheduledRun(t.client, connector);
        sync = s.ms;
        breakdowns.push(s.breakdown);
        direct = await directRun(docker, connector);
      }
      syncs.push(sync);
      directs.push(direct);
      ratios.push(sync / direct);
      ctx.log(
        `pair ${i}: sync ${sync} ms (${breakdowns.at(-1)}), direct ${direct} ms, ratio ${(sync / direct).toFixed(3)}`,
      );
    }
    await health.signal(benchStopSignal);
    await health.result();
    const ratio = median(ratios);
    return [
      {
        id: 'P1',
        what: `scheduled connector sync / direct dockerode run of a ${SLEEP_SECONDS} s container`,
        target: '<= 1.10',
        measured: ratio.toFixed(3),
        pass: ratios.length === pairs && ratio <= 1.1,
        notes: `median of ${ratios.length} alternated pairs; sync median ${secs(median(syncs), 2)}, direct median ${secs(median(directs), 2)}`,
      },
    ];
  },
};
