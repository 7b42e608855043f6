import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoControlActivities } from '../../../activities/demo/control';
import { listDemos, startDemo } from '../../../clients/demo/lifecycle';
import { ensureDemoSweepSchedule, buildSweepInput } from '../../../clients/demo/sweep';
import { statusQuery, type DemoSummary } from '../../../lib/contracts/demo';
import { ScheduleIds } from '../../../lib/names';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { startWebhookReceiver } from '../../harness/webhook';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { motoConfig } from '../../harness/aws';
import {
  DEMO_WORKER_SANDBOX,
  demoInput,
  demoTestActivities,
  eventually,
  notificationEvents,
  scheduledActivities,
  setUpDemoOrg,
  type DemoOrg,
} from '../../harness/demo-fixture';

/**
 * A scenario with no fixed resource names, so several demos of it may run in one account at once
 * (cross-account-trust's role name is fixed: one demo of it per account).
 */
const MANY_PER_ACCOUNT = 'github-to-runtime';

/**
 * Demos controlled from outside (the budget freeze's destroyDemosInAccount), durability across a
 * worker restart, and the demo-sweep schedule `sv0 up` keeps.
 */
describe('demo control and durability', () => {
  let env: TestWorkflowEnvironment;
  let org: DemoOrg;
  let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    env = await testEnv();
    org = await setUpDemoOrg();
    webhook = await startWebhookReceiver();
  });
  afterAll(async () => {
    await webhook?.close();
  });

  it('destroyDemosInAccount tears down every running demo in that account and waitForDemosClosed sees them finish', async () => {
    const taskQueue = uniqueId('demo');
    const ids = [uniqueId('bulk'), uniqueId('bulk')];
    await runWorker({ env, taskQueue, activities: demoTestActivities(env, webhook) }, async () => {
      for (const id of ids)
        await startDemo(env.client, demoInput(org, { id, scenario: MANY_PER_ACCOUNT, ttlMs: 300_000 }), {
          taskQueue,
        });
      await eventually(async () => {
        const phases = await Promise.all(
          ids.map(async (id) => (await env.client.workflow.getHandle(`demo-${id}`).query(statusQuery)).phase),
        );
        return (
          phases.every((p) => p === 'running') &&
          (await listDemos(env.client)).filter((d) => ids.includes(d.id)).length === 2
        );
      }, 'both demos running and listed');
      const control = createDemoControlActivities({
        client: env.client,
        organizations: new OrganizationsClient(motoConfig()),
        sandbox: DEMO_WORKER_SANDBOX,
      });
      const mock = new MockActivityEnvironment();
      const destroy = (accountId: string) =>
        mock.run(control.destroyDemosInAccount, { accountId, reason: 'budget freeze' }) as Promise<{
          workflowIds: string[];
        }>;
      // An account that is not one of the worker's sandboxes is refused before any demo is listed.
      await expect(destroy(org.platformAccountId)).rejects.toThrow(
        /sv0-platform\) is not a sandbox account of the worker/,
      );
      const { workflowIds } = await destroy(org.demoAccountId);
      expect(workflowIds.sort()).toEqual(ids.map((id) => `demo-${id}`).sort());
      const closed = (await mock.run(control.waitForDemosClosed, { workflowIds, pollMs: 200 })) as Record<
        string,
        string
      >;
      expect(Object.values(closed)).toEqual(['COMPLETED', 'COMPLETED']);
      for (const id of ids) {
        const summary = (await env.client.workflow.getHandle(`demo-${id}`).result()) as DemoSummary;
        expect(summary).toMatchObject({ phase: 'destroyed', destroyReason: 'budget freeze' });
      }
    });
  });

  it('survives a worker restart: the durable timer fires while no worker runs, and a new worker tears the demo down', async () => {
    const id = uniqueId('restart');
    const taskQueue = uniqueId('demo');
    const handle = await runWorker(
      {
        env,
        taskQueue,
        activities: demoTestActivities(env, webhook),
        worker: { identity: 'worker-before-restart' },
      },
      async () => {
        const h = await startDemo(
          env.client,
          demoInput(org, { id, scenario: MANY_PER_ACCOUNT, ttlMs: 45_000, warnBeforeMs: 2000 }),
          {
            taskQueue,
          },
        );
        await eventually(async () => (await h.query(statusQuery)).phase === 'running', 'demo running');
        return h;
      },
    );
    // No worker now: the server's timer still fires. The TTL leaves room for a deploy that is slow
    // on a loaded machine: a demo already past its expiry when it runs sets no timer at all.
    await eventually(
      async () => (await handle.fetchHistory()).events?.some((e) => e.timerFiredEventAttributes),
      'timer fired without a worker',
      90_000,
    );
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const summary = (await runWorker(
      {
        env,
        taskQueue,
        activities: demoTestActivities(env, webhook),
        worker: { identity: 'worker-after-restart' },
      },
      () => handle.result(),
    )) as DemoSummary;
    expect(summary.phase).toBe('destroyed');
    const events = (await handle.fetchHistory()).events ?? [];
    const identities = events.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter(Boolean);
    expect(new Set(identities)).toEqual(new Set(['worker-before-restart', 'worker-after-restart']));
    expect(scheduledActivities(events).slice(-5)).toEqual([
      'deleteDemoStack',
      'sweepDemoResources',
      'listDemoResources',
      'readDemoCost',
      'notify',
    ]);
    // The warning may fall past expiry while no worker ran (then it is skipped); the end is the same.
    const sent = notificationEvents(webhook, id);
    expect(sent[0]).toBe('demo.ready');
    expect(sent.at(-1)).toBe('demo.destroyed');
  }, 240_000);

  it('ensureDemoSweepSchedule creates demo-sweep at 02:00 UTC (overlap skip, catch-up window, applies for real), then updates it', async () => {
    const input = buildSweepInput({
      targets: [org.target],
      managementAccountId: org.managementAccountId,
      org: org.org,
      notifications: { sinks: [{ type: 'log' }] },
      apply: false,
    });
    await env.client.schedule
      .getHandle(ScheduleIds.demoSweep)
      .delete()
      .catch(() => undefined);
    expect(await ensureDemoSweepSchedule(env.client, input, { paused: true })).toBe('created');
    const d = await env.client.schedule.getHandle(ScheduleIds.demoSweep).describe();
    expect(d.spec.calendars?.[0]).toMatchObject({
      hour: [{ start: 2, end: 2, step: 1 }],
      minute: [{ start: 0, end: 0, step: 1 }],
    });
    expect(d.spec.timezone).toBe('UTC');
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.policies.catchupWindow).toBe(6 * 3_600_000);
    expect(d.state.paused).toBe(true);
    const action = d.action.type === 'startWorkflow' ? d.action : undefined;
    expect((action?.args?.[0] as { apply: boolean }).apply).toBe(true);
    expect(await ensureDemoSweepSchedule(env.client, { ...input, maxAgeMs: 3_600_000 })).toBe('updated');
    const updated = await env.client.schedule.getHandle(ScheduleIds.demoSweep).describe();
    const updatedAction = updated.action.type === 'startWorkflow' ? updated.action : undefined;
    expect((updatedAction?.args?.[0] as { maxAgeMs: number }).maxAgeMs).toBe(3_600_000);
    expect(updated.state.paused).toBe(true);
    await env.client.schedule.getHandle(ScheduleIds.demoSweep).delete();
  });
});
