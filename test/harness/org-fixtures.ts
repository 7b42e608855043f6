import path from 'node:path';
import {
  BudgetsClient,
  CreateBudgetActionCommand,
  CreateBudgetCommand,
  CreateNotificationCommand,
  CreateSubscriberCommand,
  DeleteBudgetActionCommand,
  DeleteBudgetCommand,
  DescribeBudgetActionCommand,
  DescribeBudgetActionsForAccountCommand,
  DescribeBudgetActionsForBudgetCommand,
  DescribeBudgetCommand,
  DescribeNotificationsForBudgetCommand,
  DescribeSubscribersForNotificationCommand,
  ExecuteBudgetActionCommand,
  UpdateBudgetActionCommand,
  UpdateBudgetCommand,
} from '@aws-sdk/client-budgets';
import { IAMClient } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAnomalyMonitorCommand,
  CreateAnomalySubscriptionCommand,
  GetAnomalyMonitorsCommand,
  GetAnomalySubscriptionsCommand,
  UpdateAnomalySubscriptionCommand,
  GetCostAndUsageCommand,
  GetCostForecastCommand,
  ListCostAllocationTagsCommand,
  UpdateCostAllocationTagsStatusCommand,
} from '@aws-sdk/client-cost-explorer';
import { AttachPolicyCommand, DetachPolicyCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import type { OrgBootstrapDeps } from '../../activities/org';
import { iamThroughAccessRole } from '../../activities/org/roles';
import { loadBudgetsConfig, loadOrgConfig } from '../../lib/runtime/config';
import { buildDesiredOrg } from '../../lib/org/desired';
import type { DesiredOrg } from '../../lib/org/types';
import { motoCompatibleDesired } from '../../scripts/dev-org';
import { startMoto, type Moto } from '../../scripts/local-stack';
import { stack } from './stack';

export const CONFIG_DIR = path.resolve(__dirname, '../../config');

/**
 * A moto of this file's own, started with AWS managed policies loaded (MOTO_IAM_LOAD_MANAGED_POLICIES):
 * without them moto refuses to attach SecurityAudit or AdministratorAccess to a role.
 */
export function startOrgMoto(): Promise<Moto> {
  return startMoto(stack().tools, { loadManagedPolicies: true });
}

export function awsFor(endpoint: string): AwsClientConfig {
  return {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  };
}

/**
 * The desired organization from config/. One deviation for moto: its SSO Admin looks AWS
 * managed policies up without their path, so it cannot find `job-function/Billing`; the test uses
 * a path-less billing policy for BillingAccess.
 */
export function seedDesired(): DesiredOrg {
  const org = loadOrgConfig(CONFIG_DIR);
  return motoCompatibleDesired(buildDesiredOrg(org, loadBudgetsConfig(CONFIG_DIR, org)));
}

/** Every AWS command the code under test sends, as `Client:Command`. */
export class CallLog {
  calls: string[] = [];
  /** Record the commands `client` sends. */
  watch<C extends { middlewareStack: { add: (...a: never[]) => void } }>(client: C): C {
    (client.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
      (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
        (args: unknown) => {
          this.calls.push(`${context.clientName ?? '?'}:${context.commandName ?? '?'}`);
          return next(args);
        },
      { step: 'initialize', name: 'sv0CallLog' },
    );
    return client;
  }
  /** Calls that could change something (anything but Describe/List/Get). */
  changing(): string[] {
    return this.calls.filter((c) => !/:(Describe|List|Get)[A-Za-z]*Command$/.test(c));
  }
  clear(): void {
    this.calls = [];
  }
}

/**
 * The filter of a read of one account's gross spend, as Cost Explorer receives it: the linked
 * account, with credits, refunds and discounts left out (written out, not built by the code under
 * test).
 */
export function grossSpendFilter(accountId: string) {
  return {
    And: [
      { Dimensions: { Key: 'LINKED_ACCOUNT', Values: [accountId] } },
      {
        Not: {
          Dimensions: {
            Key: 'RECORD_TYPE',
            Values: [
              'Credit',
              'Refund',
              'Bundled Discount',
              'Enterprise Discount Program Discount',
              'Solution Provider Program Discount',
            ],
          },
        },
      },
    ],
  };
}

/**
 * A thin fake of the Cost Explorer client (moto has no ListCostAllocationTags or anomaly monitors):
 * it answers the calls the bootstrap makes (tags, monitors, anomaly subscriptions, spend) from an
 * in-memory state. GetCostAndUsage answers by its filter: a `sv0:demo` tag filter gets that demo's
 * `demoCosts` entry (0 when none); a `RECORD_TYPE` filter of `Credit` gets the `credits` used on
 * the days of the query's period (end exclusive), as Cost Explorer books them (negative); any
 * other query gets `grossSpend`, for any account. An Error in `grossSpend` fails every
 * GetCostAndUsage with that error. Each query's input is kept in `costQueries`. GetCostForecast
 * answers `forecast` (the forecast for the query's period, any account); an Error there fails it.
 * Each forecast query's input is kept in `forecastQueries`.
 */
export function fakeCostExplorer(initialTags: { key: string; status: string }[]) {
  const state = {
    tags: initialTags.map((t) => ({ ...t })),
    monitors: [] as { name: string; dimension: string }[],
    subscriptions: [] as {
      arn: string;
      name: string;
      monitorArns: string[];
      subscribers: { Type: string; Address: string }[];
      frequency: string;
      threshold?: unknown;
    }[],
    calls: [] as string[],
    grossSpend: 0 as number | Error,
    /** Cost by demo id, as a `sv0:demo` tag filter reads it. */
    demoCosts: {} as Record<string, number>,
    /** Credits used per day (positive amounts; answered negative, as Cost Explorer books them). */
    credits: [] as { date: string; amount: number }[],
    costQueries: [] as GetCostAndUsageCommand['input'][],
    /** What GetCostForecast answers for any period and account. */
    forecast: 0 as number | Error,
    forecastQueries: [] as GetCostForecastCommand['input'][],
  };
  const ce = {
    send(command: object): Promise<unknown> {
      state.calls.push(command.constructor.name);
      if (command instanceof ListCostAllocationTagsCommand) {
        const keys = command.input.TagKeys;
        const tags = state.tags.filter((t) => !keys || keys.includes(t.key));
        return Promise.resolve({
          CostAllocationTags: tags.map((t) => ({ TagKey: t.key, Status: t.status, Type: 'UserDefined' })),
        });
      }
      if (command instanceof UpdateCostAllocationTagsStatusCommand) {
        for (const s of command.input.CostAllocationTagsStatus ?? []) {
          const tag = state.tags.find((t) => t.key === s.TagKey);
          if (tag) tag.status = String(s.Status);
        }
        return Promise.resolve({ Errors: [] });
      }
      if (command instanceof GetCostAndUsageCommand) {
        state.costQueries.push(command.input);
        if (state.grossSpend instanceof Error) return Promise.reject(state.grossSpend);
        const filter = JSON.stringify(command.input.Filter ?? {});
        const period = command.input.TimePeriod!;
        let amount = state.grossSpend;
        const demo = /"Tags":\{"Key":"sv0:demo","Values":\["([^"]+)"\]/.exec(filter);
        if (demo) amount = state.demoCosts[demo[1]!] ?? 0;
        else if (/^\{"Dimensions":\{"Key":"RECORD_TYPE","Values":\["Credit"\]\}\}$/.test(filter))
          amount = -state.credits
            .filter((c) => c.date >= period.Start! && c.date < period.End!)
            .reduce((sum, c) => sum + c.amount, 0);
        return Promise.resolve({
          ResultsByTime: [
            {
              TimePeriod: period,
              Total: { UnblendedCost: { Amount: String(amount), Unit: 'USD' } },
            },
          ],
        });
      }
      if (command instanceof GetCostForecastCommand) {
        state.forecastQueries.push(command.input);
        if (state.forecast instanceof Error) return Promise.reject(state.forecast);
        const Total = { Amount: String(state.forecast), Unit: 'USD' };
        return Promise.resolve({
          Total,
          ForecastResultsByTime: [{ TimePeriod: command.input.TimePeriod, MeanValue: Total.Amount }],
        });
      }
      if (command instanceof GetAnomalyMonitorsCommand) {
        return Promise.resolve({
          AnomalyMonitors: state.monitors.map((m, i) => ({
            MonitorArn: `arn:aws:ce::123456789012:anomalymonitor/${i + 1}`,
            MonitorName: m.name,
            MonitorDimension: m.dimension,
          })),
        });
      }
      if (command instanceof GetAnomalySubscriptionsCommand) {
        return Promise.resolve({
          AnomalySubscriptions: state.subscriptions.map((s) => ({
            SubscriptionArn: s.arn,
            SubscriptionName: s.name,
            MonitorArnList: s.monitorArns,
            Subscribers: s.subscribers,
            Frequency: s.frequency,
          })),
        });
      }
      if (command instanceof CreateAnomalySubscriptionCommand) {
        const s = command.input.AnomalySubscription!;
        const arn = `arn:aws:ce::123456789012:anomalysubscription/${state.subscriptions.length + 1}`;
        state.subscriptions.push({
          arn,
          name: s.SubscriptionName!,
          monitorArns: s.MonitorArnList ?? [],
          subscribers: (s.Subscribers ?? []).map((x) => ({ Type: String(x.Type), Address: x.Address! })),
          frequency: String(s.Frequency),
          threshold: s.ThresholdExpression,
        });
        return Promise.resolve({ SubscriptionArn: arn });
      }
      if (command instanceof UpdateAnomalySubscriptionCommand) {
        const s = state.subscriptions.find((x) => x.arn === command.input.SubscriptionArn);
        if (!s)
          return Promise.reject(
            Object.assign(new Error('no such subscription'), { name: 'UnknownSubscriptionException' }),
          );
        const i = command.input;
        if (i.MonitorArnList) s.monitorArns = i.MonitorArnList;
        if (i.Subscribers)
          s.subscribers = i.Subscribers.map((x) => ({ Type: String(x.Type), Address: x.Address! }));
        if (i.Frequency) s.frequency = i.Frequency;
        if (i.ThresholdExpression) s.threshold = i.ThresholdExpression;
        return Promise.resolve({ SubscriptionArn: s.arn });
      }
      if (command instanceof CreateAnomalyMonitorCommand) {
        const m = command.input.AnomalyMonitor!;
        state.monitors.push({ name: m.MonitorName!, dimension: String(m.MonitorDimension) });
        return Promise.resolve({
          MonitorArn: `arn:aws:ce::123456789012:anomalymonitor/${state.monitors.length}`,
        });
      }
      return Promise.reject(new Error(`fake Cost Explorer: ${command.constructor.name} is not faked`));
    },
  };
  return { ce, state };
}

/** An error as the AWS SDK throws it: `name` is AWS's error code. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** A Budgets action as the fake keeps it. */
export interface FakeBudgetAction {
  ActionId: string;
  BudgetName: string;
  NotificationType: string;
  ActionType: string;
  ActionThreshold: { ActionThresholdValue: number; ActionThresholdType: string };
  Definition: { ScpActionDefinition?: { PolicyId: string; TargetIds: string[] } };
  ExecutionRoleArn: string;
  ApprovalModel: string;
  Status: string;
  Subscribers: { SubscriptionType: string; Address: string }[];
}

/**
 * A thin fake of AWS Budgets at the SDK-client boundary, over moto, for what moto lacks: UpdateBudget
 * (answered by deleting the budget in moto and creating it again, with its notifications; moto cannot
 * describe their subscribers, so `subscriber` stands in), the subscribers of notifications
 * (CreateSubscriber, DescribeSubscribersForNotification, kept here from every create it sees), and
 * budget actions with AWS's states. Every other command goes to moto unchanged.
 *
 * Actions: create, update, describe (by account, budget, id), delete and ExecuteBudgetAction.
 * {@link evaluate} is AWS Budgets' own periodic evaluation: an action in STANDBY whose budget's
 * actual spend (from moto) reached its threshold goes EXECUTION_IN_PROGRESS, then (AUTOMATIC)
 * EXECUTION_SUCCESS after attaching its SCP in moto's Organizations, or EXECUTION_FAILURE; a MANUAL
 * action waits in PENDING for APPROVE_BUDGET_ACTION. REVERSE_BUDGET_ACTION is accepted only in
 * EXECUTION_SUCCESS: the action is REVERSE_IN_PROGRESS until the next describe of it, which finds
 * the SCP detached and the action REVERSE_SUCCESS (as AWS reverses asynchronously).
 * RESET_BUDGET_ACTION and {@link newPeriod} return actions to STANDBY. `transitions` records
 * every status change.
 */
export function budgetsFake(
  moto: BudgetsClient,
  opts: { organizations?: OrganizationsClient; subscriber?: string; log?: CallLog } = {},
) {
  const subscriber = opts.subscriber ?? 'billing@example.com';
  const state = {
    updates: 0,
    subscribers: new Map<string, { SubscriptionType: string; Address: string }[]>(),
    actions: [] as FakeBudgetAction[],
    transitions: [] as { actionId: string; from: string; to: string }[],
    /** Actions reversing: completed at the next describe. */
    reversing: new Set<string>(),
  };
  let nextId = 1;
  const key = (budget: string, threshold: number | undefined) => `${budget}@${threshold ?? 0}`;
  const record = (
    budget: string,
    threshold: number | undefined,
    subs: { SubscriptionType?: string; Address?: string }[],
  ) => {
    const list = state.subscribers.get(key(budget, threshold)) ?? [];
    for (const s of subs)
      if (!list.some((x) => x.Address === s.Address))
        list.push({ SubscriptionType: String(s.SubscriptionType), Address: String(s.Address) });
    state.subscribers.set(key(budget, threshold), list);
  };
  const move = (a: FakeBudgetAction, to: string) => {
    state.transitions.push({ actionId: a.ActionId, from: a.Status, to });
    a.Status = to;
  };
  const scp = async (a: FakeBudgetAction, attach: boolean) => {
    const def = a.Definition.ScpActionDefinition;
    if (!def || !opts.organizations) throw new Error('budgets fake: no Organizations client to act with');
    for (const TargetId of def.TargetIds) {
      await opts.organizations
        .send(
          attach
            ? new AttachPolicyCommand({ PolicyId: def.PolicyId, TargetId })
            : new DetachPolicyCommand({ PolicyId: def.PolicyId, TargetId }),
        )
        .catch((err: Error) => {
          if (!/DuplicatePolicyAttachment|PolicyNotAttached/.test(err.name)) throw err;
        });
    }
  };
  const execute = async (a: FakeBudgetAction) => {
    move(a, 'EXECUTION_IN_PROGRESS');
    try {
      await scp(a, true);
      move(a, 'EXECUTION_SUCCESS');
    } catch {
      move(a, 'EXECUTION_FAILURE');
    }
  };
  /** A describe sees a reverse that AWS has finished meanwhile. */
  const settle = async (a: FakeBudgetAction) => {
    if (!state.reversing.has(a.ActionId)) return;
    state.reversing.delete(a.ActionId);
    try {
      await scp(a, false);
      move(a, 'REVERSE_SUCCESS');
    } catch {
      move(a, 'REVERSE_FAILURE');
    }
  };
  const find = (id: string | undefined, budget: string | undefined) => {
    const a = state.actions.find((x) => x.ActionId === id && x.BudgetName === budget);
    if (!a) throw awsError('NotFoundException', `action ${id} of budget ${budget} not found`);
    return a;
  };
  const copy = (a: FakeBudgetAction) => structuredClone(a);

  async function answer(command: object): Promise<unknown> {
    if (command instanceof UpdateBudgetCommand) {
      const { AccountId, NewBudget } = command.input;
      const BudgetName = NewBudget!.BudgetName!;
      const notes = await moto.send(new DescribeNotificationsForBudgetCommand({ AccountId, BudgetName }));
      await moto.send(new DeleteBudgetCommand({ AccountId, BudgetName }));
      await moto.send(
        new CreateBudgetCommand({
          AccountId,
          Budget: NewBudget,
          NotificationsWithSubscribers: (notes.Notifications ?? []).map((Notification) => ({
            Notification,
            Subscribers: [{ SubscriptionType: 'EMAIL', Address: subscriber }],
          })),
        }),
      );
      state.updates += 1;
      return {};
    }
    if (command instanceof CreateBudgetCommand) {
      const out = await moto.send(command);
      for (const n of command.input.NotificationsWithSubscribers ?? [])
        record(command.input.Budget!.BudgetName!, n.Notification?.Threshold, n.Subscribers ?? []);
      return out;
    }
    if (command instanceof CreateNotificationCommand) {
      const out = await moto.send(command);
      record(
        command.input.BudgetName!,
        command.input.Notification?.Threshold,
        command.input.Subscribers ?? [],
      );
      return out;
    }
    if (command instanceof DeleteBudgetCommand) {
      const out = await moto.send(command);
      for (const k of [...state.subscribers.keys()])
        if (k.startsWith(`${command.input.BudgetName}@`)) state.subscribers.delete(k);
      return out;
    }
    if (command instanceof CreateSubscriberCommand) {
      const { BudgetName, Notification, Subscriber } = command.input;
      const list = state.subscribers.get(key(BudgetName!, Notification?.Threshold)) ?? [];
      if (list.some((s) => s.Address === Subscriber?.Address))
        throw awsError('DuplicateRecordException', 'subscriber already exists');
      record(BudgetName!, Notification?.Threshold, [Subscriber!]);
      return {};
    }
    if (command instanceof DescribeSubscribersForNotificationCommand) {
      const { BudgetName, Notification } = command.input;
      return { Subscribers: state.subscribers.get(key(BudgetName!, Notification?.Threshold)) ?? [] };
    }
    if (command instanceof CreateBudgetActionCommand) {
      const i = command.input;
      const a: FakeBudgetAction = {
        ActionId: `00000000-0000-4000-8000-${String(nextId++).padStart(12, '0')}`,
        BudgetName: i.BudgetName!,
        NotificationType: String(i.NotificationType),
        ActionType: String(i.ActionType),
        ActionThreshold: {
          ActionThresholdValue: i.ActionThreshold!.ActionThresholdValue!,
          ActionThresholdType: String(i.ActionThreshold!.ActionThresholdType),
        },
        Definition: structuredClone(i.Definition) as FakeBudgetAction['Definition'],
        ExecutionRoleArn: i.ExecutionRoleArn!,
        ApprovalModel: String(i.ApprovalModel),
        Status: 'STANDBY',
        Subscribers: (i.Subscribers ?? []).map((s) => ({
          SubscriptionType: String(s.SubscriptionType),
          Address: s.Address!,
        })),
      };
      state.actions.push(a);
      return { AccountId: i.AccountId, BudgetName: i.BudgetName, ActionId: a.ActionId };
    }
    if (command instanceof UpdateBudgetActionCommand) {
      const i = command.input;
      const a = find(i.ActionId, i.BudgetName);
      const old = copy(a);
      if (i.NotificationType) a.NotificationType = i.NotificationType;
      if (i.ActionThreshold)
        a.ActionThreshold = {
          ActionThresholdValue: i.ActionThreshold.ActionThresholdValue!,
          ActionThresholdType: String(i.ActionThreshold.ActionThresholdType),
        };
      if (i.Definition) a.Definition = structuredClone(i.Definition) as FakeBudgetAction['Definition'];
      if (i.ExecutionRoleArn) a.ExecutionRoleArn = i.ExecutionRoleArn;
      if (i.ApprovalModel) a.ApprovalModel = i.ApprovalModel;
      if (i.Subscribers)
        a.Subscribers = i.Subscribers.map((s) => ({
          SubscriptionType: String(s.SubscriptionType),
          Address: s.Address!,
        }));
      return { AccountId: i.AccountId, BudgetName: i.BudgetName, OldAction: old, NewAction: copy(a) };
    }
    if (command instanceof DescribeBudgetActionsForAccountCommand) {
      for (const a of state.actions) await settle(a);
      return { Actions: state.actions.map(copy) };
    }
    if (command instanceof DescribeBudgetActionsForBudgetCommand) {
      const list = state.actions.filter((a) => a.BudgetName === command.input.BudgetName);
      for (const a of list) await settle(a);
      return { Actions: list.map(copy) };
    }
    if (command instanceof DescribeBudgetActionCommand) {
      const a = find(command.input.ActionId, command.input.BudgetName);
      await settle(a);
      return { AccountId: command.input.AccountId, BudgetName: a.BudgetName, Action: copy(a) };
    }
    if (command instanceof DeleteBudgetActionCommand) {
      const a = find(command.input.ActionId, command.input.BudgetName);
      state.actions = state.actions.filter((x) => x !== a);
      return { AccountId: command.input.AccountId, BudgetName: a.BudgetName, Action: copy(a) };
    }
    if (command instanceof ExecuteBudgetActionCommand) {
      const i = command.input;
      const a = find(i.ActionId, i.BudgetName);
      const refuse = () => {
        throw awsError(
          'ResourceLockedException',
          `action ${a.ActionId} is ${a.Status}; ${i.ExecutionType} is not allowed`,
        );
      };
      switch (i.ExecutionType) {
        case 'REVERSE_BUDGET_ACTION':
          if (a.Status !== 'EXECUTION_SUCCESS') refuse();
          move(a, 'REVERSE_IN_PROGRESS');
          state.reversing.add(a.ActionId);
          break;
        case 'APPROVE_BUDGET_ACTION':
          if (a.Status !== 'PENDING') refuse();
          await execute(a);
          break;
        case 'RETRY_BUDGET_ACTION':
          if (a.Status !== 'EXECUTION_FAILURE') refuse();
          await execute(a);
          break;
        case 'RESET_BUDGET_ACTION':
          move(a, 'STANDBY');
          break;
        default:
          throw awsError('InvalidParameterException', `unknown execution type ${i.ExecutionType}`);
      }
      return {
        AccountId: i.AccountId,
        BudgetName: i.BudgetName,
        ActionId: i.ActionId,
        ExecutionType: i.ExecutionType,
      };
    }
    return moto.send(command as CreateBudgetCommand);
  }

  const ANSWERED_HERE = [
    UpdateBudgetCommand,
    CreateSubscriberCommand,
    DescribeSubscribersForNotificationCommand,
    CreateBudgetActionCommand,
    UpdateBudgetActionCommand,
    DescribeBudgetActionsForAccountCommand,
    DescribeBudgetActionsForBudgetCommand,
    DescribeBudgetActionCommand,
    DeleteBudgetActionCommand,
    ExecuteBudgetActionCommand,
  ];
  const fake = {
    /** Where the calls answered here are logged (moto's own are logged by the watched moto client). */
    log: opts.log,
    budgets: {
      send(command: object): Promise<unknown> {
        if (fake.log && ANSWERED_HERE.some((c) => command instanceof c))
          fake.log.calls.push(`BudgetsClient:${command.constructor.name}`);
        return answer(command);
      },
    } as unknown as BudgetsClient,
    state,
    /** AWS Budgets evaluates its actions (a few times a day in AWS): act on every STANDBY action whose threshold is reached. */
    async evaluate(accountId: string): Promise<void> {
      for (const a of state.actions) {
        if (a.Status !== 'STANDBY' || a.NotificationType !== 'ACTUAL') continue;
        const b = (
          await moto.send(new DescribeBudgetCommand({ AccountId: accountId, BudgetName: a.BudgetName }))
        ).Budget!;
        const actual = Number(b.CalculatedSpend?.ActualSpend?.Amount ?? 0);
        const limit = Number(b.BudgetLimit?.Amount ?? 0);
        const reached =
          a.ActionThreshold.ActionThresholdType === 'PERCENTAGE'
            ? limit > 0 && (actual / limit) * 100 >= a.ActionThreshold.ActionThresholdValue
            : actual >= a.ActionThreshold.ActionThresholdValue;
        if (!reached) continue;
        if (a.ApprovalModel === 'MANUAL') move(a, 'PENDING');
        else await execute(a);
      }
    },
    /** A new budget period: AWS returns every action to STANDBY. */
    newPeriod(): void {
      for (const a of state.actions) if (a.Status !== 'STANDBY') move(a, 'STANDBY');
    },
  };
  return fake;
}

/**
 * Real clients on moto (each watched by `log`), with a fake Cost Explorer and Budgets through
 * {@link budgetsFake} (moto has no budget actions, subscribers or UpdateBudget): pass one to
 * inspect its state, else a fresh one is made.
 */
export function orgDeps(
  aws: AwsClientConfig,
  log: CallLog,
  ce: OrgBootstrapDeps['ce'],
  organizations?: OrganizationsClient,
  budgets?: ReturnType<typeof budgetsFake>,
): OrgBootstrapDeps {
  const iamFor = iamThroughAccessRole(aws);
  const orgs = organizations ?? log.watch(new OrganizationsClient(aws));
  return {
    organizations: orgs,
    sts: log.watch(new STSClient(aws)),
    budgets: (budgets ?? budgetsFake(log.watch(new BudgetsClient(aws)), { organizations: orgs, log }))
      .budgets,
    sns: log.watch(new SNSClient(aws)),
    ssoAdmin: log.watch(new SSOAdminClient(aws)),
    identityStore: log.watch(new IdentitystoreClient(aws)),
    ce,
    iamFor: async (id: string) => log.watch(await iamFor(id)) as IAMClient,
    localEndpoint: async () => true,
    pollIntervalMs: 100,
  };
}
