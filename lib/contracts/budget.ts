import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BudgetConfig } from '../config/budgets';
import type { NotificationsConfig } from '../config/notifications';
import type { MonthState } from '../budget-escalation';
import type { SandboxOrg } from '../sandbox';
import { SearchAttributes } from '../names';

/**
 * The contract of a budget guard shared by the workflow, the CLI, the SNS alert bridge and the
 * tests: input, status, signal/update/query definitions and the search attribute key. The workflow
 * imports it, so it imports no zod and no config schema (values); the schemas of the activity
 * inputs are in lib/contracts/budget-inputs.ts.
 */

/** The validated configuration a guard runs with; `sv0 up` passes it, `reconfigure` replaces it. */
export interface BudgetGuardConfig {
  budget: BudgetConfig;
  /** Accounts of config/org.yaml (name + sandbox), for the sandbox check before a freeze. */
  org: SandboxOrg;
  notifications: NotificationsConfig['sinks'];
  /** Decide and notify, but destroy no demo and attach no SCP. @default false */
  dryRun?: boolean;
}

/** A freeze in force: which account, since when (`month` is the UTC month it was applied in). */
export interface FreezeRecord {
  accountId: string;
  accountName: string;
  at: string;
  month: string;
  /**
   * Who attached FreezeAccount: the guard, or the budget's AWS Budgets action before the guard
   * got there (the worker was down). Absent in records made before the action existed.
   */
  appliedBy?: typeof GUARD_ACTOR | typeof BUDGETS_ACTION_ACTOR;
}

/** One line of the audit trail: who did what, when and why. */
export interface AuditEntry {
  at: string;
  action:
    | 'freeze'
    | 'unfreeze'
    | 'demos-destroyed'
    | 'freeze-failed'
    | 'unfreeze-failed'
    | 'freeze-dry-run'
    | 'reconfigure-refused';
  /** A person (from an approval) or `budget-guard` / `month-rollover`. */
  by: string;
  reason: string;
  accountId?: string;
  details?: Record<string, string | number | boolean>;
}

/** What the guard carries from one run to the next (continue-as-new). */
export interface BudgetGuardCarry {
  state: MonthState;
  audit: AuditEntry[];
  freeze?: FreezeRecord;
  lastReading?: SpendSnapshot;
}

/** Input of `budgetGuardWorkflow`: the config, plus what a previous run carried over. */
export interface BudgetGuardInput extends BudgetGuardConfig {
  carry?: BudgetGuardCarry;
}

/** Spend as last read from the Budgets API. */
export interface SpendSnapshot {
  actual: number;
  forecast?: number;
  unit: string;
  readAt: string;
}

/** What the `status` query (and the `check` / `unfreeze` updates) answer. Times are ISO-8601 UTC. */
export interface BudgetGuardStatus {
  budget: string;
  account: string;
  amount: number;
  month: string;
  spend?: SpendSnapshot;
  percentUsed?: number;
  forecastPercent?: number;
  /** The highest notify threshold reached this month. */
  levelReached?: number;
  freezeAt?: number;
  frozen: boolean;
  freeze?: FreezeRecord;
  approval?: MonthState['approval'];
  lastCheckedAt?: string;
  nextCheckAt?: string;
  /** Why the last check could not read spend or act, if it could not. */
  lastProblem?: string;
  audit: AuditEntry[];
}

/** An AWS budget alert (via SNS) or an operator asks for a check now. */
export interface BudgetAlert {
  source: 'sns' | 'cli' | 'http';
  receivedAt: string;
  /** The alert's own text, shortened, for the history. */
  summary?: string;
}

/**
 * Where an approval was sent from, as the sending client reports it: the OS user and the host the
 * CLI ran on. Self-reported, like `by`: the server verifies neither unless it authenticates its
 * clients (mTLS or an authorizer, docs/budgets.md).
 */
export interface ApprovalOrigin {
  osUser: string;
  host: string;
}

/** Who approved the unfreeze and why (both required) and where from; all land in the audit trail. */
export interface UnfreezeRequest {
  by: string;
  reason: string;
  /** Filled in by `sv0 budget unfreeze`; absent when another client sent the update. */
  origin?: ApprovalOrigin;
}

/** Longest `by`, `reason`, OS user and host an approval may carry (they go into history and notifications). */
const APPROVAL_FIELD_MAX = 500;

/**
 * A freeze by hand (`sv0 budget freeze`): who and why (both required) and where from, recorded
 * exactly as an unfreeze's approval is.
 */
export type FreezeRequest = UnfreezeRequest;

/** Why a request of `verb` (unfreeze, freeze) is refused, or undefined. */
function requestProblem(request: unknown, verb: 'unfreeze' | 'freeze'): string | undefined {
  const r = (request ?? {}) as Partial<Record<keyof UnfreezeRequest, unknown>>;
  const text = (v: unknown) => typeof v === 'string' && v.trim() !== '' && v.length <= APPROVAL_FIELD_MAX;
  if (!text(r.by) || !text(r.reason))
    return `${verb} needs who ${verb === 'unfreeze' ? 'approves it' : 'asks for it'} (by) and why (reason), each at most ${APPROVAL_FIELD_MAX} characters`;
  if (r.origin !== undefined) {
    const o = r.origin as Partial<Record<keyof ApprovalOrigin, unknown>> | null;
    if (!o || !text(o.osUser) || !text(o.host))
      return `${verb} origin needs osUser and host, each at most ${APPROVAL_FIELD_MAX} characters`;
  }
  return undefined;
}

/**
 * Why an unfreeze request is refused, or undefined: `by` and `reason` are required, and every field
 * is a string of at most {@link APPROVAL_FIELD_MAX} characters. Read by the update's validator.
 */
export function unfreezeRequestProblem(request: unknown): string | undefined {
  return requestProblem(request, 'unfreeze');
}

/** The same rules for a freeze by hand. */
export function freezeRequestProblem(request: unknown): string | undefined {
  return requestProblem(request, 'freeze');
}

export const budgetStatusQuery = defineQuery<BudgetGuardStatus>('status');
/** A budget alert arrived: read spend now. */
export const budgetAlertSignal = defineSignal<[BudgetAlert]>('budgetAlert');
/**
 * Replace the guard's config (sent by `sv0 up` with signalWithStart) and check again. A config that
 * would widen what the guard may destroy or freeze ({@link reconfigureWidening}) is refused: the
 * guard keeps its config and records the refusal in its audit trail.
 */
export const reconfigureSignal = defineSignal<[BudgetGuardConfig]>('reconfigure');

/** The patch id under which guards refuse widening reconfigures (histories from before replay without it). */
export const RECONFIGURE_BOUNDS_PATCH = 'guard-reconfigure-bounds';

/**
 * Why `next` would widen what a running guard may destroy or freeze, or undefined: another
 * budget, another account (its demos destroyed, it frozen) or a freeze where the guard had none.
 * Such a change needs a new guard (terminate `budget-<name>` and run `sv0 up`), never a signal
 * that anyone reaching the namespace can send.
 */
export function reconfigureWidening(current: BudgetGuardConfig, next: BudgetGuardConfig): string | undefined {
  const was = current.budget;
  const now = next?.budget as Partial<BudgetConfig> | undefined;
  if (!now || typeof now !== 'object') return 'reconfigure refused: no budget in the new config';
  if (now.name !== was.name)
    return `reconfigure refused: the guard watches budget ${was.name}, not ${String(now.name)}`;
  if (now.account !== was.account)
    return `reconfigure refused: budget ${was.name} belongs to ${was.account}; moving it to ${String(now.account)} needs a new guard (terminate budget-${was.name} and run sv0 up)`;
  if (was.freezeAt === undefined && now.freezeAt !== undefined)
    return `reconfigure refused: budget ${was.name} never freezes; adding freezeAt needs a new guard (terminate budget-${was.name} and run sv0 up)`;
  return undefined;
}
/** Evaluate now; answers the status after that check. */
export const checkNowUpdate = defineUpdate<BudgetGuardStatus, []>('check');
/** Detach FreezeAccount with an approval; rejected when not frozen. */
export const unfreezeUpdate = defineUpdate<BudgetGuardStatus, [UnfreezeRequest]>('unfreeze');
/**
 * Freeze the budget's account by hand now (quarantine): the live demos there are destroyed, then
 * FreezeAccount is attached, as at `freezeAt`. Rejected when frozen already or the budget has no
 * `freezeAt`; lifted like any freeze (unfreeze, month rollover).
 */
export const freezeUpdate = defineUpdate<BudgetGuardStatus, [FreezeRequest]>('freeze');

/** Typed search attribute key: the budget's name. */
export const BudgetSearchAttributes = {
  budget: defineSearchAttributeKey(SearchAttributes.budget, SearchAttributeType.KEYWORD),
} as const;

/** How many audit entries a guard keeps across months (older ones remain in earlier runs' histories). */
export const AUDIT_KEEP = 100;

/** Who acts when no person does. */
export const GUARD_ACTOR = 'budget-guard';
export const ROLLOVER_ACTOR = 'month-rollover';
/** The AWS Budgets action that attaches FreezeAccount at `freezeAt` when the worker is down. */
export const BUDGETS_ACTION_ACTOR = 'aws-budgets-action';
