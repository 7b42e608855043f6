/**
 * `forecastAction: block-demos`: a budget whose month-end forecast passes 100 % refuses new demos in
 * its account. The forecast is Cost Explorer's, read when a demo starts (by `sv0 demo start` and
 * again by the worker): this month's spend so far plus Cost Explorer's forecast for the rest of the
 * month, counted the way the budget counts (its cost types). Pure periods, filters and texts; the
 * reads are in activities/budget/forecast.ts.
 */
import type { BudgetCostTypes } from './budget-cost-types';
import { BLOCK_DEMOS, type BudgetConfig, type BudgetsConfig } from './config/budgets';
import { usd } from './budget-messages';

/** Cost Explorer record types that lower spend: what gross spend leaves out. */
export const CREDIT_RECORD_TYPES = ['Credit'];
export const REFUND_RECORD_TYPES = ['Refund'];
export const DISCOUNT_RECORD_TYPES = [
  'Bundled Discount',
  'Enterprise Discount Program Discount',
  'Solution Provider Program Discount',
];

/** The record types a budget's cost types leave out (Cost Explorer's `RECORD_TYPE` dimension). */
export function excludedRecordTypes(types: BudgetCostTypes): string[] {
  return [
    ...(types.includeCredit ? [] : CREDIT_RECORD_TYPES),
    ...(types.includeRefund ? [] : REFUND_RECORD_TYPES),
    ...(types.includeDiscount ? [] : DISCOUNT_RECORD_TYPES),
    ...(types.includeTax ? [] : ['Tax']),
  ];
}

/** Cost Explorer's filter for one account's spend, counted as the budget counts it. */
export function accountCostFilter(accountId: string, types: BudgetCostTypes) {
  const account = { Dimensions: { Key: 'LINKED_ACCOUNT' as const, Values: [accountId] } };
  const excluded = excludedRecordTypes(types);
  if (excluded.length === 0) return account;
  return { And: [account, { Not: { Dimensions: { Key: 'RECORD_TYPE' as const, Values: excluded } } }] };
}

/** The rate the budget counts in, as GetCostAndUsage's metric and GetCostForecast's. */
export function costMetric(types: BudgetCostTypes): {
  usage: 'UnblendedCost' | 'BlendedCost' | 'AmortizedCost';
  forecast: 'UNBLENDED_COST' | 'BLENDED_COST' | 'AMORTIZED_COST';
} {
  if (types.useAmortized) return { usage: 'AmortizedCost', forecast: 'AMORTIZED_COST' };
  if (types.useBlended) return { usage: 'BlendedCost', forecast: 'BLENDED_COST' };
  return { usage: 'UnblendedCost', forecast: 'UNBLENDED_COST' };
}

export interface Period {
  Start: string;
  End: string;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Cost Explorer periods (UTC dates, end exclusive) for this month's forecast: the spend so far
 * (from the 1st up to today; none on the 1st) and the forecast from today to the 1st of next month
 * (GetCostForecast refuses a start before today).
 */
export function forecastPeriods(now: Date): { month: string; spent?: Period; rest: Period } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const first = day(new Date(Date.UTC(y, m, 1)));
  const today = day(new Date(Date.UTC(y, m, now.getUTCDate())));
  const next = day(new Date(Date.UTC(y, m + 1, 1)));
  return {
    month: first.slice(0, 7),
    ...(today > first ? { spent: { Start: first, End: today } } : {}),
    rest: { Start: today, End: next },
  };
}

/** One budget's month-end forecast, as the demo start reads it. Amounts in US dollars. */
export interface MonthForecast {
  budget: string;
  account: string;
  accountId: string;
  /** UTC month, `YYYY-MM`. */
  month: string;
  amount: number;
  /** Spent this month before today. */
  spent: number;
  /** Cost Explorer's forecast from today to the month's end; undefined when it has too little history to forecast. */
  rest?: number;
  /** `spent + rest`: the month-end forecast. */
  total: number;
  /** `total` as a whole percentage of `amount`. */
  percent: number;
}

/** The budgets of an account (its live name) whose forecast blocks new demos there. */
export function demoBlockingBudgets(budgets: BudgetsConfig | undefined, accountName: string): BudgetConfig[] {
  return (budgets?.budgets ?? []).filter(
    (b) => b.account === accountName && b.forecastAction === BLOCK_DEMOS,
  );
}

/** A month forecast from its parts. */
export function monthForecast(
  budget: Pick<BudgetConfig, 'name' | 'account' | 'amount'>,
  accountId: string,
  month: string,
  spent: number,
  rest: number | undefined,
): MonthForecast {
  const total = Math.round((spent + (rest ?? 0)) * 100) / 100;
  return {
    budget: budget.name,
    account: budget.account,
    accountId,
    month,
    amount: budget.amount,
    spent: Math.round(spent * 100) / 100,
    ...(rest !== undefined ? { rest: Math.round(rest * 100) / 100 } : {}),
    total,
    percent: Math.round((total / budget.amount) * 100),
  };
}

/** True when the month-end forecast passes the budget: new demos are refused. */
export function forecastBlocksDemos(f: MonthForecast): boolean {
  return f.total > f.amount;
}

/** Why a demo is refused, with what to do: the same words from the CLI and from the worker. */
export function forecastRefusal(f: MonthForecast): string {
  const how =
    f.rest === undefined
      ? `spend so far ${usd(f.spent)} (Cost Explorer has too little history to forecast the rest)`
      : `${usd(f.spent)} spent so far and ${usd(f.rest)} forecast for the rest of the month`;
  return (
    `budget ${f.budget}: Cost Explorer forecasts ${usd(f.total)} for ${f.month}, ${f.percent} % of ${usd(f.amount)} ` +
    `(${how}), and the budget sets forecastAction: block-demos, so no new demo starts in ${f.account} (${f.accountId}); ` +
    `running demos are not touched. Destroy demos you no longer need, wait for the forecast to fall below the budget ` +
    `or for the next UTC month, or raise the budget's amount or set forecastAction: off in budgets.yaml ` +
    `(the worker's copy too: it checks again)`
  );
}
