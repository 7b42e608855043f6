import { describe, expect, it } from 'vitest';
import { freshMonth } from '../../lib/budget-escalation';
import {
  budgetGuardStatus,
  budgetNotices,
  budgetProblems,
  freezeReason,
  usd,
} from '../../lib/budget-messages';
import { GROSS_COST_TYPES } from '../../lib/budget-cost-types';
import type { BudgetGuardConfig } from '../../lib/contracts/budget';

const config: BudgetGuardConfig = {
  budget: {
    name: 'demo',
    account: 'sv0-demo',
    amount: 200,
    currency: 'USD',
    notify: [50, 80, 100],
    freezeAt: 100,
    subscribers: ['ops@example.com'],
    checkInterval: '1h',
    refreezeAfterApproval: true,
    costTypes: GROSS_COST_TYPES,
  },
  org: { accounts: [{ name: 'sv0-demo', sandbox: true }] },
  notifications: [{ type: 'log' }],
};
const target = { accountId: '210987654321', accountName: 'sv0-demo' };

describe('budget guard messages', () => {
  it('prints amounts in dollars with cents', () => {
    expect(usd(12.5)).toBe('$12.50');
    expect(freezeReason(202, 101, 200, 100)).toBe(
      'actual spend $202.00 is 101% of $200.00, at or above freezeAt 100%',
    );
  });

  it('names the highest threshold crossed, critical from 100 %', () => {
    expect(budgetNotices.threshold('demo', 80, 81.5, 163, 200, '2026-11')).toEqual({
      event: 'budget.threshold',
      severity: 'warning',
      title: 'Budget demo: 81.5% spent (threshold 80%)',
      text: 'Actual spend $163.00 of $200.00 this month (2026-11).',
      fields: { threshold: 80, percentUsed: 81.5, actual: 163, amount: 200 },
    });
    expect(budgetNotices.threshold('demo', 100, 101, 202, 200, '2026-11').severity).toBe('critical');
  });

  it('warns on the forecast with both amounts', () => {
    const n = budgetNotices.forecast(
      'demo',
      { actual: 60, forecast: 230 },
      { forecastPercent: 115, percentUsed: 30 },
      200,
      '2026-11',
    );
    expect(n.title).toBe('Budget demo: forecast 115% of the budget');
    expect(n.text).toBe(
      'AWS forecasts $230.00 of $200.00 by the end of 2026-11; actual spend is $60.00 (30%).',
    );
  });

  it('says how to unfreeze a frozen account, and when it freezes again', () => {
    const frozen = budgetNotices.frozen('demo', target, 'over budget', 2, true);
    expect(frozen.title).toBe('Budget demo: account sv0-demo frozen again');
    expect(frozen.text).toBe(
      'over budget. 2 live demo(s) destroyed, then FreezeAccount attached to sv0-demo (210987654321). Unfreeze with `sv0 budget unfreeze demo --by WHO --reason TEXT`; it lifts by itself at the next UTC month.',
    );
    const approved = budgetNotices.unfrozen(
      'demo',
      target,
      { by: 'ana', reason: 'approved', origin: { osUser: 'ana', host: 'ops-vm' } },
      true,
    );
    expect(approved.text).toBe(
      'approved. FreezeAccount detached from sv0-demo (210987654321). Sent as OS user ana from host ops-vm (self-reported by the client). It freezes again if spend keeps rising this month.',
    );
    expect(approved.fields).toMatchObject({ by: 'ana', osUser: 'ana', host: 'ops-vm' });
    expect(
      budgetNotices.unfrozen('demo', target, { by: 'month-rollover', reason: 'new month' }, false).text,
    ).toBe('new month. FreezeAccount detached from sv0-demo (210987654321).');
    expect(budgetNotices.freezeDryRun('demo', 'sv0-demo', 'over budget').title).toBe(
      'Budget demo: would freeze sv0-demo (dry run)',
    );
  });

  it('names each problem and its cause', () => {
    expect(budgetProblems.missing('demo')).toBe(
      'budget demo does not exist in AWS Budgets; run `sv0 org apply`',
    );
    expect(budgetProblems.freeze('AccessDenied')).toBe('freeze failed: AccessDenied');
    expect(budgetProblems.read('throttled')).toBe('cannot read the budget: throttled');
    expect(budgetProblems.rollover('x')).toBe('month-rollover unfreeze failed: x');
  });

  it('projects the status: percentages to cents, the highest level, the problems in one line', () => {
    const state = { ...freshMonth('2026-11'), notified: [50, 80] };
    const status = budgetGuardStatus({
      config,
      state,
      lastReading: { actual: 163.333, forecast: 250, unit: 'USD', readAt: '2026-11-20T10:00:00.000Z' },
      problems: {
        read: 'cannot read the budget: x',
        freeze: undefined,
        rollover: 'month-rollover unfreeze failed: y',
      },
      audit: [],
    });
    expect(status).toMatchObject({
      budget: 'demo',
      account: 'sv0-demo',
      amount: 200,
      month: '2026-11',
      percentUsed: 81.67,
      forecastPercent: 125,
      levelReached: 80,
      freezeAt: 100,
      frozen: false,
      lastProblem: 'cannot read the budget: x; month-rollover unfreeze failed: y',
    });
    expect(
      budgetGuardStatus({ config, state: freshMonth('2026-11'), problems: {}, audit: [] }),
    ).toMatchObject({ percentUsed: undefined, levelReached: undefined, lastProblem: undefined });
  });
});
