/**
 * What the budget guard tells people: its notifications and problem lines, and the status its
 * query answers. Pure, so the workflow reads like the runbook and the texts are tested without a
 * server. Each notification gets the budget, account and month fields when it is sent.
 */
import type { Notification } from './config/notifications';
import type {
  ApprovalOrigin,
  AuditEntry,
  BudgetGuardConfig,
  BudgetGuardStatus,
  FreezeRecord,
  SpendSnapshot,
  UnfreezeRequest,
} from './contracts/budget';
import { BUDGETS_ACTION_ACTOR, GUARD_ACTOR } from './contracts/budget';
import { levelReached, type MonthState } from './budget-escalation';

/** A notification before the guard adds its common fields. */
export type BudgetNotice = Omit<Notification, 'fields'> & { fields?: Notification['fields'] };

/** An amount as the messages print it: `$12.50`. */
export const usd = (n: number) => `$${n.toFixed(2)}`;

/** Percent of the budget, rounded to cents' worth of percent. */
const percentOf = (part: number, whole: number) => Math.round((part / whole) * 10000) / 100;

/** Why the guard freezes: actual spend at or above `freezeAt`. */
export function freezeReason(actual: number, percentUsed: number, amount: number, freezeAt?: number): string {
  return `actual spend ${usd(actual)} is ${percentUsed}% of ${usd(amount)}, at or above freezeAt ${freezeAt}%`;
}

/** Problem lines (`lastProblem`, the audit trail), each naming what failed and why. */
export const budgetProblems = {
  read: (cause: string) => `cannot read the budget: ${cause}`,
  missing: (budget: string) => `budget ${budget} does not exist in AWS Budgets; run \`sv0 org apply\``,
  freeze: (cause: string) => `freeze failed: ${cause}`,
  rollover: (cause: string) => `month-rollover unfreeze failed: ${cause}`,
};

/** The guard's notifications. */
export const budgetNotices = {
  threshold(
    budget: string,
    top: number,
    percentUsed: number,
    actual: number,
    amount: number,
    month: string,
  ): BudgetNotice {
    return {
      event: 'budget.threshold',
      severity: top >= 100 ? 'critical' : 'warning',
      title: `Budget ${budget}: ${percentUsed}% spent (threshold ${top}%)`,
      text: `Actual spend ${usd(actual)} of ${usd(amount)} this month (${month}).`,
      fields: { threshold: top, percentUsed, actual, amount },
    };
  },

  forecast(
    budget: string,
    reading: { actual: number; forecast?: number },
    d: { forecastPercent?: number; percentUsed: number },
    amount: number,
    month: string,
  ): BudgetNotice {
    return {
      event: 'budget.forecast',
      severity: 'warning',
      title: `Budget ${budget}: forecast ${d.forecastPercent}% of the budget`,
      text: `AWS forecasts ${usd(reading.forecast ?? 0)} of ${usd(amount)} by the end of ${month}; actual spend is ${usd(reading.actual)} (${d.percentUsed}%).`,
      fields: { forecastPercent: d.forecastPercent ?? 0, percentUsed: d.percentUsed },
    };
  },

  missing(budget: string, problem: string): BudgetNotice {
    return {
      event: 'budget.missing',
      severity: 'warning',
      title: `Budget ${budget} not found`,
      text: problem,
    };
  },

  freezeDryRun(budget: string, accountName: string, reason: string): BudgetNotice {
    return {
      event: 'budget.freeze-dry-run',
      severity: 'warning',
      title: `Budget ${budget}: would freeze ${accountName} (dry run)`,
      text: reason,
    };
  },

  frozen(
    budget: string,
    target: { accountId: string; accountName: string },
    reason: string,
    demosDestroyed: number,
    refreeze: boolean,
    appliedBy: FreezeRecord['appliedBy'] = GUARD_ACTOR,
  ): BudgetNotice {
    const attached =
      appliedBy === BUDGETS_ACTION_ACTOR
        ? `FreezeAccount had already been attached to ${target.accountName} (${target.accountId}) by the AWS Budgets action`
        : `FreezeAccount attached to ${target.accountName} (${target.accountId})`;
    return {
      event: 'budget.frozen',
      severity: 'critical',
      title: `Budget ${budget}: account ${target.accountName} frozen${refreeze ? ' again' : ''}`,
      text: `${reason}. ${demosDestroyed} live demo(s) destroyed${appliedBy === BUDGETS_ACTION_ACTOR ? '; ' : ', then '}${attached}. Unfreeze with \`sv0 budget unfreeze ${budget} --by WHO --reason TEXT\`; it lifts by itself at the next UTC month.`,
      fields: { accountId: target.accountId, demosDestroyed, appliedBy: appliedBy ?? GUARD_ACTOR },
    };
  },

  freezeFailed(budget: string, account: string, problem: string): BudgetNotice {
    return {
      event: 'budget.freeze-failed',
      severity: 'critical',
      title: `Budget ${budget}: could not freeze ${account}`,
      text: problem,
    };
  },

  unfrozen(
    budget: string,
    target: { accountId: string; accountName: string },
    approval: UnfreezeRequest,
    mayRefreeze: boolean,
  ): BudgetNotice {
    const { by, reason, origin } = approval;
    return {
      event: 'budget.unfrozen',
      severity: 'warning',
      title: `Budget ${budget}: account ${target.accountName} unfrozen by ${by}`,
      text: `${reason}. FreezeAccount detached from ${target.accountName} (${target.accountId}).${
        origin ? ` ${approvalOrigin(origin)}.` : ''
      }${mayRefreeze ? ' It freezes again if spend keeps rising this month.' : ''}`,
      fields: { accountId: target.accountId, by, ...(origin ?? {}) },
    };
  },
};

/** An approval's origin for people, saying plainly that it is what the client reported. */
export function approvalOrigin(origin: ApprovalOrigin): string {
  return `Sent as OS user ${origin.osUser} from host ${origin.host} (self-reported by the client)`;
}

/** What the guard knows at a moment, from which its status is projected. */
export interface BudgetGuardView {
  config: BudgetGuardConfig;
  state: MonthState;
  freeze?: FreezeRecord;
  lastReading?: SpendSnapshot;
  lastCheckedAt?: string;
  nextCheckAt?: string;
  problems: { read?: string; freeze?: string; rollover?: string };
  audit: readonly AuditEntry[];
}

/** The answer of the `status` query (and the `check` / `unfreeze` updates). */
export function budgetGuardStatus(view: BudgetGuardView): BudgetGuardStatus {
  const { config, state, lastReading } = view;
  const amount = config.budget.amount;
  return {
    budget: config.budget.name,
    account: config.budget.account,
    amount,
    month: state.month,
    spend: lastReading,
    percentUsed: lastReading ? percentOf(lastReading.actual, amount) : undefined,
    forecastPercent:
      lastReading?.forecast !== undefined ? percentOf(lastReading.forecast, amount) : undefined,
    levelReached: levelReached(state),
    freezeAt: config.budget.freezeAt,
    frozen: state.frozen,
    freeze: view.freeze,
    approval: state.approval,
    lastCheckedAt: view.lastCheckedAt,
    nextCheckAt: view.nextCheckAt,
    lastProblem: Object.values(view.problems).filter(Boolean).join('; ') || undefined,
    audit: [...view.audit],
  };
}
