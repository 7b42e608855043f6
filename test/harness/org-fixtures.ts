import path from 'node:path';
import {
  BudgetsClient,
  CreateBudgetCommand,
  DeleteBudgetCommand,
  DescribeNotificationsForBudgetCommand,
  UpdateBudgetCommand,
} from '@aws-sdk/client-budgets';
import { IAMClient } from '@aws-sdk/client-iam';
import { IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAnomalyMonitorCommand,
  GetAnomalyMonitorsCommand,
  GetCostAndUsageCommand,
  ListCostAllocationTagsCommand,
  UpdateCostAllocationTagsStatusCommand,
} from '@aws-sdk/client-cost-explorer';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
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
 * A thin fake of the Cost Explorer client (moto has no ListCostAllocationTags or anomaly monitors):
 * it answers the five calls the bootstrap makes from an in-memory state. `grossSpend` is what
 * GetCostAndUsage answers for any account (an Error: it fails with that error); each query's
 * filter is kept in `costQueries`.
 */
export function fakeCostExplorer(initialTags: { key: string; status: string }[]) {
  const state = {
    tags: initialTags.map((t) => ({ ...t })),
    monitors: [] as { name: string; dimension: string }[],
    calls: [] as string[],
    grossSpend: 0 as number | Error,
    costQueries: [] as GetCostAndUsageCommand['input'][],
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
        return Promise.resolve({
          ResultsByTime: [
            {
              TimePeriod: command.input.TimePeriod,
              Total: { UnblendedCost: { Amount: String(state.grossSpend), Unit: 'USD' } },
            },
          ],
        });
      }
      if (command instanceof GetAnomalyMonitorsCommand) {
        return Promise.resolve({
          AnomalyMonitors: state.monitors.map((m) => ({
            MonitorName: m.name,
            MonitorDimension: m.dimension,
          })),
        });
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

/**
 * A thin fake at the SDK-client boundary for the one Budgets call moto lacks: UpdateBudget is
 * answered by deleting the budget in moto and creating it again as the update describes, with
 * its notifications (moto cannot describe their subscribers, so `subscriber` stands in). Every
 * other command goes to moto unchanged. `updates` counts the updates it answered.
 */
export function budgetsWithUpdateFake(moto: BudgetsClient, subscriber = 'billing@example.com') {
  const state = { updates: 0 };
  const client = {
    async send(command: object): Promise<unknown> {
      if (!(command instanceof UpdateBudgetCommand)) return moto.send(command as CreateBudgetCommand);
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
    },
  };
  return { budgets: client as unknown as BudgetsClient, state };
}

/** Real clients on moto (each watched by `log`), with a fake Cost Explorer. */
export function orgDeps(
  aws: AwsClientConfig,
  log: CallLog,
  ce: OrgBootstrapDeps['ce'],
  organizations?: OrganizationsClient,
): OrgBootstrapDeps {
  const iamFor = iamThroughAccessRole(aws);
  return {
    organizations: organizations ?? log.watch(new OrganizationsClient(aws)),
    sts: log.watch(new STSClient(aws)),
    budgets: log.watch(new BudgetsClient(aws)),
    ssoAdmin: log.watch(new SSOAdminClient(aws)),
    identityStore: log.watch(new IdentitystoreClient(aws)),
    ce,
    iamFor: async (id: string) => log.watch(await iamFor(id)) as IAMClient,
    localEndpoint: async () => true,
    pollIntervalMs: 100,
  };
}
