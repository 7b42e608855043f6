import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoForecastCheck, readMonthForecast } from '../../../activities/budget/forecast';
import { GROSS_COST_TYPES } from '../../../lib/budget-cost-types';
import { fakeCostExplorer } from '../../harness/org-fixtures';

const BUDGET = { name: 'sv0-demo', account: 'sv0-demo', amount: 200, costTypes: GROSS_COST_TYPES };
const ACCOUNT = '111111111111';

describe('readMonthForecast (Cost Explorer through the thin fake at the SDK-client boundary)', () => {
  it("adds the spend before today to Cost Explorer's forecast for the rest of the month, both for the account's gross spend", async () => {
    const cost = fakeCostExplorer([]);
    cost.state.grossSpend = 120;
    cost.state.forecast = 95.5;
    const f = await readMonthForecast(cost.ce, BUDGET, ACCOUNT, new Date('2026-12-07T12:00:00Z'));
    expect(f).toEqual({
      budget: 'sv0-demo',
      account: 'sv0-demo',
      accountId: ACCOUNT,
      month: '2026-12',
      amount: 200,
      spent: 120,
      rest: 95.5,
      total: 215.5,
      percent: 108,
    });
    expect(cost.state.costQueries.map((q) => [q.TimePeriod, q.Metrics])).toEqual([
      [{ Start: '2026-12-01', End: '2026-12-07' }, ['UnblendedCost']],
    ]);
    expect(cost.state.forecastQueries.map((q) => [q.TimePeriod, q.Metric, q.Granularity])).toEqual([
      [{ Start: '2026-12-07', End: '2027-01-01' }, 'UNBLENDED_COST', 'MONTHLY'],
    ]);
    // Both read the same account, without credits, refunds and discounts.
    expect(cost.state.forecastQueries[0]!.Filter).toEqual(cost.state.costQueries[0]!.Filter);
    expect(JSON.stringify(cost.state.forecastQueries[0]!.Filter)).toContain(`"Values":["${ACCOUNT}"]`);
    expect(JSON.stringify(cost.state.forecastQueries[0]!.Filter)).toContain(
      '"Not":{"Dimensions":{"Key":"RECORD_TYPE"',
    );
  });

  it('without enough history to forecast (DataUnavailableException) the forecast is the spend so far; other errors are thrown', async () => {
    const cost = fakeCostExplorer([]);
    cost.state.grossSpend = 40;
    cost.state.forecast = Object.assign(new Error('Insufficient amount of historical data'), {
      name: 'DataUnavailableException',
    });
    const f = await readMonthForecast(cost.ce, BUDGET, ACCOUNT, new Date('2026-12-07T12:00:00Z'));
    expect(f).toMatchObject({ spent: 40, total: 40, percent: 20 });
    expect(f.rest).toBeUndefined();
    cost.state.forecast = Object.assign(new Error('no'), { name: 'AccessDeniedException' });
    await expect(readMonthForecast(cost.ce, BUDGET, ACCOUNT)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it("the worker's check reads nothing when its budgets.yaml has no forecastAction", async () => {
    const cost = fakeCostExplorer([]);
    const check = demoForecastCheck({
      // Never reached: no budget of the worker's config blocks demos.
      aws: { region: 'us-east-1', endpoint: 'http://127.0.0.1:1' },
      ce: cost.ce,
      configDir: path.resolve(__dirname, '../../../config'),
    });
    await check(ACCOUNT);
    expect(cost.state.calls).toEqual([]);
  });
});
