import {
  ApplicationFailure,
  patched,
  proxyActivities,
  type RetryPolicy,
  setHandler,
} from '@temporalio/workflow';
import type { createNotifyActivities } from '../../activities/notify';
import type { createOrgBootstrapActivities } from '../../activities/org';
import { ErrorType, FREEZE_POLICY_NAME, NON_RETRYABLE_ERROR_TYPES } from '../../lib/names';
import { planDifference, planOrg, waves } from '../../lib/org/plan';
import {
  type OrgBootstrapInput,
  type OrgBootstrapResult,
  type OrgDriftInput,
  type OrgProgress,
  orgProgressQuery,
} from '../../lib/contracts/org';
import {
  type DesiredOrg,
  type LiveConnectorCredentials,
  type LiveOrg,
  type OrgPlan,
  type PlanStep,
  targetRef,
} from '../../lib/org/types';

/** Runs from before the budget freeze's AWS-side backstop read none of it, and plan none of it. */
const BACKSTOP_PATCH = 'budget-backstop';
/** Runs from before the connector credentials role read none of it, and plan none of it. */
const CONNECTOR_CREDENTIALS_PATCH = 'connector-credentials-role';

type OrgActivities = ReturnType<typeof createOrgBootstrapActivities>;

const retry: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/** Reads are bounded, so `sv0 org plan` fails with the cause rather than waiting forever on an unreachable AWS. */
const reads = proxyActivities<OrgActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { ...retry, maximumAttempts: 5 },
});
/** Each step is idempotent, so retries are safe; throttling and 5xx back off up to a minute apart. */
const steps = proxyActivities<OrgActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { ...retry, maximumAttempts: 10 },
});
/** CreateAccount and assignments are asynchronous in AWS: the activity polls and heartbeats the request id. */
const waits = proxyActivities<OrgActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { ...retry, maximumAttempts: 20 },
});
const { notify } = proxyActivities<ReturnType<typeof createNotifyActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { ...retry, maximumAttempts: 10 },
});

/** Read the organization as it is now, through activities (accounts first: the rest is read per account). */
async function readLiveOrg(desired: DesiredOrg): Promise<LiveOrg> {
  const org = await reads.orgReadOrganization({ desired });
  const accountIds = [{ name: 'management', id: org.managementAccountId }];
  for (const d of desired.accounts) {
    const found =
      org.accounts.find((a) => a.name === d.name) ??
      org.accounts.find((a) => a.email.toLowerCase() === d.email.toLowerCase());
    if (found) accountIds.push({ name: d.name, id: found.id });
  }
  // FreezeAccount denies OrganizationAccountAccessRole there: a frozen account's roles are not read.
  const frozen = (account: string) =>
    org.attachments.some((x) => x.policy === FREEZE_POLICY_NAME && x.target === targetRef.account(account));
  const roles = desired.roles.flatMap((r) => {
    const id = accountIds.find((a) => a.name === r.account)?.id;
    return id ? [{ account: r.account, accountId: id, name: r.name, frozen: frozen(r.account) }] : [];
  });
  const alerts = desired.budgetAlerts;
  const backstopRead =
    alerts && patched(BACKSTOP_PATCH)
      ? reads.orgReadBackstop({
          topic: alerts.topic,
          freezeRole: alerts.freezeRole,
          budgets: desired.budgets.map((b) => b.name),
          ...(desired.cost.anomalyMonitor ? { anomalyMonitor: desired.cost.anomalyMonitor.name } : {}),
        })
      : undefined;
  const connectorCredentialsRead = readConnectorCredentials(desired, accountIds, frozen);
  const [liveRoles, budgets, ic, cost, backstop, connectorCredentials] = await Promise.all([
    reads.orgReadRoles({ roles }),
    reads.orgReadBudgets(),
    desired.identityCenter
      ? reads.orgReadIdentityCenter({ desired: desired.identityCenter, accounts: accountIds })
      : Promise.resolve({ notes: [] }),
    reads.orgReadCost({ tagKeys: desired.cost.allocationTags }),
    backstopRead,
    connectorCredentialsRead,
  ]);
  return {
    ...org,
    roles: liveRoles,
    budgets,
    ...('identityCenter' in ic && ic.identityCenter ? { identityCenter: ic.identityCenter } : {}),
    cost: cost.cost,
    ...(backstop ? { backstop: backstop.backstop } : {}),
    ...(connectorCredentials ? { connectorCredentials } : {}),
    notes: [...org.notes, ...ic.notes, ...cost.notes, ...(backstop?.notes ?? [])],
  };
}

/**
 * The connector credentials role as it is, when org.yaml declares one: not there when its account
 * does not exist yet (this plan creates both), not read in a frozen account.
 */
function readConnectorCredentials(
  desired: DesiredOrg,
  accountIds: { name: string; id: string }[],
  frozen: (account: string) => boolean,
): Promise<LiveConnectorCredentials> | undefined {
  const want = desired.connectorCredentials;
  if (!want || !patched(CONNECTOR_CREDENTIALS_PATCH)) return undefined;
  const accountId = accountIds.find((a) => a.name === want.account)?.id;
  if (!accountId) return Promise.resolve({ exists: false });
  if (frozen(want.account)) return Promise.resolve({ exists: false, frozen: true });
  return reads.orgReadConnectorCredentialsRole({ accountId, role: want.role });
}

/** One plan step, through the activity that does that kind of change. */
function applyStep(step: PlanStep): Promise<unknown> {
  switch (step.kind) {
    case 'createOrganization':
      return steps.orgCreateOrganization(step);
    case 'enableScpType':
      return steps.orgEnableScpType(step);
    case 'createOu':
      return steps.orgCreateOu(step);
    case 'createAccount':
      return waits.orgCreateAccount(step);
    case 'moveAccount':
      return steps.orgMoveAccount(step);
    case 'tagAccount':
      return steps.orgTagAccount(step);
    case 'createPolicy':
    case 'updatePolicy':
      return steps.orgPutPolicy(step);
    case 'attachPolicy':
      return steps.orgAttachPolicy(step);
    case 'detachPolicy':
      return steps.orgDetachPolicy(step);
    case 'enableTagPolicyType':
      return steps.orgEnableTagPolicyType(step);
    case 'createTagPolicy':
    case 'updateTagPolicy':
      return steps.orgPutTagPolicy(step);
    case 'attachTagPolicy':
      return steps.orgAttachTagPolicy(step);
    case 'detachTagPolicy':
      return steps.orgDetachTagPolicy(step);
    case 'ensureRole':
      return steps.orgEnsureRole(step);
    case 'createBudget':
      return steps.orgCreateBudget(step);
    case 'updateBudget':
      return steps.orgUpdateBudget(step);
    case 'createBudgetNotification':
      return steps.orgCreateBudgetNotification(step);
    case 'createUser':
      return steps.orgCreateUser(step);
    case 'ensurePermissionSet':
      return steps.orgEnsurePermissionSet(step);
    case 'createAssignment':
      return waits.orgCreateAssignment(step);
    case 'activateCostAllocationTags':
      return steps.orgActivateCostAllocationTags(step);
    case 'createAnomalyMonitor':
      return steps.orgCreateAnomalyMonitor(step);
    case 'ensureAlertsTopic':
      return steps.orgEnsureAlertsTopic(step);
    case 'ensureFreezeRole':
      return steps.orgEnsureFreezeRole(step);
    case 'ensureConnectorCredentialsRole':
      return steps.orgEnsureConnectorCredentialsRole(step);
    case 'subscribeBudgetAlerts':
      return steps.orgSubscribeBudgetAlerts(step);
    case 'ensureFreezeAction':
      return steps.orgEnsureFreezeAction(step);
    case 'ensureAnomalySubscription':
      return steps.orgEnsureAnomalySubscription(step);
  }
}

/**
 * The org bootstrap as one durable run: read the live organization, plan, and (unless a dry run)
 * apply the plan wave by wave, the steps of a wave in parallel. Workflow id
 * `org-bootstrap-<managementAccountId>`, so two bootstraps never run at once.
 */
export async function orgBootstrapWorkflow(input: OrgBootstrapInput): Promise<OrgBootstrapResult> {
  const progress: OrgProgress = { phase: 'reading', total: 0, done: [], running: [], left: [] };
  setHandler(orgProgressQuery, () => progress);

  const live = await readLiveOrg(input.desired);
  const plan = planOrg(live, input.desired);
  progress.phase = 'planned';
  progress.total = plan.steps.length;
  progress.left = plan.steps.map((s) => s.id);
  if (input.dryRun) return { dryRun: true, plan, applied: [] };

  if (input.approvedSteps) {
    const difference = planDifference(input.approvedSteps, plan.steps);
    if (difference) {
      progress.phase = 'failed';
      throw ApplicationFailure.nonRetryable(
        `the live organization no longer gives the plan you approved (${difference}); run \`sv0 org plan\` and approve the new plan`,
        ErrorType.PlanChanged,
      );
    }
  }

  progress.phase = 'applying';
  for (const wave of waves(plan.steps)) {
    const results = await Promise.allSettled(
      wave.map(async (step) => {
        progress.left = progress.left.filter((id) => id !== step.id);
        progress.running.push(step.id);
        try {
          await applyStep(step);
          progress.done.push(step.id);
        } catch (err) {
          progress.failed ??= { step: step.id, message: (err as Error).message };
          throw err;
        } finally {
          progress.running = progress.running.filter((id) => id !== step.id);
        }
      }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      progress.phase = 'failed';
      throw failure.reason;
    }
  }
  progress.phase = 'done';
  return { dryRun: false, plan, applied: [...progress.done] };
}

/**
 * The drift check (Schedule `org-drift`): plan against the live organization and notify when the
 * plan is not empty. FreezeAccount attachments are the budget guard's, so never drift.
 */
export async function orgDriftWorkflow(input: OrgDriftInput): Promise<OrgPlan> {
  const plan = planOrg(await readLiveOrg(input.desired), input.desired);
  if (plan.steps.length > 0) {
    await notify({
      sinks: input.sinks,
      notification: {
        event: 'org.drift',
        severity: 'warning',
        title: `AWS Organization drift: ${plan.steps.length} change(s) to converge`,
        text: [
          ...plan.steps.map((s) => `- ${s.summary}`),
          'Run `sv0 org plan` to review and `sv0 org apply` to converge.',
        ].join('\n'),
        fields: {
          managementAccount: plan.managementAccountId,
          steps: plan.steps.length,
          frozen: plan.frozen.join(', ') || 'none',
        },
      },
    });
  }
  return plan;
}
