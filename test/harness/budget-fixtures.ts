import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { createDemoCostActivities } from '../../activities/demo/cost';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BudgetsClient, CreateBudgetCommand, DeleteBudgetCommand } from '@aws-sdk/client-budgets';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  CreateOrganizationalUnitCommand,
  CreatePolicyCommand,
  DescribeCreateAccountStatusCommand,
  ListRootsCommand,
  ListTargetsForPolicyCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll } from 'vitest';
import { createBudgetActivities } from '../../activities/budget/guard';
import { createDemoControlActivities } from '../../activities/demo/control';
import { createDemoLifecycleActivities } from '../../activities/demo/lifecycle';
import { createOrgBackstopActivities } from '../../activities/org/backstop';
import { IAMClient } from '@aws-sdk/client-iam';
import { createNotifyActivities } from '../../activities/notify';
import type { BudgetGuardConfig } from '../../lib/contracts/budget';
import type { DemoInput } from '../../lib/contracts/demo';
import { GROSS_COST_TYPES } from '../../lib/budget-cost-types';
import type { BudgetConfig } from '../../lib/config/budgets';
import { createLogger } from '../../lib/runtime/logger';
import { FREEZE_POLICY_NAME, Roles, WorkflowIds, WorkflowTypes } from '../../lib/names';
import { budgetGuardWorkflow } from '../../workflows';
import { motoConfig, MOTO_DEFAULT_ACCOUNT, resetMoto } from './aws';
import { runWorker, testEnv, timeSkippingEnv, uniqueId } from './temporal';
import { startWebhookReceiver, type ReceivedRequest } from './webhook';
import { workerSettings } from '../../lib/config/worker';
import { budgetsFake, CONFIG_DIR, fakeCostExplorer } from './org-fixtures';
import { motoCertificateDownload } from './sns';
import { createBudgetAlertHandler } from '../../clients/budget/alerts-endpoint';
import { createSnsVerifier } from '../../lib/runtime/sns-signature';

/**
 * The AWS side of the budget guard tests, in moto: an organization (moto's default account is the
 * management account) with sv0-demo in a Sandbox OU and sv0-platform in a Platform OU, the
 * FreezeAccount SCP as config/org.yaml declares it, and budgets whose spend is set with
 * CalculatedSpend (moto's only way; recreate the budget to change it).
 */
export interface BudgetOrg {
  managementAccountId: string;
  demoAccountId: string;
  platformAccountId: string;
  freezePolicyId: string;
}

export const ORG = {
  accounts: [
    { name: 'sv0-demo', sandbox: true },
    { name: 'sv0-platform', sandbox: false },
  ],
};

/** The worker's sandbox settings in these tests: what {@link ORG} marks sandbox. */
export const WORKER_SANDBOX = { accounts: ['sv0-demo'], orchestratorRole: Roles.deploy };

export const FREEZE_DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'FreezeAccount',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::*:role/sv0-orchestrator-*'] } },
    },
  ],
});

export function organizations(): OrganizationsClient {
  return new OrganizationsClient(motoConfig());
}

async function createAccount(
  orgs: OrganizationsClient,
  name: string,
  ouId: string,
  rootId: string,
): Promise<string> {
  const created = await orgs.send(
    new CreateAccountCommand({ AccountName: name, Email: `aws-${name}@example.com` }),
  );
  const status = await orgs.send(
    new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: created.CreateAccountStatus!.Id! }),
  );
  const accountId = status.CreateAccountStatus!.AccountId!;
  await orgs.send(
    new MoveAccountCommand({ AccountId: accountId, SourceParentId: rootId, DestinationParentId: ouId }),
  );
  return accountId;
}

/** Create the organization, its two accounts and the FreezeAccount policy (moto must be fresh). */
export async function createBudgetOrg(): Promise<BudgetOrg> {
  const orgs = organizations();
  await orgs.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const rootId = (await orgs.send(new ListRootsCommand({}))).Roots![0]!.Id!;
  const ou = async (Name: string) =>
    (await orgs.send(new CreateOrganizationalUnitCommand({ ParentId: rootId, Name }))).OrganizationalUnit!
      .Id!;
  const [sandbox, platform] = [await ou('Sandbox'), await ou('Platform')];
  const demoAccountId = await createAccount(orgs, 'sv0-demo', sandbox, rootId);
  const platformAccountId = await createAccount(orgs, 'sv0-platform', platform, rootId);
  const policy = await orgs.send(
    new CreatePolicyCommand({
      Name: FREEZE_POLICY_NAME,
      Description: 'budget freeze',
      Type: 'SERVICE_CONTROL_POLICY',
      Content: FREEZE_DOCUMENT,
    }),
  );
  return {
    managementAccountId: MOTO_DEFAULT_ACCOUNT,
    demoAccountId,
    platformAccountId,
    freezePolicyId: policy.Policy!.PolicySummary!.Id!,
  };
}

/** Where FreezeAccount is attached now (target ids). */
export async function freezeTargets(policyId: string): Promise<string[]> {
  const out = await organizations().send(new ListTargetsForPolicyCommand({ PolicyId: policyId }));
  return (out.Targets ?? []).map((t) => t.TargetId!).sort();
}

/** (Re)create a budget in the management account with the given actual (and forecast) spend. */
export async function setSpend(
  budget: { name: string; amount: number },
  actual: number,
  forecast?: number,
): Promise<void> {
  const client = new BudgetsClient(motoConfig());
  await client
    .send(new DeleteBudgetCommand({ AccountId: MOTO_DEFAULT_ACCOUNT, BudgetName: budget.name }))
    .catch((err: Error) => {
      if (err.name !== 'NotFoundException') throw err;
    });
  await client.send(
    new CreateBudgetCommand({
      AccountId: MOTO_DEFAULT_ACCOUNT,
      Budget: {
        BudgetName: budget.name,
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: String(budget.amount), Unit: 'USD' },
        CalculatedSpend: {
          ActualSpend: { Amount: String(actual), Unit: 'USD' },
          ...(forecast !== undefined ? { ForecastedSpend: { Amount: String(forecast), Unit: 'USD' } } : {}),
        },
      },
    }),
  );
}

/** A budget's config as loadBudgetsConfig would give it. */
export function budgetConfig(
  over: Partial<BudgetConfig> & Pick<BudgetConfig, 'name' | 'account' | 'amount'>,
): BudgetConfig {
  return {
    currency: 'USD',
    notify: [],
    subscribers: ['billing@example.com'],
    checkInterval: '1h',
    refreezeAfterApproval: true,
    costTypes: GROSS_COST_TYPES,
    ...over,
  };
}

/**
 * A config folder as the CLI and `sv0 up` read it: the repo's org.yaml, and `budgetsYaml` as
 * budgets.yaml (the repo's own when omitted).
 */
export function budgetsConfigDir(budgetsYaml?: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-budgets-'));
  copyFileSync(path.join(CONFIG_DIR, 'org.yaml'), path.join(dir, 'org.yaml'));
  if (budgetsYaml === undefined)
    copyFileSync(path.join(CONFIG_DIR, 'budgets.yaml'), path.join(dir, 'budgets.yaml'));
  else writeFileSync(path.join(dir, 'budgets.yaml'), budgetsYaml);
  return dir;
}

/**
 * The budget alerts endpoint (clients/budget/alerts-endpoint.ts) on a local port, taking
 * deliveries of moto's SNS topic `topicArn`. moto signs each delivery with a certificate it serves
 * itself (at SNS's path): the endpoint verifies the real signature, with the certificate downloaded
 * from moto instead of SNS (`download.calls`: the URLs it asked for). Its log lines are kept in `log`.
 */
export async function startAlertsEndpoint(client: Client, topicArn: string) {
  const download = motoCertificateDownload();
  const log: string[] = [];
  const server = createServer(
    createBudgetAlertHandler(client, {
      topicArns: [topicArn],
      verifier: createSnsVerifier({ download }),
      log: (line) => log.push(line),
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    download,
    log,
    close: () => server.close(),
  };
}

/** Guard config with a webhook sink (the webhook URL comes from the injected resolver). */
export function guardConfig(budget: BudgetConfig): BudgetGuardConfig {
  return {
    budget,
    org: ORG,
    notifications: [{ type: 'webhook', name: 'test', urlRef: 'env:SV0_TEST_WEBHOOK' }],
  };
}

/**
 * Budgets on the shared moto through the Budgets fake at the SDK-client boundary (moto has no
 * budget actions): its actions act on moto's Organizations, as AWS Budgets would.
 */
export function motoBudgetsFake(): ReturnType<typeof budgetsFake> {
  return budgetsFake(new BudgetsClient(motoConfig()), { organizations: organizations() });
}

/**
 * The budget guard's activities on real clients: moto for AWS (Budgets through
 * {@link motoBudgetsFake}, or the fake given), the webhook receiver for notifications, and a
 * Temporal client (where the demos run) for demo control.
 */
export function budgetActivities(opts: {
  webhookUrl: string;
  demoClient: Client;
  budgets?: ReturnType<typeof budgetsFake>;
}) {
  return {
    ...createBudgetActivities({
      budgets: (opts.budgets ?? motoBudgetsFake()).budgets,
      organizations: organizations(),
      sts: new STSClient(motoConfig()),
      sandbox: WORKER_SANDBOX,
      pollIntervalMs: 50,
    }),
    ...createNotifyActivities({
      sns: new SNSClient(motoConfig()),
      logger: createLogger('budget-test'),
      secrets: { resolveSecret: () => Promise.resolve(opts.webhookUrl) },
      settings: workerSettings({ secrets: { envNames: ['SV0_TEST_*'] } }),
    }),
    ...createDemoControlActivities({
      client: opts.demoClient,
      organizations: organizations(),
      sandbox: WORKER_SANDBOX,
    }),
    // The demos a guard destroys read their cost at the end (moto's Cost Explorer has no data).
    ...createDemoCostActivities({ ce: new CostExplorerClient(motoConfig()) }),
  };
}

/** Notifications the webhook received for one budget (and optionally one event). */
export function notificationsFor(received: ReceivedRequest[], budget: string, event?: string) {
  return received
    .map((r) => r.body as { event: string; fields: Record<string, unknown> })
    .filter((b) => b.fields?.budget === budget && (event === undefined || b.event === event));
}

/** Poll `read` until `done` holds (no timing assertion: it fails only when it never holds). */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached; last value ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const QUEUE_TEMPLATE = JSON.stringify({
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: { Queue: { Type: 'AWS::SQS::Queue' } },
});

/**
 * A config folder for the demo activities whose one scenario, `name`, deploys a single SQS queue
 * (the worker reads scenarios from its own config folder; workflow input names them only).
 */
export function queueScenarioConfig(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sv0-budget-config-'));
  mkdirSync(path.join(dir, 'scenarios'));
  writeFileSync(path.join(dir, 'scenarios', 'queue.json'), QUEUE_TEMPLATE);
  writeFileSync(
    path.join(dir, 'scenarios', `${name}.yaml`),
    `name: ${name}\ndescription: one queue\ntemplate: queue.json\ndefaultTtl: 1d\nmaxTtl: 1d\n`,
  );
  return dir;
}

/** What {@link budgetGuardHarness} gives a test file once its `beforeAll` has run. */
export interface BudgetGuardHarness {
  /** The server the guards run on. */
  env: TestWorkflowEnvironment;
  /** The dev server: where demos run and are listed (the same as `env` unless time-skipping). */
  demoEnv: TestWorkflowEnvironment;
  webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  org: BudgetOrg;
  /** AWS Budgets: moto through the Budgets fake, whose actions act on moto's Organizations. */
  budgetsApi: ReturnType<typeof budgetsFake>;
  /** The file's own task queue. */
  taskQueue: string;
  /** Run `fn` while a worker with the guard's and the demos' activities polls the task queue. */
  work<T>(fn: () => Promise<T>): Promise<T>;
  /** Start a guard for `budget` (a webhook sink; `over` changes its config); terminated after the file. */
  startGuard(
    budget: BudgetConfig,
    over?: Partial<BudgetGuardConfig>,
  ): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** Start a one-day demo of the file's one-queue scenario in sv0-demo; terminated after the file. */
  startDemo(id: string): Promise<WorkflowHandleWithFirstExecutionRunId>;
  /** Terminate these workflow ids after the file too (guards started by `sv0 up` or the CLI). */
  track(...ids: string[]): void;
  /** The bootstrap's backstop activities on moto (Budgets through {@link budgetsApi}, no Cost Explorer needed). */
  backstop(): ReturnType<typeof createOrgBackstopActivities>;
  /**
   * The bootstrap's step for a budget of sv0-demo with `freezeAt`: one automatic APPLY_SCP_POLICY
   * action (in STANDBY) that attaches FreezeAccount there. Returns its id.
   */
  ensureFreezeAction(budget: BudgetConfig): Promise<string>;
}

/**
 * The set-up every budget guard test file shares, registered as its `beforeAll` and `afterAll` (call
 * it at the top of a `describe`): a fresh moto with {@link createBudgetOrg}'s organization, the
 * webhook receiver, the Budgets fake, and a worker's activities (the guard's, on real clients, and
 * the demo lifecycle's with a one-queue scenario named `scenario`). After the file it terminates
 * every run it started or was told of (the latest run of each id), closes the receiver and stops a
 * time-skipping server.
 */
export function budgetGuardHarness(opts: {
  /** Prefix of the file's task queue. */
  queue: string;
  /** The one-queue scenario demos deploy (also their owner). @default 'budget-test' */
  scenario?: string;
  /** Run the guards on the time-skipping server; demos and their listing stay on the dev server. */
  timeSkipping?: boolean;
}): BudgetGuardHarness {
  const scenario = opts.scenario ?? 'budget-test';
  const started = new Set<string>();
  let activities: object = {};
  const h = {
    taskQueue: uniqueId(opts.queue),
    work: <T>(fn: () => Promise<T>) => runWorker({ env: h.env, taskQueue: h.taskQueue, activities }, fn),
    track: (...ids: string[]) => ids.forEach((id) => started.add(id)),
    async startGuard(budget: BudgetConfig, over: Partial<BudgetGuardConfig> = {}) {
      const workflowId = WorkflowIds.budget(budget.name);
      started.add(workflowId);
      return h.env.client.workflow.start(budgetGuardWorkflow, {
        workflowId,
        taskQueue: h.taskQueue,
        args: [{ ...guardConfig(budget), ...over }],
      });
    },
    async startDemo(id: string) {
      const input: DemoInput = {
        id,
        scenario: { name: scenario, maxTtlMs: 86_400_000 },
        owner: scenario,
        ttlMs: 86_400_000,
        target: {
          accountId: h.org.demoAccountId,
          accountName: 'sv0-demo',
          // The worker's orchestrator role (moto assumes a role without checking that it exists).
          roleName: Roles.deploy,
        },
        managementAccountId: h.org.managementAccountId,
        org: ORG,
        notifications: [{ type: 'log' }],
      };
      const workflowId = WorkflowIds.demo(id);
      started.add(workflowId);
      return h.env.client.workflow.start(WorkflowTypes.demoLifecycle, {
        workflowId,
        taskQueue: h.taskQueue,
        args: [input],
      });
    },
    backstop: () =>
      createOrgBackstopActivities({
        budgets: h.budgetsApi.budgets,
        sns: new SNSClient(motoConfig()),
        ce: fakeCostExplorer([]).ce,
        organizations: organizations(),
        sts: new STSClient(motoConfig()),
        iamFor: () => Promise.resolve(new IAMClient(motoConfig())),
        localEndpoint: () => Promise.resolve(true),
      }),
    async ensureFreezeAction(budget: BudgetConfig) {
      const { actionId } = await h.backstop().orgEnsureFreezeAction({
        kind: 'ensureFreezeAction',
        id: `ensureFreezeAction:${budget.name}`,
        wave: 4,
        summary: '',
        budget: budget.name,
        account: 'sv0-demo',
        freezeAt: budget.freezeAt ?? 100,
        role: 'sv0-budgets-freeze',
        topic: 'sv0-budget-alerts',
        subscribers: budget.subscribers,
        sandboxAccounts: ['sv0-demo'],
      });
      return actionId;
    },
  } as Partial<BudgetGuardHarness> as BudgetGuardHarness;

  beforeAll(async () => {
    h.demoEnv = await testEnv();
    h.env = opts.timeSkipping ? await timeSkippingEnv() : h.demoEnv;
    h.webhook = await startWebhookReceiver();
    await resetMoto();
    h.org = await createBudgetOrg();
    h.budgetsApi = motoBudgetsFake();
    activities = {
      ...budgetActivities({ webhookUrl: h.webhook.url, demoClient: h.demoEnv.client, budgets: h.budgetsApi }),
      ...createDemoLifecycleActivities({
        aws: motoConfig(),
        secrets: { resolveSecret: () => Promise.resolve('') },
        sandbox: WORKER_SANDBOX,
        configDir: queueScenarioConfig(scenario),
      }),
    };
  });

  afterAll(async () => {
    for (const id of started)
      await h.env?.client.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
    await h.webhook?.close();
    if (opts.timeSkipping) await h.env?.teardown();
  });

  return h;
}
