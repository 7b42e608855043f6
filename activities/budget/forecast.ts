/**
 * `forecastAction: block-demos` at a demo's start: read each blocking budget's month-end forecast
 * from Cost Explorer (management account) and refuse the demo when it passes the budget. The CLI
 * reads it before it starts a workflow; the worker reads it again in the demo's first activity from
 * its own budgets.yaml and the account's live name, so a workflow started past the CLI, whatever
 * its input says, is refused all the same. Running demos are never touched.
 */
import { existsSync } from 'node:fs';
import {
  type CostExplorerClient,
  GetCostAndUsageCommand,
  GetCostForecastCommand,
} from '@aws-sdk/client-cost-explorer';
import { DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { ApplicationFailure } from '@temporalio/common';
import {
  accountCostFilter,
  costMetric,
  demoBlockingBudgets,
  forecastBlocksDemos,
  forecastPeriods,
  forecastRefusal,
  monthForecast,
  type MonthForecast,
} from '../../lib/budget-forecast';
import { BUDGETS_FILE, type BudgetConfig, type BudgetsConfig } from '../../lib/config/budgets';
import { ConfigError } from '../../lib/config/validate';
import { ErrorType } from '../../lib/names';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { configFile, loadBudgetsConfig } from '../../lib/runtime/config';
import { awsErrorName, classifyAwsError } from '../aws/errors';

type CostExplorer = Pick<CostExplorerClient, 'send'>;

/**
 * One budget's month-end forecast for one account: this month's spend before today
 * (GetCostAndUsage) plus Cost Explorer's forecast from today to the month's end (GetCostForecast),
 * both counted as the budget counts (its record types and rate). Two requests, which Cost Explorer
 * bills at $0.01 each. When Cost Explorer has too little history to forecast
 * (DataUnavailableException) the forecast is the spend so far; other errors are thrown.
 */
export async function readMonthForecast(
  ce: CostExplorer,
  budget: Pick<BudgetConfig, 'name' | 'account' | 'amount' | 'costTypes'>,
  accountId: string,
  now = new Date(),
): Promise<MonthForecast> {
  const periods = forecastPeriods(now);
  const Filter = accountCostFilter(accountId, budget.costTypes);
  const metric = costMetric(budget.costTypes);
  let spent = 0;
  if (periods.spent) {
    const out = await ce.send(
      new GetCostAndUsageCommand({
        TimePeriod: periods.spent,
        Granularity: 'MONTHLY',
        Metrics: [metric.usage],
        Filter,
      }),
    );
    spent = (out.ResultsByTime ?? []).reduce(
      (sum, r) => sum + Number(r.Total?.[metric.usage]?.Amount ?? 0),
      0,
    );
  }
  let rest: number | undefined;
  try {
    const out = await ce.send(
      new GetCostForecastCommand({
        TimePeriod: periods.rest,
        Granularity: 'MONTHLY',
        Metric: metric.forecast,
        Filter,
      }),
    );
    rest = Number(out.Total?.Amount ?? 0);
  } catch (err) {
    if (awsErrorName(err) !== 'DataUnavailableException') throw err;
  }
  if (!Number.isFinite(spent) || (rest !== undefined && !Number.isFinite(rest)))
    throw new Error(`Cost Explorer returned no amount for budget ${budget.name}`);
  return monthForecast(budget, accountId, periods.month, spent, rest);
}

/** What the worker's forecast check is built with. */
export interface DemoForecastCheckDeps {
  /** The worker's own AWS settings (management account): the account's live name is read with them. */
  aws: AwsClientConfig;
  /** Cost Explorer with the management account's credentials (served from us-east-1). */
  ce: CostExplorer;
  /** The worker's own config folder: its budgets.yaml and org.yaml decide, never a workflow input. */
  configDir: string;
}

/**
 * The worker's check: refuse (non-retryable ForecastOverBudget) a demo into an account one of whose
 * budgets in the worker's budgets.yaml sets `forecastAction: block-demos` and forecasts past 100 %.
 * The account is named by its live name in the organization, not by the input. Without such a
 * budget it makes no AWS call.
 */
export function demoForecastCheck(deps: DemoForecastCheckDeps) {
  function workerBudgets(): BudgetsConfig | undefined {
    if (!existsSync(configFile(deps.configDir, BUDGETS_FILE))) return undefined;
    try {
      return loadBudgetsConfig(deps.configDir);
    } catch (err) {
      if (err instanceof ConfigError)
        throw ApplicationFailure.nonRetryable(`the worker's ${err.message}`, ErrorType.BadConfig);
      throw err;
    }
  }

  return async function refuseDemoOverForecast(accountId: string): Promise<void> {
    const budgets = workerBudgets();
    if (!budgets?.budgets.some((b) => b.forecastAction)) return;
    const orgs = new OrganizationsClient(deps.aws);
    const live = await orgs
      .send(new DescribeAccountCommand({ AccountId: accountId }))
      .catch((err: unknown) => Promise.reject(classifyAwsError(`DescribeAccount ${accountId}`, err)));
    for (const budget of demoBlockingBudgets(budgets, live.Account?.Name ?? '')) {
      const forecast = await readMonthForecast(deps.ce, budget, accountId).catch((err: unknown) =>
        Promise.reject(classifyAwsError(`budget ${budget.name}: Cost Explorer forecast`, err)),
      );
      if (forecastBlocksDemos(forecast))
        throw ApplicationFailure.nonRetryable(forecastRefusal(forecast), ErrorType.ForecastOverBudget);
    }
  };
}
