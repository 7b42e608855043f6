import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { createBudgetActivities, FreezeActionState } from '../../activities/budget/guard';
import type { createDemoControlActivities } from '../../activities/demo/control';
import type { createNotifyActivities } from '../../activities/notify';
import {
  AUDIT_KEEP,
  BUDGETS_ACTION_ACTOR,
  budgetAlertSignal,
  budgetStatusQuery,
  checkNowUpdate,
  freezeRequestProblem,
  freezeUpdate,
  GUARD_ACTOR,
  RECONFIGURE_BOUNDS_PATCH,
  reconfigureSignal,
  reconfigureWidening,
  ROLLOVER_ACTOR,
  unfreezeUpdate,
  type AuditEntry,
  type BudgetGuardConfig,
  type BudgetGuardInput,
  type BudgetGuardStatus,
  type FreezeRecord,
  type FreezeRequest,
  type SpendSnapshot,
  type UnfreezeRequest,
  unfreezeRequestProblem,
} from '../../lib/contracts/budget';
import {
  evaluateSpend,
  freshMonth,
  nextUtcMonthStart,
  utcMonth,
  type MonthState,
} from '../../lib/budget-escalation';
import {
  budgetGuardStatus,
  budgetNotices,
  budgetProblems,
  freezeReason,
  type BudgetNotice,
} from '../../lib/budget-messages';
import { parseDuration } from '../../lib/duration';
import { rootCauseMessage } from '../../lib/failures';
import { assertSandboxTarget } from '../../lib/sandbox';

const aws = proxyActivities<ReturnType<typeof createBudgetActivities>>({
  startToCloseTimeout: '1 minute',
  // Bounded, so that an AWS outage delays one check instead of holding the guard (and an unfreeze) forever.
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});
const demos = proxyActivities<ReturnType<typeof createDemoControlActivities>>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 5 },
});
const demoTeardown = proxyActivities<ReturnType<typeof createDemoControlActivities>>({
  // A demo's teardown deletes its stack and sweeps its tag; FreezeAccount exempts the
  // orchestrator's roles, so if this gives up, freezing anyway cannot strand a teardown.
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** The budget's AWS freeze action in an audit entry: its id and status, or why it was unreadable. */
function actionDetails(action: FreezeActionState | undefined): Record<string, string | boolean> {
  if (!action) return {};
  if ('unreadable' in action) return { budgetAction: `unreadable: ${action.unreadable}` };
  return {
    budgetAction: action.actionId,
    budgetActionStatus: action.status,
    ...(action.reversed !== undefined ? { budgetActionReversed: action.reversed } : {}),
  };
}

/**
 * One budget, watched for a whole UTC month: read actual and
 * forecasted spend hourly and whenever a budget alert arrives; notify once per threshold; warn when
 * the forecast passes 100 % first; at `freezeAt` on a sandbox account destroy the live demos
 * there, then attach FreezeAccount. An approval (update `unfreeze`) or the next month lifts the
 * freeze. Continues as new at each month start, carrying the freeze and the audit trail.
 */
export async function budgetGuardWorkflow(input: BudgetGuardInput): Promise<never> {
  let config: BudgetGuardConfig = {
    budget: input.budget,
    org: input.org,
    notifications: input.notifications,
    dryRun: input.dryRun,
  };
  let state: MonthState = input.carry?.state ?? freshMonth(utcMonth(Date.now()));
  let freeze: FreezeRecord | undefined = input.carry?.freeze;
  let lastReading: SpendSnapshot | undefined = input.carry?.lastReading;
  const audit: AuditEntry[] = [...(input.carry?.audit ?? [])];
  let lastCheckedAt: string | undefined;
  let nextCheckAt: string | undefined;
  /** What currently goes wrong, by kind; each is notified once when it appears, cleared when it is gone. */
  const problems: { read?: string; freeze?: string; rollover?: string } = {};
  let checksRequested = 0;
  let checksDone = 0;
  let busy = false;
  let closing = false;
  let dryRunMonth: string | undefined;

  const now = () => new Date(Date.now()).toISOString();
  const name = () => config.budget.name;

  /** Checks, freezes and unfreezes run one at a time: an approval never races a freeze. */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await condition(() => !busy);
    busy = true;
    try {
      return await fn();
    } finally {
      busy = false;
    }
  }

  function record(entry: Omit<AuditEntry, 'at'>): void {
    audit.push({ at: now(), ...entry });
    if (audit.length > AUDIT_KEEP) audit.splice(0, audit.length - AUDIT_KEEP);
  }

  async function send(n: BudgetNotice): Promise<void> {
    const fields = { budget: name(), account: config.budget.account, month: state.month, ...n.fields };
    try {
      await notify({ notification: { ...n, fields }, sinks: config.notifications });
    } catch (err) {
      // A broken sink must not stop the guard; the history keeps the failure.
      log.warn('notification failed', { event: n.event, error: rootCauseMessage(err) });
    }
  }

  function status(): BudgetGuardStatus {
    return budgetGuardStatus({
      config,
      state,
      freeze,
      lastReading,
      lastCheckedAt,
      nextCheckAt,
      problems,
      audit,
    });
  }

  /**
   * Destroy the account's live demos, wait for their teardown, then attach FreezeAccount. `byHand`:
   * a person asked for it (`sv0 budget freeze`), recorded as who, why and from where.
   */
  async function freezeAccount(reason: string, byHand?: FreezeRequest): Promise<void> {
    const refreeze = state.approval !== undefined;
    const by = byHand?.by ?? GUARD_ACTOR;
    const origin = byHand?.origin ?? {};
    try {
      const target = await aws.resolveAccount({ accountName: config.budget.account });
      // Checked here too, before any demo is destroyed; the attach activity checks again live.
      assertSandboxTarget({ ...target, org: config.org });
      if (config.dryRun) {
        if (dryRunMonth === state.month && !byHand) return;
        dryRunMonth = state.month;
        await aws.attachFreezePolicy({ ...target, org: config.org, dryRun: true });
        record({
          action: 'freeze-dry-run',
          by,
          reason,
          accountId: target.accountId,
          ...(byHand?.origin ? { details: { ...byHand.origin } } : {}),
        });
        await send(budgetNotices.freezeDryRun(name(), target.accountName, reason));
        return;
      }
      const { workflowIds } = await demos.destroyDemosInAccount({
        accountId: target.accountId,
        reason: `budget freeze: ${reason}`,
      });
      if (workflowIds.length > 0) {
        let closed: Record<string, string> | undefined;
        try {
          closed = await demoTeardown.waitForDemosClosed({ workflowIds });
        } catch (err) {
          log.warn('demo teardown did not finish before the freeze', { error: rootCauseMessage(err) });
        }
        record({
          action: 'demos-destroyed',
          by,
          reason,
          accountId: target.accountId,
          details: { demos: workflowIds.join(','), teardown: closed ? 'finished' : 'still running' },
        });
      }
      const attached = await aws.attachFreezePolicy({ ...target, org: config.org, budgetName: name() });
      // Already attached, and the budget's AWS action says it did it: one freeze, applied by AWS.
      const action = attached.action && 'status' in attached.action ? attached.action : undefined;
      const appliedBy =
        !attached.changed && action?.status === 'EXECUTION_SUCCESS' ? BUDGETS_ACTION_ACTOR : GUARD_ACTOR;
      state.frozen = true;
      freeze = {
        accountId: target.accountId,
        accountName: target.accountName,
        at: now(),
        month: state.month,
        appliedBy,
      };
      problems.freeze = undefined;
      record({
        action: 'freeze',
        by,
        reason,
        accountId: target.accountId,
        details: {
          ...origin,
          policyId: attached.policyId,
          changed: attached.changed,
          refreeze,
          demosDestroyed: workflowIds.length,
          appliedBy,
          ...actionDetails(attached.action),
        },
      });
      await send(budgetNotices.frozen(name(), target, reason, workflowIds.length, refreeze, appliedBy));
    } catch (err) {
      const problem = budgetProblems.freeze(rootCauseMessage(err));
      // Tell people once per distinct problem; the next check tries again.
      if (problem !== problems.freeze) {
        record({ action: 'freeze-failed', by, reason: problem });
        await send(budgetNotices.freezeFailed(name(), config.budget.account, problem));
      }
      problems.freeze = problem;
    }
  }

  /** Detach FreezeAccount (an approval, or the month rollover without one) and record who and why. */
  async function lift(by: string, reason: string, approval?: UnfreezeRequest): Promise<void> {
    if (!freeze) return;
    const target = freeze;
    const origin = approval?.origin;
    try {
      const out = await aws.detachFreezePolicy({
        accountId: target.accountId,
        dryRun: config.dryRun,
        budgetName: name(),
      });
      freeze = undefined;
      state.frozen = false;
      if (approval)
        state.approval = {
          by,
          reason,
          at: now(),
          spendAtApproval: lastReading?.actual ?? 0,
          ...(origin ? { origin } : {}),
        };
      record({
        action: 'unfreeze',
        by,
        reason,
        accountId: target.accountId,
        details: { changed: out.changed, ...actionDetails(out.action), ...(origin ?? {}) },
      });
      await send(
        budgetNotices.unfrozen(
          name(),
          target,
          { by, reason, origin },
          approval !== undefined && config.budget.refreezeAfterApproval,
        ),
      );
    } catch (err) {
      record({
        action: 'unfreeze-failed',
        by,
        reason: `${reason}: ${rootCauseMessage(err)}`,
        accountId: target.accountId,
      });
      throw err;
    }
  }

  /** Lift a freeze from an earlier month; on failure the next check tries again. */
  async function liftAtRollover(): Promise<void> {
    try {
      await lift(ROLLOVER_ACTOR, `new month ${state.month}`);
      problems.rollover = undefined;
    } catch (err) {
      problems.rollover = budgetProblems.rollover(rootCauseMessage(err));
    }
  }

  /** A new UTC month: forget the thresholds and the approval, and lift a freeze. */
  async function rollover(month: string): Promise<void> {
    state = { ...freshMonth(month), frozen: state.frozen };
    await liftAtRollover();
  }

  /** Read spend and act on it: notify new thresholds, warn on the forecast, freeze at freezeAt. */
  async function check(): Promise<void> {
    if (freeze && freeze.month !== state.month) await liftAtRollover();
    const reading = await aws.readBudgetSpend({ budgetName: name() }).catch((err: unknown) => {
      problems.read = budgetProblems.read(rootCauseMessage(err));
      return undefined;
    });
    lastCheckedAt = now();
    if (!reading) return;
    if (!reading.found) {
      const problem = budgetProblems.missing(name());
      if (problem !== problems.read) await send(budgetNotices.missing(name(), problem));
      problems.read = problem;
      return;
    }
    problems.read = undefined;
    lastReading = {
      actual: reading.actual,
      forecast: reading.forecast,
      unit: reading.unit,
      readAt: reading.readAt,
    };
    const { amount } = config.budget;
    const d = evaluateSpend(config.budget, state, reading);
    if (d.newlyCrossed.length > 0) {
      const top = Math.max(...d.newlyCrossed);
      state.notified = [...state.notified, ...d.newlyCrossed].sort((a, b) => a - b);
      await send(budgetNotices.threshold(name(), top, d.percentUsed, reading.actual, amount, state.month));
    }
    if (d.forecastWarning) {
      state.forecastWarned = true;
      await send(budgetNotices.forecast(name(), reading, d, amount, state.month));
    }
    if (d.freeze) {
      await freezeAccount(freezeReason(reading.actual, d.percentUsed, amount, config.budget.freezeAt));
    } else if (d.freezeHeldBack && !state.frozen) {
      log.info('freeze held back', { reason: d.freezeHeldBack });
    }
  }

  setHandler(budgetStatusQuery, status);
  setHandler(budgetAlertSignal, (alert) => {
    log.info('budget alert', { source: alert.source, summary: alert.summary });
    checksRequested++;
  });
  setHandler(reconfigureSignal, (next) => {
    if (patched(RECONFIGURE_BOUNDS_PATCH)) {
      const widening = reconfigureWidening(config, next);
      if (widening) {
        log.warn('reconfigure refused', { reason: widening });
        record({ action: 'reconfigure-refused', by: GUARD_ACTOR, reason: widening });
        return;
      }
    }
    config = next;
    checksRequested++;
  });
  setHandler(checkNowUpdate, async () => {
    const ticket = ++checksRequested;
    await condition(() => checksDone >= ticket || closing);
    return status();
  });
  setHandler(
    freezeUpdate,
    async (request) => {
      await exclusive(async () => {
        if (!state.frozen) await freezeAccount(`frozen by hand by ${request.by}: ${request.reason}`, request);
      });
      return status();
    },
    {
      validator: (request) => {
        const problem = freezeRequestProblem(request);
        if (problem) throw new Error(problem);
        if (config.budget.freezeAt === undefined)
          throw new Error(
            `budget ${name()} has no freezeAt: account ${config.budget.account} is not one its guard freezes`,
          );
        if (state.frozen) throw new Error(`budget ${name()} is frozen already`);
      },
    },
  );
  setHandler(
    unfreezeUpdate,
    async (request) => {
      await exclusive(async () => {
        if (state.frozen) await lift(request.by, request.reason, request);
      });
      return status();
    },
    {
      validator: (request) => {
        const problem = unfreezeRequestProblem(request);
        if (problem) throw new Error(problem);
        if (!state.frozen) throw new Error(`budget ${name()} is not frozen`);
      },
    },
  );

  const month = utcMonth(Date.now());
  if (state.month !== month) await exclusive(() => rollover(month));

  const monthEnds = nextUtcMonthStart(Date.now());
  while (Date.now() < monthEnds && !workflowInfo().continueAsNewSuggested) {
    const ticket = checksRequested;
    await exclusive(check);
    checksDone = ticket;
    const wait = Math.max(
      1,
      Math.min(parseDuration(config.budget.checkInterval, 'checkInterval'), monthEnds - Date.now()),
    );
    nextCheckAt = new Date(Date.now() + wait).toISOString();
    await condition(() => checksRequested > checksDone, wait);
  }
  // A check asked for right at the month's end answers with the status as it is; the next run checks.
  closing = true;
  await condition(allHandlersFinished);
  return continueAsNew<typeof budgetGuardWorkflow>({
    ...config,
    carry: { state, audit, freeze, lastReading },
  });
}
