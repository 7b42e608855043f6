import { Writable } from 'node:stream';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerRunner } from '../../../activities/connectors/containers';
import {
  applyConnectorSchedules,
  connectorScheduleOptions,
  triggerConnectorRun,
} from '../../../clients/connectors/schedules';
import type { ConnectorSpec } from '../../../lib/config/connectors';
import { createLogger } from '../../../lib/runtime/logger';
import { ContainerLabels, ScheduleIds, WorkflowIds } from '../../../lib/names';
import {
  afterStateQuery,
  healthStateQuery,
  type ConnectorHealthConfig,
  type HealthState,
} from '../../../lib/contracts/connectors';
import { connectorHealthWorkflow } from '../../../workflows/connectors/health';
import { testDocker } from '../../harness/docker';
import { startPlatform, type PlatformStandIn } from '../../harness/platform';
import { recordHistory } from '../../harness/record-history';
import {
  deleteConnectorSchedules,
  testConnectorActivities,
  testConnectorSpec,
} from '../../harness/connectors';
import { stack } from '../../harness/stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { startWebhookReceiver, type ReceivedRequest } from '../../harness/webhook';
import { ensureTestNetwork, testWorkerSettings } from '../../harness/worker-settings';

const PLATFORM_TOKEN = `platform-token-${uniqueId('v')}`;
const taskQueue = uniqueId('connectors-health');
let env: TestWorkflowEnvironment;
let client: Client;
let docker: Docker;
let platform: PlatformStandIn;
let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
const logger = createLogger('health-test', new Writable({ write: (_c, _e, done) => done() }));

function activities() {
  const settings = testWorkerSettings({
    platformUrl: platform.url,
    secrets: { envNames: ['PLATFORM_TOKEN', 'WEBHOOK_URL'] },
  });
  return testConnectorActivities({
    settings,
    logger,
    docker,
    env: { PLATFORM_TOKEN, WEBHOOK_URL: webhook.url },
  });
}

function spec(name: string, over: Partial<ConnectorSpec> = {}, vars: Record<string, string> = {}) {
  return testConnectorSpec(name, platform.containerUrl, over, vars);
}

const platformConfig = () => ({
  url: platform.url,
  tokenRef: 'env:PLATFORM_TOKEN',
  syncsPath: '/api/v1/syncs',
});
const sinks = (): ConnectorHealthConfig['sinks'] => [
  { type: 'webhook', name: 'test', urlRef: 'env:WEBHOOK_URL' },
];
/**
 * Start connector-health over one connector (its name, interval and pause threshold), checking the
 * platform stand-in every second and alerting the webhook receiver.
 */
function startHealth(
  connector: { name: string; interval: string },
  over: { workflowId?: string; checksPerRun?: number } = {},
) {
  return client.workflow.start(connectorHealthWorkflow, {
    workflowId: over.workflowId ?? uniqueId('health'),
    taskQueue,
    args: [
      {
        config: {
          connectors: [{ ...connector, pauseAfterFailedRuns: 3 }],
          platform: platformConfig(),
          checkEvery: '1s',
          sinks: sinks(),
          ...(over.checksPerRun === undefined ? {} : { checksPerRun: over.checksPerRun }),
        },
      },
    ],
  });
}
const alerts = (event: string, connector: string) =>
  webhook.received.filter((r: ReceivedRequest) => {
    const body = r.body as { event?: string; fields?: { connector?: string } };
    return body.event === event && body.fields?.connector === connector;
  });

beforeAll(async () => {
  env = await testEnv();
  client = env.client;
  docker = testDocker();
  platform = await startPlatform({ token: PLATFORM_TOKEN });
  webhook = await startWebhookReceiver();
  await ensureTestNetwork();
});

afterAll(async () => {
  await deleteConnectorSchedules(client);
  await platform?.close();
  await webhook?.close();
});

describe('connector-health', () => {
  it('alerts once when the last platform sync is older than twice the interval, and once when it recovers, across continue-as-new', async () => {
    const name = uniqueId('it-stale');
    await client.schedule.create(connectorScheduleOptions(spec(name), { taskQueue }));
    platform.addSync(name, new Date(Date.now() - 10 * 60_000));
    const workflowId = uniqueId('health');
    await runWorker({ env, taskQueue, activities: activities() }, async () => {
      // Continue-as-new every 2 checks: the open incident must survive it (one alert, not one per run).
      const handle = await startHealth({ name, interval: '2m' }, { workflowId, checksPerRun: 2 });
      const firstRunId = handle.firstExecutionRunId;
      await webhook.waitFor((r) => (r.body as { event?: string }).event === 'connector.stale');
      let state = await checksAfter(handle, 3);
      expect(alerts('connector.stale', name)).toHaveLength(1);
      expect(state.incidents[name]).toBeDefined();
      expect((alerts('connector.stale', name)[0]?.body as { text: string }).text).toMatch(
        /more than twice its interval of 2m/,
      );

      platform.addSync(name, new Date());
      await webhook.waitFor((r) => (r.body as { event?: string }).event === 'connector.recovered');
      state = await checksAfter(handle, 3);
      expect(alerts('connector.recovered', name)).toHaveLength(1);
      expect(alerts('connector.stale', name)).toHaveLength(1);
      expect(state.incidents[name]).toBeUndefined();
      expect((await client.workflow.getHandle(workflowId).describe()).runId).not.toBe(firstRunId);
      // Every question to the platform carried the bearer token.
      expect(platform.syncQueries.filter((q) => q.connector === name).every((q) => q.authorized)).toBe(true);
      await client.workflow.getHandle(workflowId).terminate('test done');
    });
    recordHistory(workflowId, 'connector-health-stale');
  });

  it('alerts once when the platform cannot be asked for longer than twice the interval, and once when it answers again', async () => {
    const name = uniqueId('it-nocheck');
    await client.schedule.create(connectorScheduleOptions(spec(name), { taskQueue }));
    platform.addSync(name, new Date());
    platform.setToken('a-rotated-token');
    try {
      await runWorker({ env, taskQueue, activities: activities() }, async () => {
        const handle = await startHealth({ name, interval: '1s' });
        await webhook.waitFor((r) => (r.body as { event?: string }).event === 'connector.check-failing');
        const failing = await checksAfter(handle, 3);
        expect(alerts('connector.check-failing', name)).toHaveLength(1);
        expect(failing.checkErrors[name]?.message).toMatch(
          /HTTP 401, the token \(env:PLATFORM_TOKEN\) was refused/,
        );
        platform.setToken(PLATFORM_TOKEN);
        await webhook.waitFor((r) => (r.body as { event?: string }).event === 'connector.check-recovered');
        const ok = await checksAfter(handle, 2);
        expect(alerts('connector.check-recovered', name)).toHaveLength(1);
        expect(ok.checkErrors[name]).toBeUndefined();
        await handle.terminate('test done');
      });
    } finally {
      platform.setToken(PLATFORM_TOKEN);
    }
  });

  it('does not check a paused connector', async () => {
    const name = uniqueId('it-paused');
    await client.schedule.create({
      ...connectorScheduleOptions(spec(name), { taskQueue }),
      state: { paused: true, note: 'test' },
    });
    platform.addSync(name, new Date(Date.now() - 60 * 60_000));
    await runWorker({ env, taskQueue, activities: activities() }, async () => {
      const handle = await startHealth({ name, interval: '1m' });
      for (;;) {
        if ((await handle.query(healthStateQuery)).checks >= 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(alerts('connector.stale', name)).toHaveLength(0);
      expect(platform.syncQueries.some((q) => q.connector === name)).toBe(false);
      await handle.terminate('test done');
    });
  });

  it('pauses the schedule after N failed runs in a row and says why', async () => {
    const name = uniqueId('it-flaky');
    const healthWorkflowId = uniqueId('health');
    const connector = spec(name, { pauseAfterFailedRuns: 2 }, { SV0_TEST_EXIT: '1' });
    // Held back by its failures: one alert for the root cause names it; it raises none of its own.
    const dependent = spec(uniqueId('it-held'), { after: [name], pauseAfterFailedRuns: 1 });
    await runWorker({ env, taskQueue, activities: activities() }, async () => {
      await applyConnectorSchedules(
        client,
        { platform: platformConfig(), healthCheckEvery: '1h', connectors: [connector, dependent] },
        { sinks: sinks() },
        { healthWorkflowId, taskQueue },
      );
      for (let i = 0; i < 2; i++) {
        const run = await triggerConnectorRun(client, name);
        await expect(client.workflow.getHandle(run.workflowId, run.runId).result()).rejects.toThrow();
      }
      const alert = await webhook.waitFor(
        (r) =>
          (r.body as { event?: string; fields?: { connector?: string } }).fields?.connector === name &&
          (r.body as { event?: string }).event === 'connector.paused',
      );
      expect((alert.body as { text: string }).text).toMatch(/exited with code 1/);
      expect((alert.body as { text: string }).text).toContain(
        `It holds back ${dependent.name}, which run after it.`,
      );
      expect((alert.body as { fields: Record<string, unknown> }).fields.holdsBack).toBe(dependent.name);
      const d = await client.schedule.getHandle(ScheduleIds.connector(name)).describe();
      expect(d.state.paused).toBe(true);
      expect(d.state.note).toMatch(/after 2 failed runs in a row/);
      const state = await client.workflow.getHandle(healthWorkflowId).query(healthStateQuery);
      expect(state.failedInARow[name]).toBe(2);
      expect(alerts('connector.paused', name)).toHaveLength(1);
      expect(webhook.received.filter((r) => JSON.stringify(r.body).includes(dependent.name))).toHaveLength(1);
      // The dependent counts each report once it has checked the run it names: wait for that.
      let held = await client.workflow
        .getHandle(WorkflowIds.connectorAfter(dependent.name))
        .query(afterStateQuery);
      for (let i = 0; i < 100 && held.upstreams[name]?.last === undefined; i++) {
        await new Promise((r) => setTimeout(r, 200));
        held = await client.workflow
          .getHandle(WorkflowIds.connectorAfter(dependent.name))
          .query(afterStateQuery);
      }
      expect(held.lastRun).toBeUndefined();
      expect(held.upstreams[name]?.last?.ok).toBe(false);
      await client.workflow.getHandle(WorkflowIds.connectorAfter(dependent.name)).terminate('test done');
      await client.workflow.getHandle(healthWorkflowId).terminate('test done');
    });
    recordHistory(healthWorkflowId, 'connector-health-paused');
  });
});

describe('orphan reaper', () => {
  it('removes labelled containers past their deadline and keeps the others', async () => {
    const runner = createDockerRunner({ docker, logger });
    const make = async (deadline: Date) => {
      const c = await docker.createContainer({
        Image: stack().connectorImage,
        Env: ['SV0_TEST_SLEEP=300'],
        Labels: {
          [ContainerLabels.connector]: 'it-reaper',
          [ContainerLabels.workflowId]: uniqueId('wf'),
          [ContainerLabels.deadline]: deadline.toISOString(),
        },
        HostConfig: { NetworkMode: 'host' },
      });
      await c.start();
      return c.id;
    };
    const overdue = await make(new Date(Date.now() - 60_000));
    const current = await make(new Date(Date.now() + 3_600_000));
    try {
      const removed = await runner.reapOrphans(new Date());
      expect(removed).toContain(`it-reaper:${overdue.slice(0, 12)}`);
      const left = (
        await docker.listContainers({
          all: true,
          filters: { label: [`${ContainerLabels.connector}=it-reaper`] },
        })
      ).map((c) => c.Id);
      expect(left).toEqual([current]);
    } finally {
      await docker
        .getContainer(current)
        .remove({ force: true })
        .catch(() => undefined);
      await docker
        .getContainer(overdue)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });
});

/** The health state once the workflow has done `n` more checks than now. */
async function checksAfter(handle: WorkflowHandle, n: number): Promise<HealthState> {
  const start = (await handle.query(healthStateQuery)).checks;
  for (;;) {
    const state = await handle.query(healthStateQuery);
    if (state.checks >= start + n) return state;
    await new Promise((r) => setTimeout(r, 200));
  }
}
