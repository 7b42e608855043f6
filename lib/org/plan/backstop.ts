/**
 * The AWS-side backstop of the budget freeze: the alerts topic (budgets and the anomaly monitor
 * publish to it), the subscriptions of each budget's notifications, the role AWS Budgets assumes,
 * and one APPLY_SCP_POLICY action per budget with `freezeAt`, which attaches FreezeAccount to the
 * sandbox account at that threshold when the worker is not running. Planned only when the live
 * backstop was read (results recorded before it existed plan nothing here).
 */
import { FREEZE_POLICY_NAME } from '../../names';
import {
  alertsTopicArn,
  alertsTopicPolicy,
  anomalySubscriptionName,
  budgetsFreezeRolePolicy,
  budgetsFreezeTrustPolicy,
  managementRoleArn,
} from '../backstop';
import type { DesiredBudget, DesiredOrg, LiveBudgetAction, LiveOrg } from '../types';
import { findAccount, sameDocument, step, type PlanDraft } from './steps';

/** The statuses in which the action has attached FreezeAccount (or is doing so). */
const APPLIED = new Set(['EXECUTION_IN_PROGRESS', 'EXECUTION_SUCCESS', 'REVERSE_FAILURE']);

/** The budget alerts topic every notification goes to, when the backstop is planned. */
export function plannedAlertsTopic(live: LiveOrg, desired: DesiredOrg): string | undefined {
  return live.backstop && desired.budgetAlerts ? desired.budgetAlerts.topic : undefined;
}

/** Plan the topic, the subscriptions, the freeze role, the freeze actions and the anomaly subscription. */
export function planBackstop(live: LiveOrg, desired: DesiredOrg, plan: PlanDraft): void {
  const b = live.backstop;
  const want = desired.budgetAlerts;
  // Nothing would publish to the topic: no budget and no anomaly monitor declared.
  if (!b || !want || (desired.budgets.length === 0 && !desired.cost.anomalyMonitor)) return;
  const mgmt = live.managementAccountId;
  const topicArn = alertsTopicArn(mgmt, want.topic);

  if (
    !b.topic.exists ||
    !b.topic.policy ||
    !sameDocument(b.topic.policy, alertsTopicPolicy(mgmt, topicArn))
  ) {
    plan.steps.push(
      step(
        { kind: 'ensureAlertsTopic', topic: want.topic },
        want.topic,
        `${b.topic.exists ? 'set the access policy of' : 'create'} SNS topic ${want.topic} (AWS Budgets and Cost Anomaly Detection publish to it)`,
      ),
    );
  }

  // Notifications that exist now get the topic; new budgets and notifications are created with it.
  for (const d of b.subscribed ? desired.budgets : []) {
    const found = live.budgets.find((l) => l.name === d.name);
    if (!found) continue;
    const have = b.subscribed?.[d.name] ?? [];
    const missing = d.notify.filter((t) => found.notify.includes(t) && !have.includes(t));
    if (missing.length > 0)
      plan.steps.push(
        step(
          { kind: 'subscribeBudgetAlerts', budget: d.name, thresholds: missing, topic: want.topic },
          d.name,
          `send the notifications of budget ${d.name} at ${missing.join(', ')} % to SNS topic ${want.topic}`,
        ),
      );
  }

  const freezing = desired.budgets.filter(
    (d): d is DesiredBudget & { freezeAt: number } => d.freezeAt !== undefined,
  );
  const sandboxAccounts = desired.accounts.filter((a) => a.sandbox).map((a) => a.name);
  const frozenAccounts = [...new Set(freezing.map((d) => d.scope))];
  if (freezing.length > 0) planFreezeRole(live, want.freezeRole, frozenAccounts, plan);

  if (b.actions) planFreezeActions(live, desired, b.actions, freezing, sandboxAccounts, plan);
  planAnomalySubscription(desired, b, topicArn, want.topic, plan);
}

/** One automatic APPLY_SCP_POLICY action per budget with `freezeAt`, as declared; the others reported. */
function planFreezeActions(
  live: LiveOrg,
  desired: DesiredOrg,
  liveActions: LiveBudgetAction[],
  freezing: (DesiredBudget & { freezeAt: number })[],
  sandboxAccounts: string[],
  plan: PlanDraft,
): void {
  const want = desired.budgetAlerts!;
  const mgmt = live.managementAccountId;
  const roleArn = managementRoleArn(mgmt, want.freezeRole);
  const freezePolicyId = live.policies.find((p) => p.name === FREEZE_POLICY_NAME && !p.awsManaged)?.id;
  const declared = new Set(freezing.map((d) => d.name));
  for (const d of freezing) {
    const accountId = findAccount(live, d.scope)?.id;
    const actions = liveActions.filter((a) => a.budget === d.name && a.actionType === 'APPLY_SCP_POLICY');
    const action = actions[0];
    const base = {
      kind: 'ensureFreezeAction' as const,
      budget: d.name,
      account: d.scope,
      freezeAt: d.freezeAt,
      role: want.freezeRole,
      topic: want.topic,
      subscribers: d.subscribers,
      sandboxAccounts,
    };
    if (!action) {
      plan.steps.push(
        step(
          base,
          d.name,
          `create the AWS Budgets action of ${d.name}: at ${d.freezeAt} % attach ${FREEZE_POLICY_NAME} to ${d.scope}, automatically (the backstop when the worker is down)`,
        ),
      );
      continue;
    }
    for (const extra of actions.slice(1))
      plan.undeclared.push({
        kind: 'budget-action',
        name: `${d.name}/${extra.actionId}`,
        detail: extra.status,
      });
    const differences = actionDifferences(action, {
      freezeAt: d.freezeAt,
      policyId: freezePolicyId,
      accountId,
      roleArn,
      topicArn: alertsTopicArn(mgmt, want.topic),
    });
    if (differences.length > 0)
      plan.steps.push(
        step(
          { ...base, actionId: action.actionId },
          d.name,
          `update the AWS Budgets action of ${d.name}: ${differences.join('; ')}`,
        ),
      );
    if (APPLIED.has(action.status))
      plan.notes.push(
        `the AWS Budgets action of ${d.name} is ${action.status}: ${FREEZE_POLICY_NAME} was attached to ${d.scope} by AWS Budgets; \`sv0 budget unfreeze ${d.name}\` reverses it`,
      );
    else if (action.status !== 'STANDBY' && action.status !== 'REVERSE_SUCCESS')
      plan.notes.push(`the AWS Budgets action of ${d.name} is ${action.status}`);
  }
  for (const a of liveActions)
    if (!declared.has(a.budget))
      plan.undeclared.push({
        kind: 'budget-action',
        name: `${a.budget}/${a.actionId}`,
        detail: a.actionType,
      });
}

/** Create the freeze role, or bring its trust and permissions to the declared ones. */
function planFreezeRole(live: LiveOrg, role: string, accounts: string[], plan: PlanDraft): void {
  const b = live.backstop!;
  const mgmt = live.managementAccountId;
  const action = { kind: 'ensureFreezeRole' as const, role, sandboxAccounts: accounts };
  if (!b.freezeRole.exists) {
    plan.steps.push(
      step(
        { ...action, create: true },
        role,
        `create role ${role} in the management account: AWS Budgets attaches ${FREEZE_POLICY_NAME} to ${accounts.join(', ')} with it`,
      ),
    );
    return;
  }
  const ids = accounts.map((a) => findAccount(live, a)?.id);
  const known = ids.every((id): id is string => id !== undefined);
  const trustOk =
    b.freezeRole.trustPolicy !== undefined &&
    sameDocument(b.freezeRole.trustPolicy, budgetsFreezeTrustPolicy(mgmt));
  // An account created by this same apply: its id is written in by the activity.
  const policyOk =
    known &&
    b.freezeRole.policy !== undefined &&
    sameDocument(b.freezeRole.policy, budgetsFreezeRolePolicy(mgmt, ids));
  if (!trustOk || !policyOk)
    plan.steps.push(
      step(
        { ...action, create: false },
        role,
        `update role ${role}: ${[!trustOk ? 'trust policy' : '', !policyOk ? 'permissions' : ''].filter(Boolean).join(' and ')}`,
      ),
    );
}

/** What differs between a live freeze action and the declared one, for the plan. */
function actionDifferences(
  a: LiveBudgetAction,
  want: { freezeAt: number; policyId?: string; accountId?: string; roleArn: string; topicArn: string },
): string[] {
  const out: string[] = [];
  if (a.threshold !== want.freezeAt || a.thresholdType !== 'PERCENTAGE')
    out.push(
      `threshold ${a.threshold}${a.thresholdType === 'PERCENTAGE' ? ' %' : ` ${a.thresholdType}`} -> ${want.freezeAt} %`,
    );
  if (a.notificationType !== 'ACTUAL') out.push(`${a.notificationType} -> ACTUAL spend`);
  if (a.approvalModel !== 'AUTOMATIC') out.push(`approval ${a.approvalModel} -> AUTOMATIC`);
  if (want.policyId && a.policyId !== want.policyId)
    out.push(`policy ${a.policyId ?? 'none'} -> ${FREEZE_POLICY_NAME}`);
  if (want.accountId && (a.targetIds.length !== 1 || a.targetIds[0] !== want.accountId))
    out.push(`targets ${a.targetIds.join(', ') || 'none'} -> ${want.accountId}`);
  if (a.executionRoleArn !== want.roleArn) out.push(`role -> ${want.roleArn}`);
  if (!a.subscribers.includes(want.topicArn)) out.push('subscribers: add the alerts topic');
  return out;
}

/** The anomaly monitor's subscription that publishes to the alerts topic. */
function planAnomalySubscription(
  desired: DesiredOrg,
  b: NonNullable<LiveOrg['backstop']>,
  topicArn: string,
  topic: string,
  plan: PlanDraft,
): void {
  const monitor = desired.cost.anomalyMonitor;
  if (!monitor || !b.anomalySubscriptions) return;
  const name = anomalySubscriptionName(monitor.name);
  const found = b.anomalySubscriptions.find((s) => s.name === name);
  if (found?.sns.includes(topicArn)) return;
  const alertAboveUsd = monitor.alertAboveUsd ?? 10;
  plan.steps.push(
    step(
      { kind: 'ensureAnomalySubscription', name, monitor: monitor.name, topic, alertAboveUsd },
      name,
      `${found ? 'update' : 'create'} Cost Anomaly Detection subscription ${name}: anomalies of monitor ${monitor.name} with a total impact of $${alertAboveUsd} or more go to SNS topic ${topic}`,
    ),
  );
}
