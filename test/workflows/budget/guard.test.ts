import { hostname, userInfo } from 'node:os';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../../clients/cli';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { startBudgetGuards } from '../../../clients/budget/guards';
import { budgetGuardsUpStep } from '../../../clients/budget/up';
import {
  BudgetSearchAttributes,
  type BudgetGuardStatus,
  budgetStatusQuery,
  checkNowUpdate,
  reconfigureSignal,
  unfreezeUpdate,
} from '../../../lib/contracts/budget';
import { ConfigError } from '../../../lib/config/validate';
import { type DemoSummary, statusQuery } from '../../../lib/contracts/demo';
import { WorkflowIds } from '../../../lib/names';
import { motoConfig } from '../../harness/aws';
import { recordHistory } from '../../harness/record-history';
import { stack } from '../../harness/stack';
import { uniqueId } from '../../harness/temporal';
import {
  budgetConfig,
  budgetGuardHarness,
  budgetsConfigDir,
  eventually,
  freezeTargets,
  guardConfig,
  notificationsFor,
  ORG,
  setSpend,
  startAlertsEndpoint,
} from '../../harness/budget-fixtures';

describe('budget guard on the dev server, AWS in moto', () => {
  const h = budgetGuardHarness({ queue: 'budget' });

  it('40 % notifies nothing; 55 % (from an SNS alert that moto delivers, signed) notifies once; staying at 55 % notifies no more', async () => {
    const total = budgetConfig({
      name: uniqueId('total'),
      account: 'organization',
      amount: 500,
      notify: [50, 80, 100],
    });
    await setSpend(total, 200);
    const workflowId = WorkflowIds.budget(total.name);
    const sns = new SNSClient(motoConfig());
    const { TopicArn: topicArn = '' } = await sns.send(
      new CreateTopicCommand({ Name: uniqueId('sv0-budget-alerts') }),
    );
    const alerts = await startAlertsEndpoint(h.env.client, topicArn);
    try {
      await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: alerts.url }));
      await h.work(async () => {
        const handle = await h.startGuard(total);
        const at40 = await handle.executeUpdate(checkNowUpdate);
        expect(at40).toMatchObject({ percentUsed: 40, frozen: false });
        expect(at40.levelReached).toBeUndefined();
        expect(notificationsFor(h.webhook.received, total.name)).toEqual([]);

        await setSpend(total, 275);
        // moto signs HTTP deliveries (SignatureVersion 2) but leaves Subject out of the string it
        // signs, unlike SNS: publish without one, as the endpoint checks what SNS signs.
        await sns.send(
          new PublishCommand({
            TopicArn: topicArn,
            Message: `AWS Budget Notification\nBudget Name: ${total.name}\nAlert Type: ACTUAL\nAlert Threshold: > $250.00\nACTUAL Amount: $275.00`,
          }),
        );
        await h.webhook.waitFor((r) => notificationsFor([r], total.name, 'budget.threshold').length > 0);
        expect(alerts.log).toEqual([`budget alerts endpoint: 202 signalled ${workflowId}`]);
        expect(alerts.download.calls).toHaveLength(1);
        expect(alerts.download.calls[0]).toMatch(
          /^https:\/\/sns\.us-east-1\.amazonaws\.com\/SimpleNotificationService-[0-9a-f]{32}\.pem$/,
        );

        for (let i = 0; i < 3; i++) await handle.executeUpdate(checkNowUpdate);
        const at55 = await handle.query(budgetStatusQuery);
        expect(at55).toMatchObject({ percentUsed: 55, levelReached: 50, frozen: false });
        const sent = notificationsFor(h.webhook.received, total.name);
        expect(sent).toHaveLength(1);
        expect(sent[0]).toMatchObject({
          event: 'budget.threshold',
          fields: { threshold: 50, percentUsed: 55 },
        });
      });
    } finally {
      alerts.close();
    }
  });

  it('warns once when the forecast passes 100 % before actual spend does', async () => {
    const platform = budgetConfig({
      name: uniqueId('forecast'),
      account: 'sv0-platform',
      amount: 300,
      notify: [80, 100],
    });
    await setSpend(platform, 150, 330);
    await h.work(async () => {
      const handle = await h.startGuard(platform);
      const s = await handle.executeUpdate(checkNowUpdate);
      await handle.executeUpdate(checkNowUpdate);
      expect(s).toMatchObject({ percentUsed: 50, forecastPercent: 110, frozen: false });
      const sent = notificationsFor(h.webhook.received, platform.name);
      expect(sent.map((n) => [n.event, n.fields.forecastPercent])).toEqual([['budget.forecast', 110]]);
    });
  });

  it('in dry-run mode (sv0 up on moto or without --enable-destructive) a freeze is recorded and notified, nothing is attached', async () => {
    const dry = budgetConfig({
      name: uniqueId('dry'),
      account: 'sv0-demo',
      amount: 200,
      notify: [80],
      freezeAt: 100,
    });
    await setSpend(dry, 250);
    await h.work(async () => {
      const handle = await h.startGuard(dry, { dryRun: true });
      const s = await handle.executeUpdate(checkNowUpdate);
      await handle.executeUpdate(checkNowUpdate);
      expect(s.frozen).toBe(false);
      expect(s.audit.map((a) => [a.action, a.accountId])).toEqual([['freeze-dry-run', h.org.demoAccountId]]);
      expect(notificationsFor(h.webhook.received, dry.name).map((n) => n.event)).toEqual([
        'budget.threshold',
        'budget.freeze-dry-run',
      ]);
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
      const history = await handle.fetchHistory();
      const types = (history.events ?? []).map(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name,
      );
      expect(types).not.toContain('destroyDemosInAccount');
    });
  });

  it('a reconfigure that would move the guard to another account or give it a freeze is refused; a narrower one is taken', async () => {
    const watched = budgetConfig({
      name: uniqueId('reconf'),
      account: 'sv0-platform',
      amount: 300,
      notify: [80],
    });
    await setSpend(watched, 30);
    const workflowId = WorkflowIds.budget(watched.name);
    await h.work(async () => {
      const handle = await h.startGuard(watched);
      await handle.executeUpdate(checkNowUpdate);
      // Forged with the plain client: the sandbox account and a freeze at 5 %, then only the freeze.
      await handle.signal(reconfigureSignal, guardConfig({ ...watched, account: 'sv0-demo', freezeAt: 5 }));
      await handle.signal(reconfigureSignal, guardConfig({ ...watched, freezeAt: 5 }));
      // What `sv0 up` sends after an operator adds a threshold: taken.
      await handle.signal(reconfigureSignal, guardConfig({ ...watched, notify: [5, 80] }));
      const s = await handle.executeUpdate(checkNowUpdate);
      expect(s).toMatchObject({ account: 'sv0-platform', frozen: false, levelReached: 5 });
      expect(s.freezeAt).toBeUndefined();
      expect(s.audit.filter((a) => a.action === 'reconfigure-refused').map((a) => a.reason)).toEqual([
        expect.stringMatching(/belongs to sv0-platform; moving it to sv0-demo needs a new guard/),
        expect.stringMatching(/never freezes; adding freezeAt needs a new guard/),
      ]);
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
      const types = ((await handle.fetchHistory()).events ?? []).map(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name,
      );
      expect(types).not.toContain('resolveAccount');
      expect(types).not.toContain('destroyDemosInAccount');
    });
    // For test/replay.test.ts (with SV0_WRITE_HISTORIES=1): the refusal behind its patch marker.
    recordHistory(workflowId, 'budget-guard-reconfigure-refused', h.env.namespace ?? 'default');
  });

  const demoBudget = budgetConfig({
    name: uniqueId('sv0-demo'),
    account: 'sv0-demo',
    amount: 200,
    notify: [80],
    freezeAt: 100,
  });
  const platformBudget = budgetConfig({
    name: uniqueId('sv0-platform'),
    account: 'sv0-platform',
    amount: 300,
    notify: [80, 100],
  });
  const demoId = uniqueId('budget').toLowerCase();

  it('at 101 % the demo budget destroys the live demo first, then attaches FreezeAccount to sv0-demo only; the platform budget only notifies', async () => {
    await setSpend(demoBudget, 202);
    await setSpend(platformBudget, 303);
    await h.work(async () => {
      const demo = await h.startDemo(demoId);
      await eventually(
        () => demo.query(statusQuery),
        (s) => s.phase === 'running',
        'demo running',
      );
      // The guard finds demos through visibility: wait until it lists this one.
      await eventually(
        async () =>
          (
            await h.env.client.workflow.count(
              `WorkflowId = '${demo.workflowId}' AND ExecutionStatus = 'Running'`,
            )
          ).count,
        (n) => n === 1,
        'demo visible',
      );

      const guards = await startBudgetGuards(h.env.client, {
        budgets: { budgets: [demoBudget, platformBudget] },
        org: ORG,
        notifications: { sinks: guardConfig(demoBudget).notifications },
        taskQueue: h.taskQueue,
      });
      h.track(...guards.map((g) => g.workflowId));
      const demoGuard = h.env.client.workflow.getHandle(WorkflowIds.budget(demoBudget.name));
      const platformGuard = h.env.client.workflow.getHandle(WorkflowIds.budget(platformBudget.name));

      const frozen = await eventually(
        () => demoGuard.executeUpdate(checkNowUpdate),
        (s) => s.frozen,
        'demo budget frozen',
      );
      expect(frozen.freeze).toMatchObject({ accountId: h.org.demoAccountId, accountName: 'sv0-demo' });
      expect(frozen.audit.map((a) => a.action)).toEqual(['demos-destroyed', 'freeze']);
      expect(frozen.audit[1]).toMatchObject({ by: 'budget-guard', accountId: h.org.demoAccountId });

      const platform = await platformGuard.executeUpdate(checkNowUpdate);
      expect(platform).toMatchObject({ frozen: false, levelReached: 100, audit: [] });
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([h.org.demoAccountId]);

      // The demo was torn down by its own workflow, for the freeze.
      const summary: DemoSummary = await demo.result();
      expect(summary.phase).toBe('destroyed');
      expect(summary.destroyReason).toMatch(/^budget freeze: /);

      // Order in the guard's history: destroy, wait for the teardown (it closed), then attach.
      const history = await demoGuard.fetchHistory();
      const scheduled = (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => n !== undefined && n !== 'readBudgetSpend' && n !== 'notify');
      expect(scheduled).toEqual([
        'resolveAccount',
        'destroyDemosInAccount',
        'waitForDemosClosed',
        'attachFreezePolicy',
      ]);

      const sentDemo = notificationsFor(h.webhook.received, demoBudget.name).map((n) => n.event);
      expect(sentDemo).toEqual(['budget.threshold', 'budget.frozen']);
      const sentPlatform = notificationsFor(h.webhook.received, platformBudget.name).map((n) => n.event);
      expect(sentPlatform).toEqual(['budget.threshold']);

      // sv0 up sets the search attribute that makes guards findable in the Web UI.
      const described = await demoGuard.describe();
      expect(described.typedSearchAttributes.get(BudgetSearchAttributes.budget)).toBe(demoBudget.name);
    });
  });

  it('unfreeze by update detaches FreezeAccount and the audit trail names who and why; rising spend refreezes', async () => {
    const guard = h.env.client.workflow.getHandle(WorkflowIds.budget(demoBudget.name));
    await h.work(async () => {
      const bad = guard.executeUpdate(unfreezeUpdate, { args: [{ by: '', reason: 'because' }] });
      await expect(bad).rejects.toBeInstanceOf(WorkflowUpdateFailedError);

      const after = await guard.executeUpdate(unfreezeUpdate, {
        args: [{ by: 'ivan', reason: 'customer demo on Monday' }],
      });
      expect(after.frozen).toBe(false);
      expect(after.audit.at(-1)).toMatchObject({
        action: 'unfreeze',
        by: 'ivan',
        reason: 'customer demo on Monday',
        accountId: h.org.demoAccountId,
      });
      expect(after.approval).toMatchObject({ by: 'ivan', spendAtApproval: 202 });
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
      const again = await guard
        .executeUpdate(unfreezeUpdate, { args: [{ by: 'ivan', reason: 'again' }] })
        .catch((e: unknown) => e);
      expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((again as WorkflowUpdateFailedError).cause?.message).toMatch(/is not frozen/);

      // Same spend after the approval: stays unfrozen. Spend keeps rising: frozen again.
      expect((await guard.executeUpdate(checkNowUpdate)).frozen).toBe(false);
      await setSpend(demoBudget, 215);
      const refrozen = await guard.executeUpdate(checkNowUpdate);
      expect(refrozen.frozen).toBe(true);
      expect(refrozen.audit.at(-1)).toMatchObject({ action: 'freeze', details: { refreeze: true } });
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([h.org.demoAccountId]);
    });
  });

  it('sv0 budget status, check and unfreeze drive the running guards', async () => {
    const yaml = (b: typeof demoBudget) =>
      `  - { name: ${b.name}, account: ${b.account}, amount: ${b.amount}, notify: [${b.notify.join(', ')}]${b.freezeAt ? `, freezeAt: ${b.freezeAt}` : ''} }`;
    const dir = budgetsConfigDir(`budgets:\n${yaml(demoBudget)}\n${yaml(platformBudget)}\n`);
    const globals = [
      '--config-dir',
      dir,
      '--address',
      stack().temporalAddress,
      '--namespace',
      h.env.namespace ?? 'default',
    ];
    const sv0 = async (...args: string[]) => {
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += chunk.toString();
        return true;
      });
      const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        return { code: await main(['node', 'sv0', ...globals, ...args]), out };
      } finally {
        spy.mockRestore();
        err.mockRestore();
      }
    };
    await h.work(async () => {
      const status = await sv0('budget', 'status', '--json');
      expect(status.code).toBe(0);
      const rows = JSON.parse(status.out) as { budget: string; frozen: boolean; levelReached?: number }[];
      expect(rows.map((r) => [r.budget, r.frozen, r.levelReached])).toEqual([
        [demoBudget.name, true, 80],
        [platformBudget.name, false, 100],
      ]);

      const check = await sv0('budget', 'check', platformBudget.name, '--json');
      expect(check.code).toBe(0);
      expect(JSON.parse(check.out)).toMatchObject([{ budget: platformBudget.name, percentUsed: 101 }]);
      expect((await sv0('budget', 'check', 'no-such-budget')).code).toBe(2);

      const unfreeze = await sv0(
        'budget',
        'unfreeze',
        demoBudget.name,
        '--by',
        'ceo',
        '--reason',
        'approved in standup',
        '--json',
      );
      expect(unfreeze.code).toBe(0);
      // The stated approver, with the OS user and host the CLI ran as (all self-reported).
      const origin = { osUser: userInfo().username, host: hostname() };
      const unfrozen = JSON.parse(unfreeze.out) as BudgetGuardStatus;
      expect(unfrozen).toMatchObject({
        frozen: false,
        approval: { by: 'ceo', reason: 'approved in standup', origin },
      });
      expect(unfrozen.audit.at(-1)).toMatchObject({ action: 'unfreeze', by: 'ceo', details: origin });
      // The history's update event carries the CLI's client identity: OS user, host and pid.
      const history = await h.env.client.workflow
        .getHandle(WorkflowIds.budget(demoBudget.name))
        .fetchHistory();
      const accepted = history
        .events!.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.meta?.identity)
        .filter(Boolean);
      expect(accepted.at(-1)).toBe(`sv0 ${origin.osUser}@${origin.host} pid ${process.pid}`);
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
      // Not frozen any more: the guard refuses, the CLI says so with exit code 2.
      expect(
        (await sv0('budget', 'unfreeze', demoBudget.name, '--by', 'ceo', '--reason', 'again')).code,
      ).toBe(2);
    });
    // For test/replay.test.ts (with SV0_WRITE_HISTORIES=1): freeze after a demo
    // teardown, unfreeze, refreeze, unfreeze by the CLI.
    recordHistory(WorkflowIds.budget(demoBudget.name), 'budget-guard-freeze', h.env.namespace ?? 'default');
  });

  it('a config that marks the management account freezable, or names an unknown account, is refused before any guard starts', async () => {
    const mgmt = uniqueId('mgmt');
    const unknown = uniqueId('nope');
    const dir = budgetsConfigDir(
      `budgets:\n  - { name: ${mgmt}, account: management, amount: 10, freezeAt: 100 }\n  - { name: ${unknown}, account: sv0-unknown, amount: 10 }\n`,
    );
    const ctx = {
      client: h.env.client,
      configDir: dir,
      namespace: h.env.namespace ?? 'default',
      globals: {},
      safe: false,
      log: () => undefined,
    };
    const run = budgetGuardsUpStep.run(ctx);
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow(/budgets\[0\]\.freezeAt: the management account is never frozen/);
    await expect(run).rejects.toThrow(/budgets\[1\]\.account: "sv0-unknown" is not an account in org\.yaml/);
    for (const name of [mgmt, unknown]) {
      await expect(
        h.env.client.workflow.getHandle(WorkflowIds.budget(name)).describe(),
      ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
  });
});
