import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ListAccountsCommand,
  ListOrganizationalUnitsForParentCommand,
  ListPoliciesCommand,
  ListRootsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgBootstrapActivities } from '../../activities/org';
import { startDemo } from '../../clients/demo/lifecycle';
import type { RunConnectorResult } from '../../lib/contracts/connectors';
import { statusQuery, type DemoSummary } from '../../lib/contracts/demo';
import { ContainerLabels, TaskQueues } from '../../lib/names';
import { startDevServer, type DevServer, type Moto, type Running } from '../../scripts/local-stack';
import { startWorkerProcess, waitForWorkerPolling } from '../../scripts/worker-process';
import { connectorSyncWorkflow } from '../../workflows';
import { orgProgressQuery } from '../../lib/contracts/org';
import { orgBootstrapWorkflow } from '../../workflows/org/bootstrap';
import { testConnectorSpec } from '../harness/connectors';
import { testDocker } from '../harness/docker';
import { startPlatform, type PlatformStandIn } from '../harness/platform';
import { motoEnv } from '../harness/aws';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import { startWebhookReceiver } from '../harness/webhook';
import { ensureTestNetwork, TEST_NETWORK, writeTestWorkerSettings } from '../harness/worker-settings';
import {
  demoInput,
  demoTestActivities,
  eventually,
  notificationEvents,
  setUpDemoOrg,
} from '../harness/demo-fixture';
import {
  awsFor,
  CallLog,
  fakeCostExplorer,
  orgDeps,
  seedDesired,
  startOrgMoto,
} from '../harness/org-fixtures';

/**
 * Fault survival against the real parts (issue 8): the Temporal dev server restarted on its
 * database file during a live demo, the worker process killed during a connector run, and moto
 * frozen (SIGSTOP) in the middle of an org bootstrap.
 */
describe('a demo survives a Temporal dev server restart on its database file', () => {
  let dir: string;
  let server: DevServer | undefined;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sv0-restart-'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('expires on its TTL and is torn down after the server comes back', async () => {
    const dbFile = path.join(dir, 'temporal.db');
    server = await startDevServer(stack().tools, { dbFile });
    const port = Number(server.address.split(':')[1]);
    const org = await setUpDemoOrg();
    const webhook = await startWebhookReceiver();
    const id = uniqueId('srv-restart');
    const taskQueue = uniqueId('demo');
    try {
      // First server: the demo deploys and waits on its timer.
      const before = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
      await runWorker(
        { env: before, taskQueue, activities: demoTestActivities(before, webhook) },
        async () => {
          const h = await startDemo(
            before.client,
            demoInput(org, { id, ttlMs: 25_000, warnBeforeMs: 2000 }),
            {
              taskQueue,
            },
          );
          await eventually(async () => (await h.query(statusQuery)).phase === 'running', 'demo running');
        },
      );
      await before.teardown();

      // The server goes away and comes back on the same database file and port.
      await server.stop();
      server = await startDevServer(stack().tools, { dbFile, port });

      const after = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
      const handle = after.client.workflow.getHandle(`demo-${id}`);
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const summary = (await runWorker(
        { env: after, taskQueue, activities: demoTestActivities(after, webhook) },
        () => handle.result(),
      )) as DemoSummary;
      expect(summary.phase).toBe('destroyed');
      const sent = notificationEvents(webhook, id);
      expect(sent[0]).toBe('demo.ready');
      expect(sent.at(-1)).toBe('demo.destroyed');
      await after.teardown();
    } finally {
      await webhook.close();
    }
  });
});

describe('a connector sync survives its worker process being killed (SIGKILL)', () => {
  let dir: string;
  let server: DevServer | undefined;
  let platform: PlatformStandIn | undefined;
  const workers: Running[] = [];
  const name = uniqueId('it-killed');

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sv0-worker-kill-'));
    // A server of its own: the production worker polls the production task queues, and must find
    // no other test's workflows there.
    server = await startDevServer(stack().tools);
    await ensureTestNetwork();
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    // A failed run would leave its containers waiting at their gate.
    const docker = testDocker();
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${ContainerLabels.connector}=${name}`] },
    });
    for (const c of left) await docker.getContainer(c.Id).remove({ force: true });
    await platform?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The production worker (workers/main.ts) in a process of its own, on this test's server, with a
   * worker.yaml of its own: the test image, the test network and the platform stand-in.
   */
  async function startWorker(client: Client, label: string): Promise<Running> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SV0_WORKER_SETTINGS: writeTestWorkerSettings(path.join(dir, 'worker.yaml'), {
        networks: [TEST_NETWORK],
        platformUrl: platform!.url,
      }),
      TEMPORAL_ADDRESS: server!.address,
      TEMPORAL_NAMESPACE: 'default',
      DOCKER_HOST: stack().dockerHost,
      ...motoEnv(),
    };
    delete env.SV0_CODEC_KEY_FILE;
    delete env.SV0_CODEC_KEYS;
    const logFile = path.join(dir, `${label}.log`);
    const worker = startWorkerProcess(env, logFile);
    workers.push(worker);
    await waitForWorkerPolling(client, worker.child, { logFile });
    return worker;
  }

  it('retries the run on the next worker, which removes the orphaned container', async () => {
    platform = await startPlatform({ token: 'unused' });
    const docker = testDocker();
    const connection = await Connection.connect({ address: server!.address });
    const client = new Client({ connection });
    const containersOf = (workflowId: string) =>
      docker.listContainers({
        all: true,
        filters: { label: [`${ContainerLabels.workflowId}=${workflowId}`] },
      });

    const first = await startWorker(client, 'worker-1');
    const gate = name.replace(/-/g, '_');
    const connector = testConnectorSpec(
      name,
      platform.containerUrl,
      { retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' } },
      // Every attempt waits at the gate until the test opens it.
      { SV0_TEST_WAIT_GATE: gate },
    );
    const workflowId = uniqueId('sync-killed');
    const handle = await client.workflow.start(connectorSyncWorkflow, {
      workflowId,
      taskQueue: TaskQueues.connectors,
      args: [{ connector, healthWorkflowId: 'none' }],
    });
    await platform.waitFor(() => platform!.gateChecks.includes(gate), 'the first attempt at its gate');
    const [orphan, ...others] = await containersOf(workflowId);
    expect(others).toEqual([]);
    expect(orphan?.Labels[ContainerLabels.attempt]).toBe('1');

    // The worker dies without a chance to clean up; its container keeps running.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect((await docker.getContainer(orphan!.Id).inspect()).State.Running).toBe(true);

    // Temporal gives up on attempt 1 at its heartbeat timeout (30 s) and hands attempt 2 to the
    // new worker, which removes the orphan before it starts its own container.
    await startWorker(client, 'worker-2');
    const retried = await eventually(
      async () => {
        const list = await containersOf(workflowId);
        return list.some((c) => c.Labels[ContainerLabels.attempt] === '2') && list;
      },
      'the second attempt running',
      120_000,
    );
    expect(retried.map((c) => c.Labels[ContainerLabels.attempt])).toEqual(['2']);

    platform.openGate(gate);
    const result = (await handle.result()) as RunConnectorResult;
    expect(result).toMatchObject({ connector: name, exitCode: 0, attempt: 2 });
    const started = (await handle.fetchHistory()).events?.find((e) => e.activityTaskStartedEventAttributes);
    expect(started?.activityTaskStartedEventAttributes?.lastFailure?.message).toMatch(/heartbeat/i);
    expect(await containersOf(workflowId)).toEqual([]);
    expect(readFileSync(path.join(dir, 'worker-2.log'), 'utf8')).toContain(
      'removed the container an earlier attempt left behind',
    );
    await connection.close();
  }, 240_000);
});

describe('an org bootstrap survives moto frozen for 10 s (SIGSTOP/SIGCONT)', () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startOrgMoto();
  });
  afterAll(async () => {
    if (moto) {
      moto.child.kill('SIGCONT');
      await moto.stop();
    }
  });

  /** What the organization looks like, by name (ids differ between runs). */
  async function shape(org: OrganizationsClient) {
    const [root] = (await org.send(new ListRootsCommand({}))).Roots!;
    const ous = (await org.send(new ListOrganizationalUnitsForParentCommand({ ParentId: root!.Id })))
      .OrganizationalUnits!;
    const accounts = (await org.send(new ListAccountsCommand({}))).Accounts!;
    const policies = (await org.send(new ListPoliciesCommand({ Filter: 'SERVICE_CONTROL_POLICY' })))
      .Policies!;
    return {
      ous: ous.map((o) => o.Name).sort(),
      accounts: accounts.map((a) => a.Name).sort(),
      policies: policies
        .filter((p) => !p.AwsManaged)
        .map((p) => p.Name)
        .sort(),
    };
  }

  async function bootstrap(opts: { freeze: boolean }) {
    const reset = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
    expect(reset.ok).toBe(true);
    const env = await testEnv();
    const aws = awsFor(moto.endpoint);
    const desired = seedDesired();
    const ce = fakeCostExplorer(desired.cost.allocationTags.map((key) => ({ key, status: 'Inactive' }))).ce;
    const taskQueue = uniqueId('org-fault');
    const activities = createOrgBootstrapActivities(orgDeps(aws, new CallLog(), ce));
    const result = await runWorker({ env, taskQueue, activities }, async () => {
      const handle = await env.client.workflow.start(orgBootstrapWorkflow, {
        taskQueue,
        workflowId: uniqueId('org-bootstrap'),
        args: [{ desired }],
      });
      if (opts.freeze) {
        // Freeze moto once the bootstrap is applying, for about 10 s.
        await eventually(
          async () => (await handle.query(orgProgressQuery)).done.length > 0,
          'bootstrap applying',
        );
        moto.child.kill('SIGSTOP');
        await new Promise((r) => setTimeout(r, 10_000));
        expect((await handle.query(orgProgressQuery)).phase).toBe('applying');
        moto.child.kill('SIGCONT');
      }
      return handle.result();
    });
    return { result, shape: await shape(new OrganizationsClient(aws)) };
  }

  it('completes with the same result as an undisturbed run', async () => {
    const calm = await bootstrap({ freeze: false });
    const frozen = await bootstrap({ freeze: true });
    expect(frozen.result.applied.slice().sort()).toEqual(calm.result.applied.slice().sort());
    expect(frozen.result.plan.steps.map((s) => s.id)).toEqual(calm.result.plan.steps.map((s) => s.id));
    expect(frozen.shape).toEqual(calm.shape);
    expect(frozen.shape.accounts).toHaveLength(4);
    // Two whole bootstraps and a 10 s freeze: on a busy 2-core machine that passes 120 s.
  }, 240_000);
});
