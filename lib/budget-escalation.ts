/**
 * The budget guard's decisions, as pure functions so that the workflow stays a short runbook and
 * the rules can be tested without a server: which thresholds notify, when the forecast warns, when
 * an account freezes. Months are UTC months, as everywhere in the project.
 */
import type { ApprovalOrigin } from './contracts/budget';

/** The part of a budget's configuration the decisions need. */
export interface EscalationRules {
  amount: number;
  /** Ascending percentages of actual spend. */
  notify: number[];
  freezeAt?: number;
  refreezeAfterApproval: boolean;
}

/** What the guard remembers within one month. */
export interface MonthState {
  /** `YYYY-MM`, UTC. */
  month: string;
  /** Thresholds already notified this month. */
  notified: number[];
  /** The forecast-over-100 % warning went out this month. */
  forecastWarned: boolean;
  frozen: boolean;
  /** The last approved unfreeze this month, with the actual spend at that moment. */
  approval?: { by: string; reason: string; at: string; spendAtApproval: number; origin?: ApprovalOrigin };
}

/** Spend as the Budgets API reports it, in the budget's currency. */
export interface SpendReading {
  actual: number;
  forecast?: number;
}

export interface Decision {
  /** Percent of the budget actually spent. */
  percentUsed: number;
  /** Forecasted percent, when AWS has a forecast. */
  forecastPercent?: number;
  /** Thresholds crossed for the first time this month (ascending); notify once, naming the highest. */
  newlyCrossed: number[];
  /** The forecast reached 100 % while actual spend has not: warn once a month. */
  forecastWarning: boolean;
  /** Destroy demos and attach FreezeAccount now. */
  freeze: boolean;
  /** Why a freeze is held back (already frozen, approved unfreeze without further rise, ...). */
  freezeHeldBack?: string;
}

/** Round to cents' worth of percent, so `55.00000001` prints as 55. */
function pct(part: number, whole: number): number {
  return Math.round((part / whole) * 100 * 100) / 100;
}

/**
 * Decide what one spend reading means this month. Pure: the caller applies the decision and
 * records it in the state.
 */
export function evaluateSpend(rules: EscalationRules, state: MonthState, reading: SpendReading): Decision {
  const percentUsed = pct(reading.actual, rules.amount);
  const forecastPercent = reading.forecast === undefined ? undefined : pct(reading.forecast, rules.amount);
  const newlyCrossed = rules.notify.filter((t) => percentUsed >= t && !state.notified.includes(t));
  const forecastWarning =
    !state.forecastWarned && forecastPercent !== undefined && forecastPercent >= 100 && percentUsed < 100;

  let freeze = false;
  let freezeHeldBack: string | undefined;
  if (rules.freezeAt !== undefined && percentUsed >= rules.freezeAt) {
    if (state.frozen) {
      freezeHeldBack = 'already frozen';
    } else if (state.approval && !rules.refreezeAfterApproval) {
      freezeHeldBack = `unfrozen by ${state.approval.by} this month and refreezeAfterApproval is off`;
    } else if (state.approval && reading.actual <= state.approval.spendAtApproval) {
      freezeHeldBack = `unfrozen by ${state.approval.by}; spend has not risen since`;
    } else {
      freeze = true;
    }
  }
  return { percentUsed, forecastPercent, newlyCrossed, forecastWarning, freeze, freezeHeldBack };
}

/** The highest threshold notified this month, or undefined when none was reached. */
export function levelReached(state: MonthState): number | undefined {
  return state.notified.length > 0 ? Math.max(...state.notified) : undefined;
}

/** `YYYY-MM` of a moment, in UTC. */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Epoch milliseconds of the first instant of the UTC month after the one containing `ms`. */
export function nextUtcMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** A fresh month: nothing notified, not frozen. */
export function freshMonth(month: string): MonthState {
  return { month, notified: [], forecastWarned: false, frozen: false };
}
