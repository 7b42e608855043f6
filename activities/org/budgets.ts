import {
  type Budget,
  type BudgetsClient,
  CreateBudgetCommand,
  CreateNotificationCommand,
  CreateSubscriberCommand,
  DescribeBudgetsCommand,
  DescribeNotificationsForBudgetCommand,
  type Notification,
  type Subscriber,
  UpdateBudgetCommand,
} from '@aws-sdk/client-budgets';
import { type CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer';
import type { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import {
  countsNetSpend,
  fromAwsCostTypes,
  GROSS_COST_TYPES,
  toAwsCostTypes,
} from '../../lib/budget-cost-types';
import { accountCostFilter } from '../../lib/budget-forecast';
import type { DesiredBudget, LiveBudget, PlanStep } from '../../lib/org/types';
import { alertsTopicArn } from '../../lib/org/backstop';
import { aws, awsErrorName, classifyAwsError } from '../aws/errors';
import { createOrUpdate } from '../aws/ensure';
import { orgLookup } from './lookup';

export interface OrgBudgetsDeps {
  /** Budgets client in the management account. */
  budgets: BudgetsClient;
  organizations: OrganizationsClient;
  sts: STSClient;
  /** Cost Explorer in the management account: the gross spend behind the plan's freeze warning. */
  ce: Pick<CostExplorerClient, 'send'>;
}

/** This UTC month so far as Cost Explorer's period (the end date is exclusive). */
function monthToDate(now: Date): { Start: string; End: string } {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  return { Start: day(start), End: day(tomorrow) };
}

type Step<K extends PlanStep['kind']> = Extract<PlanStep, { kind: K }>;

/** An ACTUAL, percentage notification at `threshold`, as budgets.yaml declares every notification. */
function notification(threshold: number): Notification {
  return {
    NotificationType: 'ACTUAL',
    ComparisonOperator: 'GREATER_THAN',
    Threshold: threshold,
    ThresholdType: 'PERCENTAGE',
  };
}

/** Add an SNS topic to a budget's notification at `threshold`; one already there is success. */
export async function addTopicSubscriber(
  budgets: BudgetsClient,
  mgmt: string,
  budget: string,
  threshold: number,
  topicArn: string,
): Promise<void> {
  await createOrUpdate(`SNS subscriber ${topicArn} of budget ${budget} at ${threshold} %`, () =>
    budgets.send(
      new CreateSubscriberCommand({
        AccountId: mgmt,
        BudgetName: budget,
        Notification: notification(threshold),
        Subscriber: { SubscriptionType: 'SNS', Address: topicArn },
      }),
    ),
  );
}

/**
 * The budgets of config/budgets.yaml in AWS Budgets: monthly cost budgets with email
 * notifications on actual spend. The budget guard acts on them; the bootstrap only creates them.
 */
export function createOrgBudgetsActivities(deps: OrgBudgetsDeps) {
  const { budgets } = deps;
  const lookup = orgLookup(deps.organizations);

  async function managementAccountId(): Promise<string> {
    return (await aws('GetCallerIdentity', () => deps.sts.send(new GetCallerIdentityCommand({})))).Account!;
  }

  /** The AWS budget for a declared one: its limit and, for an account budget, the linked-account filter. */
  async function awsBudget(b: DesiredBudget, mgmt: string): Promise<Budget> {
    let scopeId: string | undefined;
    if (b.scope === 'management') scopeId = mgmt;
    else if (b.scope !== 'organization') {
      scopeId = (await lookup.findAccount(b.scope))?.Id;
      if (!scopeId) throw new Error(`budget ${b.name}: account ${b.scope} does not exist yet`);
    }
    return {
      BudgetName: b.name,
      BudgetLimit: { Amount: String(b.amount), Unit: 'USD' },
      TimeUnit: 'MONTHLY',
      BudgetType: 'COST',
      ...(b.costTypes ? { CostTypes: toAwsCostTypes(b.costTypes) } : {}),
      ...(scopeId ? { CostFilters: { LinkedAccount: [scopeId] } } : {}),
    };
  }

  /** Email subscribers, plus the alerts topic when the step names one (AWS allows one SNS subscriber). */
  function subscribersOf(mgmt: string, emails: string[], topic: string | undefined): Subscriber[] {
    return [
      ...emails.map((Address) => ({ SubscriptionType: 'EMAIL' as const, Address })),
      ...(topic ? [{ SubscriptionType: 'SNS' as const, Address: alertsTopicArn(mgmt, topic) }] : []),
    ];
  }

  async function addNotification(
    mgmt: string,
    budget: string,
    threshold: number,
    subscribers: string[],
    topic?: string,
  ): Promise<void> {
    await createOrUpdate(
      `notification at ${threshold} % of budget ${budget}`,
      () =>
        budgets.send(
          new CreateNotificationCommand({
            AccountId: mgmt,
            BudgetName: budget,
            Notification: notification(threshold),
            Subscribers: subscribersOf(mgmt, subscribers, topic),
          }),
        ),
      // The notification exists: the topic may still be missing from it.
      async () => {
        if (topic) await addTopicSubscriber(budgets, mgmt, budget, threshold, alertsTopicArn(mgmt, topic));
      },
    );
  }

  /**
   * One account's gross spend this month (credits, refunds and discounts left out), or why it
   * could not be read: the plan then says so instead of failing.
   */
  async function grossSpend(accountId: string): Promise<NonNullable<LiveBudget['grossSpend']>> {
    try {
      const out = await deps.ce.send(
        new GetCostAndUsageCommand({
          TimePeriod: monthToDate(new Date()),
          Granularity: 'MONTHLY',
          Metrics: ['UnblendedCost'],
          Filter: accountCostFilter(accountId, GROSS_COST_TYPES),
        }),
      );
      const total = (out.ResultsByTime ?? []).reduce(
        (sum, r) => sum + Number(r.Total?.UnblendedCost?.Amount ?? 0),
        0,
      );
      return Number.isFinite(total) ? { amount: total } : { unreadable: 'Cost Explorer returned no amount' };
    } catch (err) {
      return { unreadable: `Cost Explorer GetCostAndUsage failed: ${(err as Error).name}` };
    }
  }

  return {
    /**
     * Every budget of the management account with its limit, scope, cost types, spend and
     * notification thresholds; for an account budget that counts net spend, also that account's
     * gross spend (what it would count after a switch to gross spend).
     */
    async orgReadBudgets(): Promise<LiveBudget[]> {
      const mgmt = await managementAccountId();
      const list: Budget[] = [];
      let NextToken: string | undefined;
      do {
        try {
          const page = await budgets.send(new DescribeBudgetsCommand({ AccountId: mgmt, NextToken }));
          list.push(...(page.Budgets ?? []));
          NextToken = page.NextToken;
        } catch (err) {
          // AWS answers NotFound when an account has no budget at all.
          if (awsErrorName(err) === 'NotFoundException') break;
          throw classifyAwsError('DescribeBudgets', err);
        }
      } while (NextToken);
      const live: LiveBudget[] = [];
      for (const b of list) {
        const notes = await aws(`notifications of budget ${b.BudgetName}`, () =>
          budgets.send(
            new DescribeNotificationsForBudgetCommand({ AccountId: mgmt, BudgetName: b.BudgetName }),
          ),
        ).catch((err: unknown) => {
          if (awsErrorName(err) === 'NotFoundException') return { Notifications: [] };
          throw err;
        });
        const costTypes = fromAwsCostTypes(b.CostTypes as Record<string, boolean | undefined> | undefined);
        const linkedAccountIds = b.CostFilters?.LinkedAccount ?? [];
        const actual = Number(b.CalculatedSpend?.ActualSpend?.Amount);
        live.push({
          name: b.BudgetName!,
          amount: Number(b.BudgetLimit?.Amount ?? 0),
          linkedAccountIds,
          costTypes,
          ...(Number.isFinite(actual) ? { actualSpend: actual } : {}),
          ...(countsNetSpend(costTypes) && linkedAccountIds.length === 1
            ? { grossSpend: await grossSpend(linkedAccountIds[0]!) }
            : {}),
          notify: (notes.Notifications ?? [])
            .filter(
              (n) => n.NotificationType === 'ACTUAL' && (n.ThresholdType ?? 'PERCENTAGE') === 'PERCENTAGE',
            )
            .map((n) => n.Threshold ?? 0)
            .sort((x, y) => x - y),
        });
      }
      return live;
    },

    /** Create a budget with its email notifications; an existing one gets the missing notifications. */
    async orgCreateBudget(step: Step<'createBudget'>): Promise<void> {
      const mgmt = await managementAccountId();
      const b = step.budget;
      const Budget = await awsBudget(b, mgmt);
      await createOrUpdate(
        `budget ${b.name}`,
        () =>
          budgets.send(
            new CreateBudgetCommand({
              AccountId: mgmt,
              Budget,
              NotificationsWithSubscribers: b.notify.map((t) => ({
                Notification: notification(t),
                Subscribers: subscribersOf(mgmt, b.subscribers, step.alertsTopic),
              })),
            }),
          ),
        // The budget exists: add the notifications it lacks (its limit and scope are updateBudget's).
        async () => {
          for (const t of b.notify) await addNotification(mgmt, b.name, t, b.subscribers, step.alertsTopic);
        },
      );
    },

    /** Set a budget's limit, scope and cost types to the declared ones. */
    async orgUpdateBudget(step: Step<'updateBudget'>): Promise<void> {
      const mgmt = await managementAccountId();
      const NewBudget = await awsBudget(step.budget, mgmt);
      await aws(`update budget ${step.budget.name}`, () =>
        budgets.send(new UpdateBudgetCommand({ AccountId: mgmt, NewBudget })),
      );
    },

    /** Add one email notification to a budget; an existing one is success. */
    async orgCreateBudgetNotification(step: Step<'createBudgetNotification'>): Promise<void> {
      await addNotification(
        await managementAccountId(),
        step.budget,
        step.threshold,
        step.subscribers,
        step.alertsTopic,
      );
    },
  };
}
