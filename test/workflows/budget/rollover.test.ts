import { describe, expect, it } from 'vitest';
import { budgetStatusQuery, checkNowUpdate } from '../../../lib/contracts/budget';
import { nextUtcMonthStart, utcMonth } from '../../../lib/budget-escalation';
import { WorkflowIds } from '../../../lib/names';
import { uniqueId } from '../../harness/temporal';
import {
  budgetConfig,
  budgetGuardHarness,
  eventually,
  freezeTargets,
  notificationsFor,
  setSpend,
} from '../../harness/budget-fixtures';

const DAY = 86_400_000;

/**
 * The month rollover on the time-skipping test server (one clock, no visibility): the guards run
 * there; demo control lists demos on the dev server, where demos run and visibility exists.
 */
describe('budget guards across a UTC month (time-skipping server, AWS in moto)', () => {
  const h = budgetGuardHarness({ queue: 'budget-rollover', timeSkipping: true });

  it('the rollover lifts a freeze (reversing the AWS Budgets action that applied it, through the Budgets fake) and resets thresholds; staying at 55 % for days notifies once per month', async () => {
    const total = budgetConfig({
      name: uniqueId('total'),
      account: 'organization',
      amount: 500,
      notify: [50, 80, 100],
      checkInterval: '6h',
    });
    const demo = budgetConfig({
      name: uniqueId('sv0-demo'),
      account: 'sv0-demo',
      amount: 200,
      notify: [80],
      freezeAt: 100,
      checkInterval: '6h',
    });
    await setSpend(total, 275);
    await setSpend(demo, 202);
    // AWS Budgets froze sv0-demo before its guard ran: the guard records that freeze as the action's.
    const actionId = await h.ensureFreezeAction(demo);
    await h.budgetsApi.evaluate(h.org.managementAccountId);
    await h.work(async () => {
      const totalGuard = await h.startGuard(total);
      const demoGuard = await h.startGuard(demo);
      const month0 = utcMonth(await h.env.currentTimeMs());

      const frozen = await eventually(
        () => demoGuard.executeUpdate(checkNowUpdate),
        (s) => s.frozen,
        'demo budget frozen',
      );
      expect(frozen).toMatchObject({ month: month0, levelReached: 80 });
      expect(frozen.freeze?.appliedBy).toBe('aws-budgets-action');
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([h.org.demoAccountId]);
      await eventually(
        async () => notificationsFor(h.webhook.received, total.name).length,
        (n) => n === 1,
        'first threshold notification',
      );

      // AWS resets actual spend at the month start; moto needs the budget recreated for that.
      await setSpend(demo, 0);
      const now = await h.env.currentTimeMs();
      await h.env.sleep(nextUtcMonthStart(now) - now + 3 * DAY);
      const month1 = utcMonth(nextUtcMonthStart(now));

      const after = await eventually(
        () => h.env.client.workflow.getHandle(WorkflowIds.budget(demo.name)).query(budgetStatusQuery),
        (s) =>
          s.month === month1 &&
          !s.frozen &&
          s.lastCheckedAt !== undefined &&
          s.lastCheckedAt >= `${month1}-03`,
        'demo guard in the new month',
      );
      expect(after.levelReached).toBeUndefined();
      expect(after.audit.map((a) => [a.action, a.by])).toEqual([
        ['freeze', 'budget-guard'],
        ['unfreeze', 'month-rollover'],
      ]);
      // The rollover reversed the action (ExecuteBudgetAction REVERSE_BUDGET_ACTION), then detached.
      expect(after.audit.at(-1)?.details).toMatchObject({
        budgetAction: actionId,
        budgetActionStatus: 'REVERSE_SUCCESS',
        budgetActionReversed: true,
      });
      expect(h.budgetsApi.state.transitions.filter((t) => t.actionId === actionId).map((t) => t.to)).toEqual([
        'EXECUTION_IN_PROGRESS',
        'EXECUTION_SUCCESS',
        'REVERSE_IN_PROGRESS',
        'REVERSE_SUCCESS',
      ]);
      expect(await freezeTargets(h.org.freezePolicyId)).toEqual([]);
      // The new month is a new run of the same workflow id (continue-as-new).
      const latest = await h.env.client.workflow.getHandle(WorkflowIds.budget(demo.name)).describe();
      expect(latest.runId).not.toBe(demoGuard.firstExecutionRunId);

      // 55 % all along: one notification per month, none for the days in between.
      await eventually(
        () => totalGuard.query(budgetStatusQuery),
        (s) => s.month === month1 && s.lastCheckedAt !== undefined && s.lastCheckedAt >= `${month1}-03`,
        'total guard in the new month',
      );
      const sent = notificationsFor(h.webhook.received, total.name, 'budget.threshold');
      expect(sent.map((n) => [n.fields.month, n.fields.threshold])).toEqual([
        [month0, 50],
        [month1, 50],
      ]);
      const unfrozen = notificationsFor(h.webhook.received, demo.name, 'budget.unfrozen');
      expect(unfrozen).toHaveLength(1);
      expect(unfrozen[0]?.fields).toMatchObject({ by: 'month-rollover', month: month1 });
    });
  });
});
