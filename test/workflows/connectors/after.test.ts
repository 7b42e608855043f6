import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../clients/cli';
import { applyConnectorSchedules, triggerConnectorRun } from '../../../clients/connectors/schedules';
import { connectorStatuses } from '../../../clients/connectors/status';
import type { ConnectorSpec, ConnectorsConfig } from '../../../lib/config/connectors';
import {
  afterStateQuery,
  ConnectorKey,
  upstreamFinishedSignal,
  type ConnectorAfterState,
} from '../../../lib/contracts/connectors';
import { createLogger } from '../../../lib/runtime/logger';
import { ScheduleIds, WorkflowIds } from '../../../lib/names';
import { connectorSyncWorkflow } from '../../../workflows/connectors/sync';
import { testConnectorActivities, testConnectorSpec } from '../../harness/connectors';
import { startPlatform, type PlatformStandIn } from '../../harness/platform';
import { recordHistory } from '../../harness/record-history';
import { stack } from '../../harness/stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { ensureTestNetwork, TEST_NETWORK, testWorkerSettings } from '../../harness/worker-settings';

/**
 * Connectors that run after others (`after:` in connectors.yaml): the `connector-after.<name>`
 * workflow starts the dependent's run only once every upstream has succeeded, on a real Temporal
 * server with real containers on Podman. Upstream runs are started the way production starts
 * them (by their schedules): the workflow counts only reports of such runs, so a signal sent by
 * anyone else starts nothing.
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
  return testConnectorActivities({ settings, logger, env: { PLATFORM_TOKEN: 't' } });
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
    // The same connector while it fails: what its schedule runs until connectors.yaml is fixed.
    const aFailing = { ...a, environment: { ...a.environment, SV0_TEST_EXIT: '3', SV0_TEST_WAIT_GATE: '' } };
    const b = spec(uniqueId('af-b'), { after: [a.name] });
    afterIds.push(WorkflowIds.connectorAfter(b.name));
    scheduleIds.push(ScheduleIds.connector(a.name), ScheduleIds.connector(b.name));
    const apply = (upstream: ConnectorSpec, dependent: ConnectorSpec) =>
      applyConnectorSchedules(
        client,
        configOf(upstream, dependent),
        { sinks: [] },
        { taskQueue, healthWorkflowId },
      );
    await withWorker(async () => {
      const applied = await apply(aFailing, b);
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

      // A failing scheduled run of a holds b back.
      const failing = await triggerConnectorRun(client, a.name);
      const err = await client.workflow
        .getHandle(failing.workflowId, failing.runId)
        .result()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const held = await waitForState(
        b.name,
        (s) => s.upstreams[a.name]?.last !== undefined,
        'a report of the failure',
      );
      expect(held.upstreams[a.name]).toMatchObject({
        succeededSinceRun: false,
        last: { connector: a.name, workflowId: failing.workflowId, ok: false },
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

      // connectors.yaml fixed: a's scheduled run waits at the gate; while it runs, b does not start.
      await apply(a, b);
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
        last: { workflowId: run.workflowId, runId: run.runId, ok: true },
      });
      expect(done.lastRun).toMatchObject({ ok: true });
      expect(done.refused).toBeUndefined();
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
      recordHistory(WorkflowIds.connectorAfter(b.name), 'connector-after-verified');

      // Applying again changes nothing; b given an interval of its own gets a schedule again.
      const again = await apply(a, b);
      expect(
        again.changes.filter((c) => [a.name, b.name].includes(c.connector)).map((c) => c.action),
      ).toEqual(['unchanged', 'unchanged']);
      const own = { ...b, after: undefined };
      delete own.after;
      const back = await apply(a, own);
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

  it('a forged "a succeeded" signal starts nothing; a real run of a does', async () => {
    const a = spec(uniqueId('fg-a'));
    const b = spec(uniqueId('fg-b'), { after: [a.name] });
    const id = WorkflowIds.connectorAfter(b.name);
    afterIds.push(id);
    scheduleIds.push(ScheduleIds.connector(a.name));
    const forged = (workflowId: string, runId?: string) => ({
      connector: a.name,
      workflowId,
      ...(runId ? { runId } : {}),
      ok: true,
      at: new Date().toISOString(),
    });
    await withWorker(async () => {
      await applyConnectorSchedules(client, configOf(a, b), { sinks: [] }, { taskQueue, healthWorkflowId });
      const handle = client.workflow.getHandle(id);

      // What anyone who can reach the namespace can send (`temporal workflow signal` does the same):
      // a run that does not exist, and the id of a workflow that is not a run of a.
      await handle.signal(upstreamFinishedSignal, forged(`connector-${a.name}-2026-01-01T00:00:00Z`));
      await handle.signal(upstreamFinishedSignal, forged(healthWorkflowId));
      // A run of a's image that its schedule did not start: started by hand, it tells b itself.
      const byHand = uniqueId(`connector-${a.name}`);
      await client.workflow.execute(connectorSyncWorkflow, {
        workflowId: byHand,
        taskQueue,
        args: [{ connector: a, healthWorkflowId, dependents: [b.name] }],
        typedSearchAttributes: [{ key: ConnectorKey, value: a.name }],
      });
      const refused = await waitForState(b.name, (s) => (s.refused ?? 0) >= 3, 'three refused reports');
      expect(refused.refused).toBe(3);
      expect(refused.lastRefused).toMatchObject({
        connector: a.name,
        workflowId: byHand,
        reason: expect.stringContaining(`not started by schedule ${ScheduleIds.connector(a.name)}`),
      });
      expect(refused.upstreams[a.name]).toEqual({ succeededSinceRun: false });
      expect(refused.running).toBeUndefined();
      expect(refused.lastRun).toBeUndefined();
      await new Promise((r) => setTimeout(r, 1000));
      expect((await afterState(b.name)).lastRun).toBeUndefined();

      // The real thing: a's schedule runs a, and its report starts b.
      const run = await triggerConnectorRun(client, a.name);
      await client.workflow.getHandle(run.workflowId, run.runId).result();
      const ran = await waitForState(b.name, (s) => s.lastRun !== undefined, 'the run of b');
      expect(ran.lastRun).toMatchObject({ ok: true });
      expect(ran.refused).toBe(3);

      // That real report sent again (a replay of an old signal) does not start b a second time.
      await handle.signal(upstreamFinishedSignal, forged(run.workflowId, run.runId));
      const replayed = await waitForState(
        b.name,
        (s) => (s.refused ?? 0) >= 4,
        'the replayed report refused',
      );
      expect(replayed.lastRefused?.reason).toMatch(/before this connector's last trigger/);
      expect(replayed.upstreams[a.name]?.succeededSinceRun).toBe(false);
      expect(replayed.lastRun?.workflowId).toBe(ran.lastRun!.workflowId);
    });
  });

  it('runs only when every upstream has succeeded since its last run, and skips a trigger while it runs', async () => {
    const one = spec(uniqueId('up-one'));
    const two = spec(uniqueId('up-two'));
    // c runs long enough for both upstreams to run again meanwhile (sleeping: no network traffic).
    const c = spec(
      uniqueId('af-c'),
      { after: [one.name, two.name], timeout: '5m' },
      { SV0_TEST_SLEEP: '40' },
    );
    afterIds.push(WorkflowIds.connectorAfter(c.name));
    scheduleIds.push(ScheduleIds.connector(one.name), ScheduleIds.connector(two.name));
    const runOnce = async (name: string) => {
      const run = await triggerConnectorRun(client, name);
      await client.workflow.getHandle(run.workflowId, run.runId).result();
    };
    await withWorker(async () => {
      await applyConnectorSchedules(
        client,
        configOf(one, two, c),
        { sinks: [] },
        { taskQueue, healthWorkflowId },
      );
      await runOnce(one.name);
      const first = await waitForState(
        c.name,
        (s) => s.upstreams[one.name]?.succeededSinceRun === true,
        'the report of up-one',
      );
      expect(first.running).toBeUndefined();

      await runOnce(two.name);
      await waitForState(c.name, (s) => s.running !== undefined, 'the run of c');
      // Both succeed again while c runs: that trigger is skipped, as a schedule's overlap SKIP does.
      await Promise.all([runOnce(one.name), runOnce(two.name)]);
      const skipped = await waitForState(c.name, (s) => s.skipped === 1, 'the skipped trigger');
      expect(skipped.running).toBeDefined();
      const after = await waitForState(
        c.name,
        (s) => s.lastRun !== undefined,
        'the end of the run of c',
        120_000,
      );
      expect(after.skipped).toBe(1);
      expect(after.lastRun).toMatchObject({ workflowId: skipped.running!.workflowId, ok: true });
      expect(after.running).toBeUndefined();
      expect(after.refused).toBeUndefined();
      expect(Object.values(after.upstreams).map((u) => u.succeededSinceRun)).toEqual([false, false]);
    });
  }, 300_000);

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
