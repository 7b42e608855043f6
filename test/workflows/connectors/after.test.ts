import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SNSClient } from '@aws-sdk/client-sns';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createConnectorSyncActivities } from '../../../activities/connectors/sync';
import { createDockerRunner } from '../../../activities/connectors/containers';
import { createNotifyActivities } from '../../../activities/notify';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import { main } from '../../../clients/cli';
import { applyConnectorSchedules, triggerConnectorRun } from '../../../clients/connectors/schedules';
import { connectorStatuses } from '../../../clients/connectors/status';
import type { ConnectorSpec, ConnectorsConfig } from '../../../lib/config/connectors';
import {
  afterStateQuery,
  upstreamFinishedSignal,
  type ConnectorAfterState,
} from '../../../lib/contracts/connectors';
import { createLogger } from '../../../lib/runtime/logger';
import { ScheduleIds, WorkflowIds } from '../../../lib/names';
import { connectorSyncWorkflow } from '../../../workflows/connectors/sync';
import { connectorAfterWorkflow } from '../../../workflows/connectors/after';
import { motoConfig } from '../../harness/aws';
import { testConnectorSpec } from '../../harness/connectors';
import { testDocker } from '../../harness/docker';
import { startPlatform, type PlatformStandIn } from '../../harness/platform';
import { fakeOnePassword } from '../../harness/secrets';
import { recordHistory } from '../../harness/record-history';
import { stack } from '../../harness/stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { ensureTestNetwork, TEST_NETWORK, testWorkerSettings } from '../../harness/worker-settings';

/**
 * Connectors that run after others (`after:` in connectors.yaml): the `connector-after.<name>`
 * workflow starts the dependent's run only once every upstream has succeeded, on a real Temporal
 * server with real containers on Podman.
 */

let env: TestWorkflowEnvironment;
let client: Client;
let platform: PlatformStandIn;
const taskQueue = uniqueId('after');
const healthWorkflowId = uniqueId('after-health');
const afterIds: string[] = [];
const scheduleIds: string[] = [];
const logger = createLogger('after-test', new Writable({ write: (_c, _e, done) => done() }));

function activities() {
  const settings = testWorkerSettings({
    platformUrl: platform.url,
    secrets: { envNames: ['PLATFORM_TOKEN'] },
  });
  const secrets = createSecretResolver({
    onePassword: fakeOnePassword({}).provider,
    env: { PLATFORM_TOKEN: 't' },
    bounds: settings,
  });
  return {
    ...createConnectorSyncActivities({
      runner: createDockerRunner({ docker: testDocker(), logger }),
      secrets,
      logger,
      settings,
    }),
    ...createNotifyActivities({ sns: new SNSClient(motoConfig()), logger, secrets, settings }),
  };
}

const withWorker = <T>(fn: () => Promise<T>) => runWorker({ env, taskQueue, activities: activities() }, fn);

const spec = (name: string, over: Partial<ConnectorSpec> = {}, vars: Record<string, string> = {}) =>
  testConnectorSpec(name, platform.containerUrl, over, vars);

const configOf = (...connectors: ConnectorSpec[]): ConnectorsConfig => ({
  platform: { url: platform.url, tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '/api/v1/syncs' },
  healthCheckEvery: '1h',
  connectors,
});

const afterState = (name: string): Promise<ConnectorAfterState> =>
  client.workflow.getHandle(WorkflowIds.connectorAfter(name)).query(afterStateQuery);

/** Poll `connector-after.<name>` until `pred` holds on its state. */
async function waitForState(
  name: string,
  pred: (s: ConnectorAfterState) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<ConnectorAfterState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await afterState(name);
    if (pred(s)) return s;
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen within ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  env = await testEnv();
  client = env.client;
  platform = await startPlatform({ token: 't' });
  await ensureTestNetwork();
});

afterAll(async () => {
  for (const id of [...afterIds, healthWorkflowId])
    await client.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  for (const id of scheduleIds)
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  await platform?.close();
});

describe('connectors that run after others', () => {
  it('b after a: a failing a holds b; b runs only once a has succeeded, started by a', async () => {
    const gate = uniqueId('gate').replace(/-/g, '_');
    const a = spec(uniqueId('af-a'), {}, { SV0_TEST_WAIT_GATE: gate });
    const b = spec(uniqueId('af-b'), { after: [a.name] });
    afterIds.push(WorkflowIds.connectorAfter(b.name));
    scheduleIds.push(ScheduleIds.connector(a.name), ScheduleIds.connector(b.name));
    await withWorker(async () => {
      const applied = await applyConnectorSchedules(
        client,
        configOf(a, b),
        { sinks: [] },
        {
          taskQueue,
          healthWorkflowId,
        },
      );
      expect(applied.changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            connector: a.name,
            scheduleId: ScheduleIds.connector(a.name),
            action: 'create',
          }),
          expect.objectContaining({
            connector: b.name,
            scheduleId: WorkflowIds.connectorAfter(b.name),
            action: 'create',
          }),
        ]),
      );
      // b has no schedule of its own.
      await expect(client.schedule.getHandle(ScheduleIds.connector(b.name)).describe()).rejects.toThrow();

      // A failing run of a (its schedule's input, with exit 3) holds b back.
      const failing = uniqueId(`sync-${a.name}`);
      const err = await client.workflow
        .execute(connectorSyncWorkflow, {
          workflowId: failing,
          taskQueue,
          args: [
            {
              connector: {
                ...a,
                environment: { ...a.environment, SV0_TEST_EXIT: '3', SV0_TEST_WAIT_GATE: '' },
              },
              healthWorkflowId,
              dependents: [b.name],
            },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const held = await waitForState(
        b.name,
        (s) => s.upstreams[a.name]?.last !== undefined,
        'a report of the failure',
      );
      expect(held.upstreams[a.name]).toMatchObject({
        succeededSinceRun: false,
        last: { connector: a.name, workflowId: failing, ok: false },
      });
      expect(held.running).toBeUndefined();
      expect(held.lastRun).toBeUndefined();
      const statusOf = async () =>
        (await connectorStatuses(client, configOf(a, b), { only: b.name, healthWorkflowId }))[0];
      expect(await statusOf()).toMatchObject({
        schedule: 'after',
        after: [a.name],
        waiting: `held: ${a.name} failed`,
      });

      // a's scheduled run waits at the gate: while it runs, b does not start.
      const run = await triggerConnectorRun(client, a.name);
      await platform.waitFor(() => platform.gateChecks.includes(gate), 'a waiting at its gate');
      await new Promise((r) => setTimeout(r, 1000));
      const waiting = await afterState(b.name);
      expect(waiting.running).toBeUndefined();
      expect(waiting.lastRun).toBeUndefined();

      platform.openGate(gate);
      await client.workflow.getHandle(run.workflowId, run.runId).result();
      const aClosed = (await client.workflow.getHandle(run.workflowId, run.runId).describe()).closeTime;
      const done = await waitForState(b.name, (s) => s.lastRun !== undefined, 'the run of b');
      expect(done.upstreams[a.name]).toMatchObject({
        succeededSinceRun: false,
        last: { workflowId: run.workflowId, ok: true },
      });
      expect(done.lastRun).toMatchObject({ ok: true });
      const bRun = await client.workflow.getHandle(done.lastRun!.workflowId).describe();
      expect(bRun.type).toBe('connectorSyncWorkflow');
      expect(bRun.status.name).toBe('COMPLETED');
      expect(bRun.startTime.getTime()).toBeGreaterThanOrEqual(aClosed!.getTime() - 1000);
      expect(done.lastRun!.workflowId.startsWith(`connector-${b.name}-`)).toBe(true);
      expect(await statusOf()).toMatchObject({
        schedule: 'after',
        waiting: `waiting on ${a.name}`,
        lastRun: { workflowId: done.lastRun!.workflowId, status: 'COMPLETED' },
        stale: false,
      });
      recordHistory(WorkflowIds.connectorAfter(b.name), 'connector-after-run');
      recordHistory(run.workflowId, 'connector-sync-after');

      // Applying again changes nothing; b given an interval of its own gets a schedule again.
      const again = await applyConnectorSchedules(
        client,
        configOf(a, b),
        { sinks: [] },
        { taskQueue, healthWorkflowId },
      );
      expect(
        again.changes.filter((c) => [a.name, b.name].includes(c.connector)).map((c) => c.action),
      ).toEqual(['unchanged', 'unchanged']);
      const own = { ...b, after: undefined };
      delete own.after;
      const back = await applyConnectorSchedules(
        client,
        configOf(a, own),
        { sinks: [] },
        { taskQueue, healthWorkflowId },
      );
      expect(back.changes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ scheduleId: WorkflowIds.connectorAfter(b.name), action: 'delete' }),
          expect.objectContaining({ scheduleId: ScheduleIds.connector(b.name), action: 'create' }),
        ]),
      );
      const closed = await client.workflow.getHandle(WorkflowIds.connectorAfter(b.name)).describe();
      expect(closed.status.name).toBe('TERMINATED');
    });
  });

  it('runs only when every upstream has succeeded since its last run, and skips a trigger while it runs', async () => {
    const c = spec(uniqueId('af-c'), { after: ['up-one', 'up-two'] }, { SV0_TEST_SLEEP: '3' });
    const id = WorkflowIds.connectorAfter(c.name);
    afterIds.push(id);
    const ok = (connector: string, n: number) => ({
      connector,
      workflowId: `${connector}-${n}`,
      ok: true,
      at: new Date().toISOString(),
    });
    await withWorker(async () => {
      const handle = await client.workflow.start(connectorAfterWorkflow, {
        workflowId: id,
        taskQueue,
        args: [{ config: { connector: c, dependents: [], healthWorkflowId } }],
      });
      await handle.signal(upstreamFinishedSignal, ok('up-one', 1));
      await handle.signal(upstreamFinishedSignal, {
        ...ok('up-two', 1),
        ok: false,
        reason: 'Sv0ConnectorFailed: exit 3',
      });
      const one = await waitForState(c.name, (s) => s.upstreams['up-two']?.last !== undefined, 'the reports');
      expect(one.upstreams['up-one']?.succeededSinceRun).toBe(true);
      expect(one.upstreams['up-two']).toMatchObject({ succeededSinceRun: false, last: { ok: false } });
      expect(one.running).toBeUndefined();

      await handle.signal(upstreamFinishedSignal, ok('up-two', 2));
      const running = await waitForState(c.name, (s) => s.running !== undefined, 'the run of c');
      // Both succeed again while c runs: that trigger is skipped, as a schedule's overlap SKIP does.
      await handle.signal(upstreamFinishedSignal, ok('up-one', 3));
      await handle.signal(upstreamFinishedSignal, ok('up-two', 3));
      const after = await waitForState(c.name, (s) => s.lastRun !== undefined, 'the end of the run of c');
      expect(after.skipped).toBe(1);
      expect(after.lastRun).toMatchObject({ workflowId: running.running!.workflowId, ok: true });
      expect(after.running).toBeUndefined();
      expect(Object.values(after.upstreams).map((u) => u.succeededSinceRun)).toEqual([false, false]);
    });
  });

  it('refuses a cycle, an unknown name and a disabled upstream with exit 2, naming the file and the field', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sv0-after-'));
    const connector = (name: string, extra: string) => `
  - name: ${name}
    image: ${stack().connectorImage}
    network: ${TEST_NETWORK}
${extra}`;
    writeFileSync(
      path.join(dir, 'connectors.yaml'),
      `platform: { url: "${platform.url}", tokenRef: "env:PLATFORM_TOKEN" }\nconnectors:${[
        connector('a', '    after: [c]'),
        connector('b', '    after: [a]'),
        connector('c', '    after: [b]'),
        connector('d', '    after: [nobody]'),
        connector('e', '    interval: 1h\n    enabled: false'),
        connector('f', '    after: [e]'),
      ].join('')}\n`,
    );
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    try {
      const code = await main(['node', 'sv0', '--config-dir', dir, 'connectors', 'apply', '--dry-run']);
      expect(code).toBe(2);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(stderr).toContain(
      'connectors.yaml: connectors[0].after: a cycle: a runs after c runs after b runs after a',
    );
    expect(stderr).toContain('connectors.yaml: connectors[3].after[0]: no connector named "nobody"');
    expect(stderr).toContain('connectors.yaml: connectors[5].after[0]: connector "e" is disabled');
  });
});
