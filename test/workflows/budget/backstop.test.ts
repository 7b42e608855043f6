import { hostname, userInfo } from 'node:os';
import { ListSubscriptionsByTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { subscribeAlertsEndpoint } from '../../../clients/budget/alerts-topic';
import {
  budgetStatusQuery,
  type BudgetGuardStatus,
  checkNowUpdate,
  unfreezeUpdate,
} from '../../../lib/contracts/budget';
import { sv0 } from '../../harness/cli';
import { stack } from '../../harness/stack';
import { type DemoSummary, statusQuery } from '../../../lib/contracts/demo';
import { WorkflowIds } from '../../../lib/names';
import { motoConfig } from '../../harness/aws';
import { recordHistory } from '../../harness/record-history';
import { uniqueId } from '../../harness/temporal';
import {
  budgetConfig,
  budgetGuardHarness,
  budgetsConfigDir,
  eventually,
  freezeTargets,
  notificationsFor,
  setSpend,
  startAlertsEndpoint,
} from '../../harness/budget-fixtures';

/**
 * The AWS side of the budget freeze with the guard. moto has no budget actions: they go through the
 * Budgets fake at the SDK-client boundary (test/harness/org-fixtures.ts), whose actions attach and
 * detach FreezeAccount in moto's Organizations as AWS Budgets would. The alerts topic and its
 * delivery to `alerts-endpoint` are moto's own SNS.
 */
describe('the budget freeze backstop: AWS Budgets action (Budgets fake) and alerts topic (moto SNS) with the guard', () => {
  const h = budgetGuardHarness({ queue: 'backstop', scenario: 'backstop-test' });

  it('with the worker stopped the action freezes sv0-demo; when it returns the guard destroys the live demo there and reports the freeze as the action’s; unfreeze reverses the action and detaches FreezeAccount', async () => {
    const budget = budgetConfig({
      name: uniqueId('sv0-demo'),
      account: 'sv0-demo',
      amount: 200,
      notify: [80],
      freezeAt: 100,
    });
    await setSpend(budget, 120);
    // The bootstrap's step: one automatic APPLY_SCP_POLICY action for the budget.
    const actionId = await h.ensureFreezeAction(budget);
    const action = () => h.budgetsApi.state.actions.find((a) => a.ActionId === actionId)!;
    expect(action()).toMatchObject({ Status: 'STANDBY', ApprovalModel: 'AUTOMATIC' });

    const demoId = uniqueId('backstop').toLowerCase();
    const demo = await h.startDemo(demoId);
    await h.work(() =>
      eventually(
        () => demo.query(statusQuery),
        (s) => s.phase === 'running',
        'demo running',
      ),
    );

    // The worker is stopped. Spend passes 100 %; AWS Budgets evaluates and executes its action.
    await setSpend(budget, 203);
    await h.budgetsApi.evaluate(h.org.managementAccountId);
    expect(action().Status).toBe('EXECUTION_SUCCESS');
    expect(await freezeTargets(h.org.freezePolicyId)).toEqual([h.org.demoAccountId]);
    const guardId = WorkflowIds.budget(budget.name);
    const guard = await h.startGuard(budget);

    // The worker returns.
    await h.work(async () => {
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
      const frozen = await eventually(
        () => guard.executeUpdate(checkNowUpdate),
        (s) => s.frozen,
        'guard reports the freeze',
      );
      expect(frozen.freeze).toMatchObject({
        accountId: h.org.demoAccountId,
        appliedBy: 'aws-budgets-action',
      });
      expect(frozen.audit.map((a) => a.action)).toEqual(['demos-destroyed', 'freeze']);
      expect(frozen.audit[1]!.details).toMatchObject({
        changed: false,
        appliedBy: 'aws-budgets-action',
        budgetAction: actionId,
        budgetActionStatus: 'EXECUTION_SUCCESS',
        demosDestroyed: 1,
      });
      const summary: DemoSummary = await demo.result();
      expect(summary.phase).toBe('destroyed');
      expect(summary.destroyReason).toMatch(/^budget freeze: /);
      // Demos first, then the freeze is recorded (the attach finds it in place).
      const history = await guard.fetchHistory();
      const scheduled = (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n): n is string => n !== undefined && n !== 'readBudgetSpend' && n !== 'notify');
      expect(scheduled).toEqual([
        'resolveAccount',
        'destroyDemosInAccount',
        'waitForDemosClosed',
        'attachFreezePolicy',
      ]);
      const sent = notificationsFor(h.webhook.received, budget.name, 'budget.frozen');
      expect(sent).toHaveLength(1);
      expect(sent[0]!.fields).toMatchObject({ appliedBy: 'aws-budgets-action', demosDestroyed: 1 });
      expect((sent[0] as unknown as { text: string }).text).toContain('by the AWS Budgets action');

      const after = await guard.executeUpdate(unfreezeUpdate, {
        args: [{ by: 'ivan', reason: 'demo for a customer' }],
      });
      expect(after.frozen).toBe(false);
      expect(after.audit.at(-1)).toMatchObject({
        action: 'unfreeze',
        by: 'ivan',
        details: {
          changed: true,
          budgetAction: actionId,
          budgetActionStatus: 'REVERSE_SUCCESS',
          budgetActionReversed: true,
        },
      });
    });
    expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
    expect(h.budgetsApi.state.transitions.filter((t) => t.actionId === actionId).map((t) => t.to)).toEqual([
      'EXECUTION_IN_PROGRESS',
      'EXECUTION_SUCCESS',
      'REVERSE_IN_PROGRESS',
      'REVERSE_SUCCESS',
    ]);
    // For test/replay.test.ts (with SV0_WRITE_HISTORIES=1): a freeze AWS applied, then unfrozen.
    recordHistory(guardId, 'budget-guard-backstop', h.env.namespace ?? 'default');
    // Reversed, the action does not fire again this period (as in AWS): the account stays unfrozen.
    await h.budgetsApi.evaluate(h.org.managementAccountId);
    expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
  });

  it('the alerts topic (moto) takes a budget notification and delivers it through the alerts-endpoint subscription to the guard, which checks at once', async () => {
    const { topicArn } = await h.backstop().orgEnsureAlertsTopic({
      kind: 'ensureAlertsTopic',
      id: 'ensureAlertsTopic:sv0-budget-alerts',
      wave: 2,
      summary: '',
      topic: 'sv0-budget-alerts',
    });
    const total = budgetConfig({
      name: uniqueId('total'),
      account: 'organization',
      amount: 500,
      notify: [50, 80],
    });
    await setSpend(total, 200);
    // The endpoint verifies each delivery's real signature (moto's certificate).
    const alerts = await startAlertsEndpoint(h.env.client, topicArn);
    const url = alerts.url;
    try {
      const sub = await subscribeAlertsEndpoint({ url, aws: motoConfig() });
      expect(sub.topicArn).toBe(topicArn);
      const subs = await new SNSClient(motoConfig()).send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
      );
      expect(subs.Subscriptions?.map((s) => [s.Protocol, s.Endpoint])).toEqual([['http', url]]);
      await h.work(async () => {
        const handle = await h.startGuard(total);
        expect((await handle.executeUpdate(checkNowUpdate)).percentUsed).toBe(40);
        await setSpend(total, 410);
        // What AWS Budgets publishes to the topic when a threshold is passed (without a subject:
        // moto leaves the subject out of what it signs, where SNS includes it).
        await new SNSClient(motoConfig()).send(
          new PublishCommand({
            TopicArn: topicArn,
            Message: `AWS Budget Notification\nBudget Name: ${total.name}\nAlert Type: ACTUAL\nAlert Threshold: > $400.00\nACTUAL Amount: $410.00`,
          }),
        );
        // No check asked for: only the alert through SNS and the endpoint makes the guard read now.
        const hit = await h.webhook.waitFor(
          (r) => notificationsFor([r], total.name, 'budget.threshold').length > 0,
        );
        expect((hit.body as { fields: Record<string, unknown> }).fields).toMatchObject({
          threshold: 80,
          percentUsed: 82,
        });
        const status = await handle.query(budgetStatusQuery);
        expect(status.levelReached).toBe(80);
      });
    } finally {
      alerts.close();
    }
  });
  it('sv0 budget freeze quarantines by hand, recorded as an unfreeze is (who, why, OS user and host); a check below freezeAt keeps it; unfreeze lifts it', async () => {
    const budget = budgetConfig({
      name: uniqueId('sv0-demo'),
      account: 'sv0-demo',
      amount: 200,
      notify: [80],
      freezeAt: 100,
    });
    await setSpend(budget, 50);
    const dir = budgetsConfigDir(
      `budgets:\n  - { name: ${budget.name}, account: sv0-demo, amount: 200, notify: [80], freezeAt: 100 }\n`,
    );
    const cli = (...args: string[]) =>
      sv0(
        ...args,
        '--config-dir',
        dir,
        '--address',
        stack().temporalAddress,
        '--namespace',
        h.env.namespace ?? 'default',
      );
    await h.work(async () => {
      const guard = await h.startGuard(budget);
      expect((await guard.executeUpdate(checkNowUpdate)).frozen).toBe(false);
      const frozen = await cli(
        'budget',
        'freeze',
        budget.name,
        '--by',
        'ivan',
        '--reason',
        'suspicious spend',
        '--json',
      );
      expect(frozen.stderr).toBe('');
      expect(frozen.code).toBe(0);
      const status = JSON.parse(frozen.stdout) as BudgetGuardStatus;
      const origin = { osUser: userInfo().username, host: hostname() };
      expect(status).toMatchObject({
        frozen: true,
        freeze: { accountId: h.org.demoAccountId, appliedBy: 'budget-guard' },
      });
      expect(status.audit.at(-1)).toMatchObject({
        action: 'freeze',
        by: 'ivan',
        reason: 'frozen by hand by ivan: suspicious spend',
        accountId: h.org.demoAccountId,
        details: { ...origin, changed: true, demosDestroyed: 0 },
      });
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([h.org.demoAccountId]);
      const sent = notificationsFor(h.webhook.received, budget.name, 'budget.frozen');
      expect(sent).toHaveLength(1);

      const again = await cli('budget', 'freeze', budget.name, '--by', 'ivan', '--reason', 'again');
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('frozen already');
      const noReason = await cli('budget', 'freeze', budget.name, '--by', 'ivan', '--reason', ' ');
      expect(noReason.code).toBe(2);

      // Spend is far below freezeAt: a check does not lift a freeze by hand.
      expect((await guard.executeUpdate(checkNowUpdate)).frozen).toBe(true);
      const lifted = await cli(
        'budget',
        'unfreeze',
        budget.name,
        '--by',
        'ceo',
        '--reason',
        'checked, fine',
        '--json',
      );
      expect(lifted.code).toBe(0);
      expect(JSON.parse(lifted.stdout)).toMatchObject({ frozen: false });
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
    });
  });
});
