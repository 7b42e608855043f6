import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  DescribeCreateAccountStatusCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { createDemoCostActivities, type DemoCostDeps } from '../../activities/demo/cost';
import { createDemoLifecycleActivities } from '../../activities/demo/lifecycle';
import { createDemoSweepActivities, type DemoSweepDeps } from '../../activities/demo/sweep';
import type { DemoActivitiesDeps } from '../../activities/demo/target';
import { createDemoControlActivities } from '../../activities/demo/control';
import { createNotifyActivities } from '../../activities/notify';
import { tagClients, type TagClients } from '../../activities/demo/tagged-resources';
import { buildDemoInput } from '../../clients/demo/lifecycle';
import { loadScenario } from '../../lib/runtime/config';
import type { DemoInput, DeployAccess } from '../../lib/contracts/demo';
import type { SandboxOrg } from '../../lib/sandbox';
import { Roles } from '../../lib/names';
import type { AwsClientConfig } from '../../lib/runtime/aws';
import { createLogger } from '../../lib/runtime/logger';
import { motoConfig, MOTO_DEFAULT_ACCOUNT, resetMoto } from './aws';
import { registerSecrets } from './secret-registry';
import type { startWebhookReceiver } from './webhook';
import path from 'node:path';
import { workerSettings } from '../../lib/config/worker';

/**
 * A small organization in moto for demo tests: the management account (moto's default), a sandbox
 * account `sv0-demo` with the deploy role, a non-sandbox `sv0-platform`, an account the config does
 * not list, and a sandbox-marked account whose name says prod.
 */
export interface DemoOrg {
  managementAccountId: string;
  demoAccountId: string;
  platformAccountId: string;
  unlistedAccountId: string;
  prodAccountId: string;
  org: SandboxOrg;
  target: DeployAccess;
}

export const CONFIG_DIR = path.resolve(__dirname, '../../config');
export const EXTERNAL_ID_REF = 'env:SV0_TEST_DEPLOY_EXTERNAL_ID';
const EXTERNAL_ID = 'sv0-test-external-id';
// The external id is not a secret, but it stays out of history and logs all the same.
registerSecrets(EXTERNAL_ID);
const WEBHOOK_REF = 'env:SV0_TEST_DEMO_WEBHOOK';

async function createAccount(orgs: OrganizationsClient, name: string): Promise<string> {
  const out = await orgs.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
  const status = await orgs.send(
    new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: out.CreateAccountStatus!.Id! }),
  );
  return status.CreateAccountStatus!.AccountId!;
}

/** Create the deploy role in an account (moto enforces no trust policy, but the role must exist). */
export async function createDeployRole(accountId: string, managementAccountId: string): Promise<void> {
  await new IAMClient(motoConfig(accountId)).send(
    new CreateRoleCommand({
      RoleName: Roles.deploy,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${managementAccountId}:root` },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } },
          },
        ],
      }),
    }),
  );
}

/** Reset moto and build the organization. */
export async function setUpDemoOrg(): Promise<DemoOrg> {
  await resetMoto();
  const orgs = new OrganizationsClient(motoConfig());
  await orgs.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const demoAccountId = await createAccount(orgs, 'sv0-demo');
  const platformAccountId = await createAccount(orgs, 'sv0-platform');
  const unlistedAccountId = await createAccount(orgs, 'someone-elses');
  const prodAccountId = await createAccount(orgs, 'sv0-prod-lab');
  for (const id of [demoAccountId, platformAccountId, unlistedAccountId, prodAccountId]) {
    await createDeployRole(id, MOTO_DEFAULT_ACCOUNT);
  }
  const org: SandboxOrg = {
    accounts: [
      { name: 'sv0-demo', sandbox: true },
      { name: 'sv0-platform', sandbox: false },
      { name: 'sv0-prod-lab', sandbox: true },
    ],
  };
  return {
    managementAccountId: MOTO_DEFAULT_ACCOUNT,
    demoAccountId,
    platformAccountId,
    unlistedAccountId,
    prodAccountId,
    org,
    target: {
      accountId: demoAccountId,
      accountName: 'sv0-demo',
      roleName: Roles.deploy,
      externalIdRef: EXTERNAL_ID_REF,
    },
  };
}

/** Clients straight into one moto account, for set-up and inspection. */
export function accountClients(accountId: string): TagClients {
  return tagClients(motoConfig(accountId));
}

/**
 * A `makeClients` whose S3 client denies GetBucketTagging on `bucketName`, as a bucket policy's
 * deny does: a fake at the SDK-client boundary, because moto enforces no bucket policy. Every
 * other call, and every other bucket, goes to moto as usual.
 */
export function denyingS3(bucketName: string): (config: AwsClientConfig) => TagClients {
  return (config) => {
    const clients = tagClients(config);
    clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (
          context.commandName === 'GetBucketTaggingCommand' &&
          (args.input as { Bucket?: string }).Bucket === bucketName
        )
          // What S3 throws for a bucket policy's deny: its base class, AWS's code as the name.
          throw new S3ServiceException({
            name: 'AccessDenied',
            message: 'Access Denied',
            $fault: 'client',
            $metadata: { httpStatusCode: 403 },
          });
        return next(args);
      },
      { step: 'initialize', name: 'denyingS3' },
    );
    return clients;
  };
}

/** The secret references tests use: the external id and the webhook URL. */
function testSecrets(webhookUrl: string) {
  return {
    resolveSecret: async (ref: string): Promise<string> => {
      if (ref === EXTERNAL_ID_REF) return EXTERNAL_ID;
      if (ref === WEBHOOK_REF) return webhookUrl;
      throw new Error(`unknown secret reference ${ref}`);
    },
  };
}

/**
 * The worker's sandbox settings in demo tests: the accounts {@link setUpDemoOrg}'s org marks
 * sandbox (one of them named like prod, which the check refuses all the same).
 */
export const DEMO_WORKER_SANDBOX = { accounts: ['sv0-demo', 'sv0-prod-lab'], orchestratorRole: Roles.deploy };

/** The activities a worker for demo tests needs, on moto and the shared dev server. */
export function demoTestActivities(
  env: TestWorkflowEnvironment,
  webhook: Awaited<ReturnType<typeof startWebhookReceiver>>,
  extra: Partial<DemoActivitiesDeps> & Partial<DemoCostDeps> & { configDir?: string } = {},
) {
  const secrets = testSecrets(webhook.url);
  const { ce, configDir, ...rest } = extra;
  const deps = { aws: motoConfig(), secrets, sandbox: DEMO_WORKER_SANDBOX, ...rest };
  return {
    // The worker's own config folder (its scenarios and budgets.yaml); Cost Explorer for forecastAction.
    ...createDemoLifecycleActivities({ ...deps, configDir: configDir ?? CONFIG_DIR, ...(ce ? { ce } : {}) }),
    // moto's Cost Explorer answers GetCostAndUsage with no data unless a test gives its fake.
    ...createDemoCostActivities({ ce: ce ?? new CostExplorerClient(motoConfig()) }),
    // The worker's own org.yaml: its RegionLock names the regions the sweep reads.
    ...createDemoSweepActivities({ configDir: CONFIG_DIR, ...deps }),
    ...createDemoControlActivities({
      client: env.client,
      organizations: new OrganizationsClient(motoConfig()),
      sandbox: deps.sandbox,
    }),
    ...createNotifyActivities({
      sns: new SNSClient(motoConfig()),
      logger: createLogger('test', { write: () => undefined }),
      secrets,
      settings: workerSettings({ secrets: { envNames: ['SV0_TEST_*'] } }),
    }),
  };
}

/** The sweep's activities alone, as the worker builds them, on moto (no Temporal server needed). */
export function demoSweepActivities(extra: Partial<DemoSweepDeps> = {}) {
  return createDemoSweepActivities({
    aws: motoConfig(),
    secrets: testSecrets(''),
    sandbox: DEMO_WORKER_SANDBOX,
    ...extra,
  });
}

/** A demo input for a scenario of config/scenarios with a TTL in milliseconds. */
export function demoInput(
  o: DemoOrg,
  opts: { id: string; scenario?: string; ttlMs: number; maxTtlMs?: number; warnBeforeMs?: number },
): DemoInput {
  const scenario = loadScenario(CONFIG_DIR, opts.scenario ?? 'cross-account-trust');
  const input = buildDemoInput({
    scenario: { ...scenario, maxTtlMs: opts.maxTtlMs ?? scenario.maxTtlMs },
    id: opts.id,
    owner: 'demo-script',
    ttl: `${Math.round(opts.ttlMs / 1000)}s`,
    target: o.target,
    managementAccountId: o.managementAccountId,
    org: o.org,
    notifications: { sinks: [{ type: 'webhook', name: 'test', urlRef: WEBHOOK_REF }] },
  });
  return { ...input, ...(opts.warnBeforeMs ? { warnBeforeMs: opts.warnBeforeMs } : {}) };
}

/** Names of the activities scheduled in a history, in order. */
export function scheduledActivities(
  events: temporal.api.history.v1.IHistoryEvent[] | null | undefined,
): string[] {
  return (events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => typeof n === 'string');
}

/** The `event` field of every webhook notification received, in order. */
export function notificationEvents(
  webhook: Awaited<ReturnType<typeof startWebhookReceiver>>,
  demoId?: string,
): string[] {
  return webhook.received
    .map((r) => r.body as { event?: string; fields?: Record<string, unknown> })
    .filter((b) => demoId === undefined || b.fields?.demo === demoId)
    .map((b) => b.event ?? '');
}

/** Poll `fn` until it returns a truthy value (no timing assertion: only a generous bound). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
