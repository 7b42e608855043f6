import {
  type Action,
  type BudgetsClient,
  CreateBudgetActionCommand,
  DescribeBudgetActionsForAccountCommand,
  DescribeBudgetActionsForBudgetCommand,
  DescribeNotificationsForBudgetCommand,
  DescribeSubscribersForNotificationCommand,
  type Subscriber,
  UpdateBudgetActionCommand,
} from '@aws-sdk/client-budgets';
import {
  type CostExplorerClient,
  CreateAnomalySubscriptionCommand,
  GetAnomalyMonitorsCommand,
  GetAnomalySubscriptionsCommand,
  UpdateAnomalySubscriptionCommand,
} from '@aws-sdk/client-cost-explorer';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType, FREEZE_POLICY_NAME } from '../../lib/names';
import {
  alertsTopicArn,
  alertsTopicPolicy,
  BUDGETS_FREEZE_POLICY_NAME,
  budgetsFreezeRolePolicy,
  budgetsFreezeTrustPolicy,
  managementRoleArn,
} from '../../lib/org/backstop';
import type { LiveBackstop, LiveBudgetAction, PlanStep } from '../../lib/org/types';
import { assertSandboxTarget } from '../../lib/sandbox';
import { aws, readUnlessLocallyUnavailable } from '../aws/errors';
import { ensureRoleWithPolicy, readIfThere, readRoleWithPolicy } from '../aws/ensure';
import { addTopicSubscriber } from './budgets';
import { orgLookup } from './lookup';

export interface OrgBackstopDeps {
  /** Budgets, SNS and Cost Explorer clients in the management account, us-east-1. */
  budgets: BudgetsClient;
  sns: SNSClient;
  ce: Pick<CostExplorerClient, 'send'>;
  organizations: OrganizationsClient;
  sts: STSClient;
  iamFor(accountId: string): Promise<IAMClient>;
  /** True against moto, which has no anomaly subscriptions: the read notes it instead of failing. */
  localEndpoint: () => Promise<boolean>;
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/** The SNS subscriber of a budget notification or action. */
export function topicSubscriber(topicArn: string): Subscriber {
  return { SubscriptionType: 'SNS', Address: topicArn };
}

/** A Budgets action as the planner reads it. */
export function liveAction(a: Action): LiveBudgetAction {
  const scp = a.Definition?.ScpActionDefinition;
  return {
    budget: a.BudgetName ?? '',
    actionId: a.ActionId ?? '',
    actionType: String(a.ActionType ?? ''),
    notificationType: String(a.NotificationType ?? ''),
    threshold: a.ActionThreshold?.ActionThresholdValue ?? 0,
    thresholdType: String(a.ActionThreshold?.ActionThresholdType ?? ''),
    approvalModel: String(a.ApprovalModel ?? ''),
    status: String(a.Status ?? ''),
    ...(scp?.PolicyId ? { policyId: scp.PolicyId } : {}),
    targetIds: scp?.TargetIds ?? [],
    executionRoleArn: a.ExecutionRoleArn ?? '',
    subscribers: (a.Subscribers ?? []).map((s) => s.Address ?? ''),
  };
}

/**
 * The AWS side of the budget freeze, created by the org bootstrap: the alerts topic, the
 * notifications' SNS subscriptions, the role AWS Budgets assumes, one APPLY_SCP_POLICY action per
 * budget with `freezeAt`, and the anomaly monitor's subscription. Every step is idempotent.
 */
export function createOrgBackstopActivities(deps: OrgBackstopDeps) {
  const { budgets, sns, ce } = deps;
  const lookup = orgLookup(deps.organizations);

  async function managementAccountId(): Promise<string> {
    return (await aws('GetCallerIdentity', () => deps.sts.send(new GetCallerIdentityCommand({})))).Account!;
  }

  // moto cannot answer budget actions, notification subscribers or anomaly subscriptions.
  const unlessUnavailable = readUnlessLocallyUnavailable(deps.localEndpoint);

  async function readActions(mgmt: string): Promise<LiveBudgetAction[]> {
    const out: LiveBudgetAction[] = [];
    let NextToken: string | undefined;
    do {
      const page = await budgets.send(
        new DescribeBudgetActionsForAccountCommand({ AccountId: mgmt, NextToken }),
      );
      out.push(...(page.Actions ?? []).map(liveAction));
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  return {
    /** The backstop as it is: topic and its policy, the freeze role, subscriptions, actions, anomaly subscriptions. */
    async orgReadBackstop(input: {
      topic: string;
      freezeRole: string;
      budgets: string[];
      anomalyMonitor?: string;
    }): Promise<{ backstop: LiveBackstop; notes: string[] }> {
      const mgmt = await managementAccountId();
      const notes: string[] = [];
      const arn = alertsTopicArn(mgmt, input.topic);
      const attrs = await readIfThere(`SNS topic ${input.topic}`, () =>
        sns.send(new GetTopicAttributesCommand({ TopicArn: arn })),
      );
      const policy = attrs?.Attributes?.Policy;
      const topic: LiveBackstop['topic'] = {
        arn,
        exists: attrs !== undefined,
        ...(policy ? { policy } : {}),
      };
      const freezeRole = await readRoleWithPolicy(await deps.iamFor(mgmt), {
        name: input.freezeRole,
        policyName: BUDGETS_FREEZE_POLICY_NAME,
        what: `role ${input.freezeRole}`,
      });

      const subscribed = await unlessUnavailable(
        'Budgets DescribeSubscribersForNotification',
        async () => {
          const out: Record<string, number[]> = {};
          for (const name of input.budgets) {
            const list = await readIfThere(`notifications of budget ${name}`, () =>
              budgets.send(new DescribeNotificationsForBudgetCommand({ AccountId: mgmt, BudgetName: name })),
            );
            const thresholds: number[] = [];
            for (const n of list?.Notifications ?? []) {
              const subs = await budgets.send(
                new DescribeSubscribersForNotificationCommand({
                  AccountId: mgmt,
                  BudgetName: name,
                  Notification: n,
                }),
              );
              if ((subs.Subscribers ?? []).some((s) => s.SubscriptionType === 'SNS' && s.Address === arn))
                thresholds.push(n.Threshold ?? 0);
            }
            out[name] = thresholds.sort((a, b) => a - b);
          }
          return out;
        },
        notes,
      );
      const actions = await unlessUnavailable(
        'Budgets DescribeBudgetActionsForAccount',
        () => readActions(mgmt),
        notes,
      );
      const anomalySubscriptions = input.anomalyMonitor
        ? await unlessUnavailable(
            'Cost Explorer GetAnomalySubscriptions',
            async () => {
              const out: NonNullable<LiveBackstop['anomalySubscriptions']> = [];
              let NextPageToken: string | undefined;
              do {
                const page = await ce.send(new GetAnomalySubscriptionsCommand({ NextPageToken }));
                for (const s of page.AnomalySubscriptions ?? [])
                  out.push({
                    name: s.SubscriptionName ?? '',
                    monitorArns: s.MonitorArnList ?? [],
                    sns: (s.Subscribers ?? []).filter((x) => x.Type === 'SNS').map((x) => x.Address ?? ''),
                  });
                NextPageToken = page.NextPageToken;
              } while (NextPageToken);
              return out;
            },
            notes,
          )
        : undefined;
      return {
        backstop: {
          topic,
          freezeRole,
          ...(subscribed ? { subscribed } : {}),
          ...(actions ? { actions } : {}),
          ...(anomalySubscriptions ? { anomalySubscriptions } : {}),
        },
        notes,
      };
    },

    /** Create the alerts topic (CreateTopic is idempotent by name) and set its access policy. */
    async orgEnsureAlertsTopic(step: Step<'ensureAlertsTopic'>): Promise<{ topicArn: string }> {
      const mgmt = await managementAccountId();
      const created = await aws(`create SNS topic ${step.topic}`, () =>
        sns.send(
          new CreateTopicCommand({ Name: step.topic, Tags: [{ Key: 'sv0:owner', Value: 'automated' }] }),
        ),
      );
      const topicArn = created.TopicArn ?? alertsTopicArn(mgmt, step.topic);
      await aws(`set the policy of SNS topic ${step.topic}`, () =>
        sns.send(
          new SetTopicAttributesCommand({
            TopicArn: topicArn,
            AttributeName: 'Policy',
            AttributeValue: alertsTopicPolicy(mgmt, topicArn),
          }),
        ),
      );
      return { topicArn };
    },

    /** Create the role AWS Budgets assumes for the freeze actions, or set its trust and permissions. */
    async orgEnsureFreezeRole(step: Step<'ensureFreezeRole'>): Promise<void> {
      const mgmt = await managementAccountId();
      const accounts = await lookup.accounts();
      const ids = step.sandboxAccounts.flatMap((name) => accounts.find((a) => a.Name === name)?.Id ?? []);
      await ensureRoleWithPolicy(await deps.iamFor(mgmt), {
        name: step.role,
        what: `role ${step.role}`,
        trustPolicy: budgetsFreezeTrustPolicy(mgmt),
        description: `AWS Budgets attaches ${FREEZE_POLICY_NAME} to sandbox accounts with it (sv0 budget backstop)`,
        policyName: BUDGETS_FREEZE_POLICY_NAME,
        policy: budgetsFreezeRolePolicy(mgmt, ids),
      });
    },

    /** Add the alerts topic as a subscriber of a budget's notifications; one already there is success. */
    async orgSubscribeBudgetAlerts(step: Step<'subscribeBudgetAlerts'>): Promise<void> {
      const mgmt = await managementAccountId();
      for (const t of step.thresholds)
        await addTopicSubscriber(budgets, mgmt, step.budget, t, alertsTopicArn(mgmt, step.topic));
    },

    /**
     * Create (or update) the budget's APPLY_SCP_POLICY action: at `freezeAt` % of actual spend, AWS
     * Budgets attaches FreezeAccount to the sandbox account on its own, with the freeze role. The
     * target is checked first: an account of the organization, not the management account, marked
     * sandbox. A create that finds an action already there updates it instead.
     */
    async orgEnsureFreezeAction(step: Step<'ensureFreezeAction'>): Promise<{ actionId: string }> {
      const mgmt = await managementAccountId();
      const account = await lookup.findAccount(step.account);
      if (!account?.Id) throw new Error(`account ${step.account} does not exist yet`);
      assertSandboxTarget({
        accountId: account.Id,
        accountName: account.Name ?? '',
        managementAccountId: mgmt,
        org: { accounts: step.sandboxAccounts.map((name) => ({ name, sandbox: true })) },
      });
      const policyId = await lookup.policyId(FREEZE_POLICY_NAME).catch(() => {
        throw ApplicationFailure.nonRetryable(
          `budget ${step.budget}: SCP ${FREEZE_POLICY_NAME} does not exist; declare it in config/org.yaml serviceControlPolicies`,
          ErrorType.BadConfig,
        );
      });
      const topicArn = alertsTopicArn(mgmt, step.topic);
      const fields = {
        AccountId: mgmt,
        BudgetName: step.budget,
        NotificationType: 'ACTUAL' as const,
        ActionThreshold: { ActionThresholdValue: step.freezeAt, ActionThresholdType: 'PERCENTAGE' as const },
        Definition: { ScpActionDefinition: { PolicyId: policyId, TargetIds: [account.Id] } },
        ExecutionRoleArn: managementRoleArn(mgmt, step.role),
        ApprovalModel: 'AUTOMATIC' as const,
        // AWS allows one SNS and up to ten email subscribers per action.
        Subscribers: [
          topicSubscriber(topicArn),
          ...step.subscribers
            .slice(0, 10)
            .map((Address) => ({ SubscriptionType: 'EMAIL' as const, Address })),
        ],
      };
      let actionId = step.actionId;
      if (!actionId) {
        const existing = await aws(`actions of budget ${step.budget}`, () =>
          budgets.send(
            new DescribeBudgetActionsForBudgetCommand({ AccountId: mgmt, BudgetName: step.budget }),
          ),
        );
        actionId = existing.Actions?.find((a) => a.ActionType === 'APPLY_SCP_POLICY')?.ActionId;
      }
      if (actionId) {
        await aws(`update the AWS Budgets action of ${step.budget}`, () =>
          budgets.send(new UpdateBudgetActionCommand({ ...fields, ActionId: actionId })),
        );
        return { actionId };
      }
      const out = await aws(`create the AWS Budgets action of ${step.budget}`, () =>
        budgets.send(new CreateBudgetActionCommand({ ...fields, ActionType: 'APPLY_SCP_POLICY' })),
      );
      return { actionId: out.ActionId! };
    },

    /** Create or update the anomaly monitor's subscription to the alerts topic (SNS needs IMMEDIATE). */
    async orgEnsureAnomalySubscription(step: Step<'ensureAnomalySubscription'>): Promise<void> {
      const mgmt = await managementAccountId();
      const monitors = await aws('GetAnomalyMonitors', () => ce.send(new GetAnomalyMonitorsCommand({})));
      const monitorArn = monitors.AnomalyMonitors?.find((m) => m.MonitorName === step.monitor)?.MonitorArn;
      if (!monitorArn) throw new Error(`anomaly monitor ${step.monitor} does not exist yet`);
      const Subscribers = [{ Type: 'SNS' as const, Address: alertsTopicArn(mgmt, step.topic) }];
      const ThresholdExpression = {
        Dimensions: {
          Key: 'ANOMALY_TOTAL_IMPACT_ABSOLUTE' as const,
          MatchOptions: ['GREATER_THAN_OR_EQUAL' as const],
          Values: [String(step.alertAboveUsd)],
        },
      };
      const subs = await aws('GetAnomalySubscriptions', () =>
        ce.send(new GetAnomalySubscriptionsCommand({})),
      );
      const found = subs.AnomalySubscriptions?.find((s) => s.SubscriptionName === step.name);
      if (found?.SubscriptionArn) {
        await aws(`update anomaly subscription ${step.name}`, () =>
          ce.send(
            new UpdateAnomalySubscriptionCommand({
              SubscriptionArn: found.SubscriptionArn,
              MonitorArnList: [monitorArn],
              Subscribers,
              Frequency: 'IMMEDIATE',
              ThresholdExpression,
            }),
          ),
        );
        return;
      }
      await aws(`create anomaly subscription ${step.name}`, () =>
        ce.send(
          new CreateAnomalySubscriptionCommand({
            AnomalySubscription: {
              SubscriptionName: step.name,
              MonitorArnList: [monitorArn],
              Subscribers,
              Frequency: 'IMMEDIATE',
              ThresholdExpression,
            },
          }),
        ),
      );
    },
  };
}
