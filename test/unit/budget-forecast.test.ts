import { describe, expect, it } from 'vitest';
import { AWS_DEFAULT_COST_TYPES, GROSS_COST_TYPES } from '../../lib/budget-cost-types';
import {
  accountCostFilter,
  costMetric,
  demoBlockingBudgets,
  forecastBlocksDemos,
  forecastPeriods,
  forecastRefusal,
  monthForecast,
} from '../../lib/budget-forecast';
import type { BudgetConfig } from '../../lib/config/budgets';
import { budgetConfig } from '../harness/budget-fixtures';
import { grossSpendFilter } from '../harness/org-fixtures';

/** sv0-demo's $200 budget, as the harness writes budgets, with `over` on top. */
const budget = (over: Partial<BudgetConfig>): BudgetConfig =>
  budgetConfig({ name: 'sv0-demo', account: 'sv0-demo', amount: 200, ...over });

describe('forecastPeriods', () => {
  it('reads the spend from the 1st up to today and the forecast from today to the next 1st (end exclusive, UTC)', () => {
    expect(forecastPeriods(new Date('2026-12-07T23:30:00Z'))).toEqual({
      month: '2026-12',
      spent: { Start: '2026-12-01', End: '2026-12-07' },
      rest: { Start: '2026-12-07', End: '2027-01-01' },
    });
  });

  it('on the 1st there is no spend to read yet', () => {
    expect(forecastPeriods(new Date('2026-02-01T00:00:00Z'))).toEqual({
      month: '2026-02',
      rest: { Start: '2026-02-01', End: '2026-03-01' },
    });
  });
});

describe('what the forecast counts', () => {
  it('gross spend: the linked account without credits, refunds and discounts, at the unblended rate', () => {
    expect(accountCostFilter('111111111111', GROSS_COST_TYPES)).toEqual(grossSpendFilter('111111111111'));
    expect(costMetric(GROSS_COST_TYPES)).toEqual({ usage: 'UnblendedCost', forecast: 'UNBLENDED_COST' });
  });

  it("a budget that counts everything filters by account only; its rate is the budget's", () => {
    expect(accountCostFilter('111111111111', AWS_DEFAULT_COST_TYPES)).toEqual({
      Dimensions: { Key: 'LINKED_ACCOUNT', Values: ['111111111111'] },
    });
    expect(costMetric({ ...GROSS_COST_TYPES, useAmortized: true }).forecast).toBe('AMORTIZED_COST');
    expect(costMetric({ ...GROSS_COST_TYPES, useBlended: true }).usage).toBe('BlendedCost');
  });
});

describe('forecastAction: block-demos', () => {
  it("picks the blocking budgets of the account's name only", () => {
    const budgets = {
      budgets: [
        budget({ name: 'a', forecastAction: 'block-demos' }),
        budget({ name: 'b' }),
        budget({ name: 'c', account: 'sv0-other', forecastAction: 'block-demos' }),
      ],
    };
    expect(demoBlockingBudgets(budgets, 'sv0-demo').map((b) => b.name)).toEqual(['a']);
    expect(demoBlockingBudgets(undefined, 'sv0-demo')).toEqual([]);
  });

  it('blocks only past 100 %, and the refusal names the budget, the forecast, the account and what to do', () => {
    const at = monthForecast(budget({}), '111111111111', '2026-12', 120, 80);
    expect(at).toMatchObject({ total: 200, percent: 100 });
    expect(forecastBlocksDemos(at)).toBe(false);
    const past = monthForecast(budget({}), '111111111111', '2026-12', 120.004, 110);
    expect(forecastBlocksDemos(past)).toBe(true);
    expect(forecastRefusal(past)).toBe(
      "budget sv0-demo: Cost Explorer forecasts $230.00 for 2026-12, 115 % of $200.00 ($120.00 spent so far and $110.00 forecast for the rest of the month), and the budget sets forecastAction: block-demos, so no new demo starts in sv0-demo (111111111111); running demos are not touched. Destroy demos you no longer need, wait for the forecast to fall below the budget or for the next UTC month, or raise the budget's amount or set forecastAction: off in budgets.yaml (the worker's copy too: it checks again)",
    );
    const noHistory = monthForecast(budget({}), '111111111111', '2026-12', 250, undefined);
    expect(forecastBlocksDemos(noHistory)).toBe(true);
    expect(forecastRefusal(noHistory)).toContain(
      '(spend so far $250.00 (Cost Explorer has too little history to forecast the rest))',
    );
  });
});
