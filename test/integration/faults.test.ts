import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ListAccountsCommand,
  ListOrganizationalUnitsForParentCommand,
  ListPoliciesCommand,
  ListRootsCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgBootstrapActivities } from '../../activities/org-bootstrap';
import { startDemo } from '../../clients/demo';
import { statusQuery, type DemoSummary } from '../../lib/demo';
import { startDevServer, type DevServer, type Moto } from '../../scripts/local-stack';
import { orgBootstrapWorkflow, orgProgressQuery } from '../../workflows/org-bootstrap';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';
import { startWebhookReceiver } from '../harness/webhook';
import { demoInput, demoTestActivities, eventually, notificationEvents, setUpDemoOrg } from './demo-fixture';
import { awsFor, CallLog, fakeCostExplorer, orgDeps, seedDesired, startOrgMoto } from './org-fixtures';

/**
 * Fault survival against the real parts (issue 8): the Temporal dev server restarted on its
 * database file during a live demo, and moto frozen (SIGSTOP) in the middle of an org bootstrap.
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
  });
});
