import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { CreateBucketCommand, HeadBucketCommand, PutBucketTaggingCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createDemoSweepActivities } from '../../activities/demo/sweep';
import { createSecretResolver } from '../../activities/secrets/resolve';
import { connectorScheduleOptions } from '../../clients/connectors/schedules';
import type { ConnectorSpec } from '../../lib/config/connectors';
import type { WorkerSettings } from '../../lib/config/worker';
import {
  healthConfigSignal,
  syncReportedSignal,
  type ConnectorHealthConfig,
  type ConnectorSyncInput,
} from '../../lib/contracts/connectors';
import {
  budgetStatusQuery,
  checkNowUpdate,
  reconfigureSignal,
  unfreezeUpdate,
  type BudgetGuardConfig,
} from '../../lib/contracts/budget';
import type { DemoInput, DemoSweepInput, DeployAccess } from '../../lib/contracts/demo';
import type { SweepTargetInput } from '../../lib/contracts/demo-inputs';
import { ContainerLabels, ErrorType, Roles, ScheduleIds, Tags, WorkflowIds } from '../../lib/names';
import { createLogger } from '../../lib/runtime/logger';
import { createConnectorActivities, createInfraActivities } from '../../workers/activities';
import type { WorkerDeps } from '../../workers/deps';
import { connectorHealthWorkflow } from '../../workflows/connectors/health';
import { connectorSyncWorkflow } from '../../workflows/connectors/sync';
import { budgetGuardWorkflow } from '../../workflows/budget/guard';
import { demoLifecycleWorkflow } from '../../workflows/demo/lifecycle';
import { demoSweepWorkflow } from '../../workflows/demo/sweep';
import { budgetConfig, setSpend } from '../harness/budget-fixtures';
import { accountClients, demoInput, setUpDemoOrg, type DemoOrg } from '../harness/demo-fixture';
import { motoConfig } from '../harness/aws';
import { testConnectorSpec } from '../harness/connectors';
import { testDocker } from '../harness/docker';
import { startMotoRecorder } from '../harness/moto-recorder';
import { startPlatform, type PlatformStandIn } from '../harness/platform';
import { assertNoSecretsLeaked, captureWorkerLogs } from '../harness/secret-scan';
import { registerLogs, registerSecrets } from '../harness/secret-registry';
import { fakeOnePassword, makeAgeKey } from '../harness/secrets';
import { stack } from '../harness/stack';
import { startTestWorker, testEnv, uniqueId } from '../harness/temporal';
import { ensureTestNetwork, testWorkerSettings } from '../harness/worker-settings';

/**
 * Hostile input, table-driven: forged workflow inputs and signals sent with the plain Temporal
 * client (never the CLI, which validates first) to a worker built as production builds it (the
 * real activity factories of workers/activities.ts, a settings object, Podman, moto behind a
 * recorder, the 1Password stand-in). One worker per task queue serves the whole file, as one
 * production worker serves every hostile client. Each row must be refused by an activity with
 * `Sv0InputRefused` and a message that names the reason, and leave no trace: the 1Password
 * stand-in saw no call, no container was created for it, no AWS call changed anything, and no
 * worker credential or worker-only file content is in any history or log.
 *
 * To add a row: push a {@link HostileRow} to `rows` (or to a family's table below). `send` uses
 * the plain client in `ctx` and returns the id of the workflow whose history shows the refusal.
 */

/** The worker's own credentials, as its environment holds them: canaries that must never leave it. */
const WORKER_ENV = {
  AWS_SECRET_ACCESS_KEY: `aws-secret-${uniqueId('canary')}`,
  OP_SERVICE_ACCOUNT_TOKEN: `ops_${uniqueId('canary')}`,
  TEMPORAL_API_KEY: `temporal-key-${uniqueId('canary')}`,
  SV0_CODEC_KEYS: `codec-${uniqueId('canary')}`,
  SOPS_AGE_KEY_FILE: '(set below)',
  PLATFORM_TOKEN_FILE: '/etc/sv0/platform-token',
  UNLISTED_VAR: `unlisted-${uniqueId('canary')}`,
  CONNECTOR_ALLOWED: `allowed-${uniqueId('v')}`,
  PLATFORM_TOKEN: `platform-${uniqueId('canary')}`,
};
/** What a worker-only file holds (outside the secret folders). */
const WORKER_FILE_CONTENT = `worker-only-${uniqueId('canary')}`;
const CANARIES = [
  WORKER_ENV.AWS_SECRET_ACCESS_KEY,
  WORKER_ENV.OP_SERVICE_ACCOUNT_TOKEN,
  WORKER_ENV.TEMPORAL_API_KEY,
  WORKER_ENV.SV0_CODEC_KEYS,
  WORKER_ENV.UNLISTED_VAR,
  WORKER_ENV.PLATFORM_TOKEN,
  WORKER_FILE_CONTENT,
];
registerSecrets(...CANARIES);

/** What a row's `send` gets: the plain client, the task queues, the stand-ins and the files. */
interface HostileContext {
  client: Client;
  /** The organization in moto: sv0-demo is the worker's one sandbox account. */
  org: DemoOrg;
  queues: { connectors: string; infra: string };
  platform: PlatformStandIn;
  files: { allowedDir: string; workerOnly: string; escapeLink: string; envLink: string; attackerKey: string };
  /** A connector the settings allow (test image, test network): rows forge one thing in it. */
  connector(over?: Partial<ConnectorSpec>): ConnectorSpec;
  /** Start `connectorSyncWorkflow` by hand, as `temporal workflow start` would. */
  startSync(connector: ConnectorSpec): Promise<string>;
  /** Start `connectorHealthWorkflow` by hand with `config`; a schedule exists for each connector. */
  startHealth(config: Partial<ConnectorHealthConfig>): Promise<string>;
  /** Start a demo by hand: a valid demo of sv0-demo with `over` applied. */
  startDemo(over: Partial<DemoInput>): Promise<string>;
  /** Start the sweep by hand: one account, applying, with `over` applied. */
  startSweep(target: DeployAccess, over: Partial<DemoSweepInput>): Promise<string>;
  /** Start a budget guard by hand with a budget on `account` (spend 50 %) and `over` applied. */
  startGuard(
    account: string,
    over?: Partial<BudgetGuardConfig['budget']>,
    org?: BudgetGuardConfig['org'],
  ): Promise<string>;
}

interface HostileRow {
  name: string;
  send(ctx: HostileContext): Promise<string>;
  /** The refusal: what its message must say. */
  reason: RegExp;
  /** The activity failure's type. @default Sv0InputRefused */
  type?: string;
  /**
   * Where the refusal shows, when it is not an activity failure of `type` in the workflow's history
   * (a signal the workflow refuses, an update its validator rejects): resolves with its message.
   */
  refusal?: (ctx: HostileContext, workflowId: string) => Promise<string>;
}

/** The worker's sandbox account, reached as an operator's config would reach it. */
const sandboxTarget = (ctx: HostileContext, over: Partial<DeployAccess> = {}): DeployAccess => ({
  accountId: ctx.org.demoAccountId,
  accountName: 'sv0-demo',
  roleName: Roles.deploy,
  // A value, not a reference: moto checks no external id, and the fixture's own stays out of history.
  externalId: 'hostile-external-id',
  ...over,
});
/** An org.yaml view that marks `name` a sandbox: what a forged input claims. */
const forgedOrg = (name: string) => ({ accounts: [{ name, sandbox: true }] });
/** The scenario of a valid demo (cross-account-trust), as the workflow receives it: rows forge its name. */
const demoScenario = (ctx: HostileContext) => demoInput(ctx.org, { id: 'scenario', ttlMs: 600_000 }).scenario;
/** Update rejections are thrown by the client; rows keep the message for their refusal. */
const rejections = new Map<string, string>();

const sandboxRows: HostileRow[] = [
  {
    name: 'demo: start into sv0-platform, which the forged org marks sandbox',
    send: (ctx) =>
      ctx.startDemo({
        target: sandboxTarget(ctx, { accountId: ctx.org.platformAccountId, accountName: 'sv0-platform' }),
        org: forgedOrg('sv0-platform'),
      }),
    type: ErrorType.SandboxRefused,
    reason: /sv0-platform\) is not a sandbox account of the worker/,
  },
  {
    name: 'demo: start into the management account, under a forged management account id',
    send: (ctx) =>
      ctx.startDemo({
        target: sandboxTarget(ctx, { accountId: ctx.org.managementAccountId }),
        managementAccountId: '999999999999',
      }),
    type: ErrorType.SandboxRefused,
    reason: /management account is 123456789012, not 999999999999 as given/,
  },
  {
    name: "demo: another role than the worker's orchestrator role",
    send: (ctx) =>
      ctx.startDemo({ target: sandboxTarget(ctx, { roleName: 'OrganizationAccountAccessRole' }) }),
    type: ErrorType.SandboxRefused,
    reason: /role OrganizationAccountAccessRole is not the worker's orchestrator role/,
  },
  {
    name: 'demo: the external id from a worker credential',
    send: (ctx) =>
      ctx.startDemo({
        target: sandboxTarget(ctx, { externalId: undefined, externalIdRef: 'env:AWS_SECRET_ACCESS_KEY' }),
      }),
    reason: /env:AWS_SECRET_ACCESS_KEY is never readable/,
  },
  {
    name: 'demo: an id that names a stack other than sv0-demo-<id>',
    send: (ctx) => ctx.startDemo({ id: 'Prod_Stack' }),
    reason: /deployDemoScenario input stackName: a demo stack is named sv0-demo-<demo id>/,
  },
  {
    name: "demo: a scenario the worker's config folder does not have",
    send: (ctx) => ctx.startDemo({ scenario: { ...demoScenario(ctx), name: 'no-such-scenario' } }),
    type: ErrorType.BadConfig,
    reason: /scenario no-such-scenario is not deployable by this worker/,
  },
  {
    name: 'demo: a path for a scenario name',
    send: (ctx) => ctx.startDemo({ scenario: { ...demoScenario(ctx), name: '../../../tmp/app' } }),
    reason: /deployDemoScenario input scenario: a scenario name/,
  },
  {
    name: "demo: an owner the worker's config/org.yaml does not declare",
    send: (ctx) => ctx.startDemo({ owner: 'mallory' }),
    reason:
      /owner "mallory" is not declared in the worker's config\/org\.yaml \(tagPolicy\.values\.sv0:owner: ivan, automated, demo-script\)/,
  },
  {
    name: 'sweep: sv0-platform, which the forged org marks sandbox',
    send: (ctx) =>
      ctx.startSweep(
        sandboxTarget(ctx, { accountId: ctx.org.platformAccountId, accountName: 'sv0-platform' }),
        { org: forgedOrg('sv0-platform') },
      ),
    type: ErrorType.SandboxRefused,
    reason: /sv0-platform\) is not a sandbox account of the worker/,
  },
  {
    name: "sweep: a region the worker's org.yaml RegionLock does not allow",
    send: (ctx) => ctx.startSweep(sandboxTarget(ctx), { regions: ['us-east-1', 'eu-west-1'] }),
    reason:
      /the sweep's regions eu-west-1 are not among those the worker sweeps \(us-east-1, us-west-2\): the aws:RequestedRegion list of the RegionLock SCP in the worker's .*org\.yaml/,
  },
  {
    name: 'sweep: the management account, under a forged management account id',
    send: (ctx) =>
      ctx.startSweep(sandboxTarget(ctx, { accountId: ctx.org.managementAccountId }), {
        managementAccountId: '999999999999',
      }),
    type: ErrorType.SandboxRefused,
    reason: /management account is 123456789012, not 999999999999 as given/,
  },
  {
    name: 'guard: a forged config that freezes sv0-platform, which its org marks sandbox',
    send: (ctx) => ctx.startGuard('sv0-platform', { freezeAt: 10 }, forgedOrg('sv0-platform')),
    type: ErrorType.SandboxRefused,
    reason: /sv0-platform\) is not a sandbox account of the worker/,
  },
  {
    name: 'guard: a reconfigure signal that moves the guard to sv0-demo with a freeze',
    send: async (ctx) => {
      const id = await ctx.startGuard('sv0-platform');
      const handle = ctx.client.workflow.getHandle(id);
      const config = (await handle.query(budgetStatusQuery)).budget;
      await handle.signal(reconfigureSignal, {
        budget: budgetConfig({ name: config, account: 'sv0-demo', amount: 10, freezeAt: 10 }),
        org: forgedOrg('sv0-demo'),
        notifications: [{ type: 'log' }],
      });
      return id;
    },
    reason: /belongs to sv0-platform; moving it to sv0-demo needs a new guard/,
    refusal: async (ctx, id) => {
      const handle = ctx.client.workflow.getHandle(id);
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const refused = (await handle.query(budgetStatusQuery)).audit.find(
          (a) => a.action === 'reconfigure-refused',
        );
        if (refused) return refused.reason;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${id}: no reconfigure-refused entry in the audit trail`);
    },
  },
  ...(
    [
      ['without an approver', { by: '', reason: '' }, /unfreeze needs who approves it/],
      ['of a guard that is not frozen', { by: 'mallory', reason: 'forged' }, /is not frozen/],
    ] as const
  ).map(([what, request, reason]): HostileRow => ({
    name: `guard: an unfreeze ${what}`,
    send: async (ctx) => {
      const id = await ctx.startGuard('sv0-demo');
      await ctx.client.workflow
        .getHandle(id)
        .executeUpdate(unfreezeUpdate, { args: [request] })
        .then(
          () => rejections.set(id, '(accepted)'),
          (err: unknown) =>
            rejections.set(
              id,
              err instanceof WorkflowUpdateFailedError ? String(err.cause?.message) : String(err),
            ),
        );
      return id;
    },
    reason,
    refusal: async (_ctx, id) => rejections.get(id) ?? '(no answer)',
  })),
];

const refs = (vars: Record<string, string>): Partial<ConnectorSpec> => ({
  secrets: [{ type: 'refs', vars }],
});

const connectorRows: HostileRow[] = [
  ...(
    [
      ['AWS_SECRET_ACCESS_KEY', /env:AWS_SECRET_ACCESS_KEY is never readable .*AWS_\*/],
      ['OP_SERVICE_ACCOUNT_TOKEN', /env:OP_SERVICE_ACCOUNT_TOKEN is never readable/],
      ['TEMPORAL_API_KEY', /env:TEMPORAL_API_KEY is never readable/],
      ['SV0_CODEC_KEYS', /env:SV0_CODEC_KEYS is never readable/],
      ['SOPS_AGE_KEY_FILE', /env:SOPS_AGE_KEY_FILE is never readable/],
      ['PLATFORM_TOKEN_FILE', /env:PLATFORM_TOKEN_FILE is never readable .*\*_FILE/],
      [
        'UNLISTED_VAR',
        /env:UNLISTED_VAR is not allowed by the worker \(add UNLISTED_VAR to secrets\.envNames/,
      ],
    ] as const
  ).map(([name, reason]): HostileRow => ({
    name: `sync: refs env:${name}`,
    send: (ctx) => ctx.startSync(ctx.connector(refs({ X: `env:${name}` }))),
    reason,
  })),
  {
    name: 'sync: refs file: outside the secret folders',
    send: (ctx) => ctx.startSync(ctx.connector(refs({ Y: `file:${ctx.files.workerOnly}` }))),
    reason: /Y: file .*worker-only\.key is outside the worker's secret folders/,
  },
  {
    name: 'sync: refs file: with .. out of the folder',
    send: (ctx) =>
      ctx.startSync(ctx.connector(refs({ Y: `file:${ctx.files.allowedDir}/../worker-only.key` }))),
    reason: /a path with \.\. is refused/,
  },
  {
    name: 'sync: refs file: through a symlink out of the folder',
    send: (ctx) => ctx.startSync(ctx.connector(refs({ Y: `file:${ctx.files.escapeLink}` }))),
    reason: /escape\.key: refused, it resolves outside the worker's secret folders/,
  },
  {
    name: 'sync: env-file outside the folders',
    send: (ctx) =>
      ctx.startSync(ctx.connector({ secrets: [{ type: 'env-file', path: ctx.files.workerOnly }] })),
    reason: /env-file .*worker-only\.key is outside the worker's secret folders/,
  },
  {
    name: 'sync: env-file through a symlink',
    send: (ctx) => ctx.startSync(ctx.connector({ secrets: [{ type: 'env-file', path: ctx.files.envLink }] })),
    reason: /linked\.env: refused, it resolves outside/,
  },
  {
    name: 'sync: sops file outside the folders',
    send: (ctx) =>
      ctx.startSync(ctx.connector({ secrets: [{ type: 'sops', path: `${ctx.files.workerOnly}.enc` }] })),
    reason: /sops .*worker-only\.key\.enc is outside the worker's secret folders/,
  },
  {
    name: "sync: sops ageKeyFile other than the worker's key",
    send: (ctx) =>
      ctx.startSync(
        ctx.connector({
          secrets: [
            { type: 'sops', path: `${ctx.files.allowedDir}/a.env.enc`, ageKeyFile: ctx.files.attackerKey },
          ],
        }),
      ),
    reason: /ageKeyFile .*attacker\.key is refused: the worker decrypts only with its own age key/,
  },
  {
    name: 'sync: network host',
    send: (ctx) => ctx.startSync(ctx.connector({ network: 'host' })),
    reason: /network host is never allowed/,
  },
  {
    name: 'sync: a network not in the settings',
    send: (ctx) => ctx.startSync(ctx.connector({ network: 'podman' })),
    reason: /network podman is not allowed by the worker \(add it to connectors\.networks/,
  },
  {
    name: 'sync: an image from another registry',
    send: (ctx) => ctx.startSync(ctx.connector({ image: 'docker.io/library/busybox:latest' })),
    reason: /image docker\.io\/library\/busybox:latest is not allowed by the worker/,
  },
  {
    name: 'sync: an unknown pull policy',
    send: (ctx) => ctx.startSync(ctx.connector({ pull: 'sometimes' as 'always' })),
    reason: /connector\.pull: Invalid option: expected one of "missing"\|"always"/,
  },
  {
    name: 'sync: pull always of an image from another registry',
    send: (ctx) =>
      ctx.startSync(ctx.connector({ image: 'docker.io/library/busybox:latest', pull: 'always' })),
    reason: /image docker\.io\/library\/busybox:latest is not allowed by the worker/,
  },
  {
    name: 'sync: pull always with a registry password for another registry than the image',
    send: (ctx) =>
      ctx.startSync(
        ctx.connector({
          pull: 'always',
          registryAuth: { server: 'evil.example.com', username: 'u', passwordRef: 'op://vault/item/field' },
        }),
      ),
    reason: /registry credentials for evil\.example\.com cannot be used for image/,
  },
  {
    name: 'sync: registry password sent to another registry than the image',
    send: (ctx) =>
      ctx.startSync(
        ctx.connector({
          registryAuth: { server: 'evil.example.com', username: 'u', passwordRef: 'op://vault/item/field' },
        }),
      ),
    reason: /registry credentials for evil\.example\.com cannot be used for image/,
  },
  {
    name: 'sync: registry password from a worker credential',
    send: (ctx) =>
      ctx.startSync(
        ctx.connector({
          registryAuth: { server: 'localhost', username: 'u', passwordRef: 'env:AWS_SECRET_ACCESS_KEY' },
        }),
      ),
    reason: /env:AWS_SECRET_ACCESS_KEY is never readable/,
  },
  {
    name: 'sync: memory above the maximum',
    send: (ctx) => ctx.startSync(ctx.connector({ memoryMb: 60000 })),
    reason: /memoryMb 60000 is above the worker's maximum of 2048/,
  },
  {
    name: 'sync: CPUs above the maximum',
    send: (ctx) => ctx.startSync(ctx.connector({ cpus: 16 })),
    reason: /cpus 16 is above the worker's maximum of 2/,
  },
  {
    name: 'sync: pids above the maximum',
    send: (ctx) => ctx.startSync(ctx.connector({ pids: 60000 })),
    reason: /pids 60000 is above the worker's maximum of 1024/,
  },
  {
    name: 'sync: a smuggled field (privileged)',
    send: (ctx) => ctx.startSync({ ...ctx.connector(), privileged: true } as ConnectorSpec),
    reason: /runConnector input connector: Unrecognized key: "privileged"/,
  },
  {
    name: 'sync: a connector name that is not one',
    send: (ctx) => ctx.startSync(ctx.connector({ name: 'X;rm -rf' })),
    reason: /runConnector input connector\.name: a connector name is lower case/,
  },
  {
    name: 'health: platform URL of another host',
    send: (ctx) =>
      ctx.startHealth({
        platform: {
          url: 'http://evil.example:3000',
          tokenRef: 'env:PLATFORM_TOKEN',
          syncsPath: '/api/v1/syncs',
        },
      }),
    reason: /platform URL http:\/\/evil\.example:3000 is not the worker's platform/,
  },
  {
    name: 'health: a protocol-relative syncs path (another host)',
    send: (ctx) =>
      ctx.startHealth({
        platform: { url: ctx.platform.url, tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '//evil.example/x' },
      }),
    reason: /lastPlatformSync input platform\.syncsPath: a path on the platform/,
  },
  {
    name: 'health: the platform token from a worker credential',
    send: (ctx) =>
      ctx.startHealth({
        platform: {
          url: ctx.platform.url,
          tokenRef: 'env:AWS_SECRET_ACCESS_KEY',
          syncsPath: '/api/v1/syncs',
        },
      }),
    reason: /env:AWS_SECRET_ACCESS_KEY is never readable/,
  },
  {
    name: 'health: a healthConfig signal that moves the platform',
    send: async (ctx) => {
      const id = await ctx.startHealth({});
      await ctx.client.workflow.getHandle(id).signal(healthConfigSignal, {
        ...(await healthConfig(ctx, {})),
        platform: { url: 'https://evil.example', tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '/api/v1/syncs' },
      });
      return id;
    },
    reason: /platform URL https:\/\/evil\.example is not the worker's platform/,
  },
  {
    name: 'notify: a webhook sink whose URL is a worker credential',
    send: (ctx) =>
      failedRunReport(ctx, [{ type: 'webhook', name: 'forged', urlRef: 'env:AWS_SECRET_ACCESS_KEY' }]),
    reason: /webhook sink forged: env:AWS_SECRET_ACCESS_KEY is never readable/,
  },
  {
    name: 'notify: a webhook sink whose URL is a worker-only file',
    send: (ctx) =>
      failedRunReport(ctx, [{ type: 'webhook', name: 'forged', urlRef: `file:${ctx.files.workerOnly}` }]),
    reason: /webhook sink forged: file .*worker-only\.key is outside the worker's secret folders/,
  },
];

/** A health config the settings allow, with `over` applied (the connectors have schedules). */
async function healthConfig(
  ctx: HostileContext,
  over: Partial<ConnectorHealthConfig>,
): Promise<ConnectorHealthConfig> {
  return {
    connectors: [{ name: healthConnector, interval: '1h', pauseAfterFailedRuns: 1 }],
    platform: { url: ctx.platform.url, tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '/api/v1/syncs' },
    checkEvery: '2s',
    sinks: [{ type: 'log' }],
    ...over,
  };
}

/** A health check with `sinks`, told of a failed run, so it pauses and notifies at once. */
async function failedRunReport(ctx: HostileContext, sinks: ConnectorHealthConfig['sinks']): Promise<string> {
  const id = await ctx.startHealth({ sinks });
  await ctx.client.workflow
    .getHandle(id)
    .signal(syncReportedSignal, { connector: healthConnector, workflowId: 'forged', ok: false, reason: 'x' });
  return id;
}

const rows: HostileRow[] = [...connectorRows, ...sandboxRows];

let env: TestWorkflowEnvironment;
let client: Client;
let platform: PlatformStandIn;
let recorder: Awaited<ReturnType<typeof startMotoRecorder>>;
let runtimeLogs: ReturnType<typeof captureWorkerLogs>;
let ctx: HostileContext;
let settings: WorkerSettings;
let stopWorkers: (() => Promise<void>) | undefined;
const op = fakeOnePassword({ 'op://vault/item/field': 'never-resolved-value' });
const workerLog: string[] = [];
const logger = createLogger(
  'hostile-test-worker',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      workerLog.push(chunk.toString('utf8'));
      done();
    },
  }),
);
const queues = { connectors: uniqueId('hostile-connectors'), infra: uniqueId('hostile-infra') };
const healthConnector = uniqueId('hostile-health');
const started: string[] = [];
/** The workflow id of every container the worker asked the engine to create. */
const containersCreated: string[] = [];
const fileStart = new Date();

/** The worker as workers/main.ts builds it, from deps pointed at the local stand-ins. */
function productionActivities(): { connectors: object; infra: object } {
  const deps: WorkerDeps = {
    aws: { ...motoConfig(), endpoint: recorder.url },
    docker: recordingDocker(containersCreated),
    logger,
    secrets: createSecretResolver({ onePassword: op.provider, env: { ...WORKER_ENV }, bounds: settings }),
    settings,
    configDir: path.resolve(__dirname, '../../config'),
  };
  return { connectors: createConnectorActivities(deps), infra: createInfraActivities(deps) };
}

/** Start both task queues' workers, polling until the file ends; resolves with their stop. */
async function startWorkers(): Promise<() => Promise<void>> {
  const activities = productionActivities();
  const workers = await Promise.all([
    startTestWorker({ env, taskQueue: queues.infra, activities: activities.infra }),
    startTestWorker({ env, taskQueue: queues.connectors, activities: activities.connectors }),
  ]);
  return async () => {
    await Promise.all(workers.map((w) => w.stop()));
  };
}

/** The refusal in a workflow's history: an activity failure of `type` (Sv0InputRefused), non-retryable. */
async function refusalIn(
  workflowId: string,
  type: string = ErrorType.InputRefused,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const refused = events
      .map((e) => e.activityTaskFailedEventAttributes?.failure)
      .find((f) => f?.applicationFailureInfo?.type === type);
    if (refused) {
      expect(refused.applicationFailureInfo?.nonRetryable).toBe(true);
      return refused.message ?? '';
    }
    if (Date.now() > deadline) throw new Error(`no ${type} activity failure in ${workflowId}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The worker's engine client, recording the workflow id label of every container it is asked to
 * create: a created-and-removed container would not be listed afterwards, but is recorded here.
 */
function recordingDocker(created: string[]): Docker {
  const docker = testDocker();
  const create = docker.createContainer.bind(docker);
  docker.createContainer = (options: Docker.ContainerCreateOptions) => {
    created.push(options.Labels?.[ContainerLabels.workflowId] ?? '(no label)');
    return create(options);
  };
  return docker;
}

/** Containers the engine lists with a workflow's label (running or stopped). */
async function containersListed(workflowId: string): Promise<number> {
  const listed = await testDocker().listContainers({
    all: true,
    filters: { label: [`${ContainerLabels.workflowId}=${workflowId}`] },
  });
  return listed.length;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

beforeAll(async () => {
  env = await testEnv();
  client = env.client;
  runtimeLogs = captureWorkerLogs();
  recorder = await startMotoRecorder();
  platform = await startPlatform({ token: WORKER_ENV.PLATFORM_TOKEN });
  await ensureTestNetwork();
  // The worker's disk: a secret folder, and outside it a worker-only file, the worker's age key
  // and links that lead out of the folder.
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'sv0-hostile-')));
  const allowedDir = path.join(root, 'connectors');
  mkdirSync(allowedDir);
  const workerOnly = path.join(root, 'worker-only.key');
  writeFileSync(workerOnly, `${WORKER_FILE_CONTENT}\n`);
  chmodSync(workerOnly, 0o600);
  writeFileSync(`${workerOnly}.enc`, 'not read');
  const escapeLink = path.join(allowedDir, 'escape.key');
  symlinkSync(workerOnly, escapeLink);
  const envLink = path.join(allowedDir, 'linked.env');
  symlinkSync(workerOnly, envLink);
  const ownKey = makeAgeKey(stack().tools, root, 'worker-age.txt');
  const attackerKey = makeAgeKey(stack().tools, allowedDir, 'attacker.key').keyFile;
  WORKER_ENV.SOPS_AGE_KEY_FILE = ownKey.keyFile;
  // The organization the sandbox rows forge against: sv0-demo is the worker's one sandbox account.
  const org = await setUpDemoOrg();
  settings = testWorkerSettings({
    platformUrl: platform.url,
    secrets: { folders: [allowedDir], envNames: ['CONNECTOR_*', 'PLATFORM_TOKEN'] },
    ageKey: { kind: 'file', path: ownKey.keyFile },
    sandbox: { accounts: ['sv0-demo'], managementAccountId: org.managementAccountId },
  });
  const connector = (over: Partial<ConnectorSpec> = {}) =>
    testConnectorSpec(uniqueId('hostile'), platform.containerUrl, over);
  ctx = {
    client,
    org,
    queues,
    platform,
    files: { allowedDir, workerOnly, escapeLink, envLink, attackerKey },
    connector,
    async startSync(c) {
      const workflowId = uniqueId('hostile-sync');
      started.push(workflowId);
      const input: ConnectorSyncInput = { connector: c, healthWorkflowId: 'none' };
      await client.workflow.start(connectorSyncWorkflow, {
        workflowId,
        taskQueue: queues.connectors,
        args: [input],
      });
      return workflowId;
    },
    async startHealth(over) {
      const workflowId = uniqueId('hostile-health');
      started.push(workflowId);
      await client.workflow.start(connectorHealthWorkflow, {
        workflowId,
        taskQueue: queues.connectors,
        args: [{ config: await healthConfig(ctx, over) }],
      });
      return workflowId;
    },
    async startDemo(over) {
      const input = {
        ...demoInput(org, { id: uniqueId('hostile'), ttlMs: 600_000 }),
        target: sandboxTarget(ctx),
        ...over,
      };
      const notifications: DemoInput['notifications'] = [{ type: 'log' }];
      const workflowId = WorkflowIds.demo(input.id);
      started.push(workflowId);
      await client.workflow.start(demoLifecycleWorkflow, {
        workflowId,
        taskQueue: queues.infra,
        args: [{ ...input, notifications }],
      });
      return workflowId;
    },
    async startSweep(target, over) {
      const workflowId = uniqueId('hostile-sweep');
      started.push(workflowId);
      const input: DemoSweepInput = {
        accounts: [target],
        org: forgedOrg('sv0-demo'),
        managementAccountId: org.managementAccountId,
        apply: true,
        runningDemoIds: [],
        notifications: [{ type: 'log' }],
        ...over,
      };
      await client.workflow.start(demoSweepWorkflow, { workflowId, taskQueue: queues.infra, args: [input] });
      return workflowId;
    },
    async startGuard(account, over = {}, guardOrg = forgedOrg('sv0-demo')) {
      const budget = budgetConfig({ name: uniqueId('hostile'), account, amount: 10, notify: [], ...over });
      await setSpend(budget, 5);
      const workflowId = WorkflowIds.budget(budget.name);
      started.push(workflowId);
      const handle = await client.workflow.start(budgetGuardWorkflow, {
        workflowId,
        taskQueue: queues.infra,
        args: [{ budget, org: guardOrg, notifications: [{ type: 'log' }] }],
      });
      await handle.executeUpdate(checkNowUpdate);
      return workflowId;
    },
  };
  // The health check asks the platform only for connectors whose schedule exists and runs.
  await client.schedule.create({
    ...connectorScheduleOptions(
      testConnectorSpec(healthConnector, platform.containerUrl, { interval: '24h' }),
      {
        taskQueue: uniqueId('never-polled'),
      },
    ),
  });
  stopWorkers = await startWorkers();
});

afterAll(async () => {
  for (const id of started)
    await client.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  await stopWorkers?.();
  await client.schedule
    .getHandle(ScheduleIds.connector(healthConnector))
    .delete()
    .catch(() => undefined);
  runtimeLogs?.restore();
  registerLogs(workerLog.join(''));
  await platform?.close();
  await recorder?.close();
});

describe('hostile input is refused by the worker, whoever starts the workflow', () => {
  it(`has at least 25 rows (${rows.length})`, () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });

  it.each(rows.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const callsBefore = op.calls.length;
    const workflowId = await row.send(ctx);
    const message = row.refusal ? await row.refusal(ctx, workflowId) : await refusalIn(workflowId, row.type);
    if ((row.type ?? ErrorType.InputRefused) === ErrorType.InputRefused && !row.refusal)
      expect(message).toMatch(/^refused by the worker: /);
    expect(message).toMatch(row.reason);
    for (const canary of CANARIES) expect(message).not.toContain(canary);
    expect(op.calls.length, '1Password was asked').toBe(callsBefore);
    expect(containersCreated).not.toContain(workflowId);
    expect(await containersListed(workflowId)).toBe(0);
  });

  it('the probe: a copied schedule input with forged refs gives the container nothing of the worker', async () => {
    const name = uniqueId('probe');
    const spec = testConnectorSpec(name, platform.containerUrl, {}, { SV0_TEST_HASH_VARS: 'A' });
    const legit = { ...spec, secrets: [{ type: 'refs' as const, vars: { A: 'env:CONNECTOR_ALLOWED' } }] };
    await client.schedule.create(connectorScheduleOptions(legit, { taskQueue: queues.connectors }));
    try {
      // What an operator sees in the Web UI: the schedule's action, its input.
      const action = (await client.schedule.getHandle(ScheduleIds.connector(name)).describe()).action;
      if (action.type !== 'startWorkflow') throw new Error('the schedule starts no workflow');
      const copied = action.args?.[0] as ConnectorSyncInput;
      // First the copy unchanged, by hand: it runs, and the container reports what it received.
      const fine = await ctx.startSync(copied.connector);
      await client.workflow.getHandle(fine).result();
      expect(platform.submissions.filter((s) => s.connector === name)).toEqual([
        { connector: name, name: 'A', sha256: sha256(WORKER_ENV.CONNECTOR_ALLOWED) },
      ]);
      // Then the probe: the same input with the worker's credentials and a worker-only file added.
      const forged: ConnectorSpec = {
        ...copied.connector,
        environment: { ...copied.connector.environment, SV0_TEST_HASH_VARS: 'A,X,Y' },
        secrets: [
          ...copied.connector.secrets,
          { type: 'refs', vars: { X: 'env:AWS_SECRET_ACCESS_KEY', Y: `file:${ctx.files.workerOnly}` } },
        ],
      };
      const probe = await ctx.startSync(forged);
      expect(await refusalIn(probe)).toMatch(/X: env:AWS_SECRET_ACCESS_KEY is never readable/);
      const err = await client.workflow
        .getHandle(probe)
        .result()
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect(err).toBeDefined();
      expect(platform.submissions.filter((s) => s.connector === name)).toHaveLength(1);
      const received = new Set(platform.submissions.map((s) => s.sha256));
      for (const canary of [...CANARIES, `${WORKER_FILE_CONTENT}`])
        expect(received.has(sha256(canary)), 'a worker credential reached a container').toBe(false);
    } finally {
      await client.schedule
        .getHandle(ScheduleIds.connector(name))
        .delete()
        .catch(() => undefined);
    }
  });

  it("a forged sweep activity input (as a workflow on the worker's task queue can schedule it) with `now` 10 years on ages nothing: the worker's clock does", async () => {
    // Made straight in moto, not through the recorder: the sweep must leave it.
    const name = uniqueId('young-eph');
    const bucketArn = `arn:aws:s3:::${name}`;
    const c = accountClients(ctx.org.demoAccountId);
    await c.s3.send(new CreateBucketCommand({ Bucket: name }));
    await c.s3.send(
      new PutBucketTaggingCommand({
        Bucket: name,
        Tagging: { TagSet: [{ Key: Tags.ephemeral, Value: 'true' }] },
      }),
    );
    const sweep = productionActivities().infra as ReturnType<typeof createDemoSweepActivities>;
    const forged: SweepTargetInput = {
      target: sandboxTarget(ctx),
      org: forgedOrg('sv0-demo'),
      managementAccountId: ctx.org.managementAccountId,
      runningDemoIds: [],
      maxAgeMs: 12 * 3_600_000,
      now: Date.now() + 10 * 365 * 24 * 3_600_000,
    };
    const plan = await sweep.planAccountSweep(forged);
    expect(plan.kept).toContainEqual({ arn: bucketArn, type: 's3:bucket', reason: 'young' });
    expect([...plan.stacks, ...plan.resources]).toEqual([]);
    const out = await sweep.applyAccountSweep({ ...forged, step: 'resources', approved: [bucketArn] });
    expect(out).toEqual({ deleted: [], failed: [] });
    await c.s3.send(new HeadBucketCommand({ Bucket: name }));
  });

  it('left no trace: no container for a refused run, no AWS change, no credential in histories or logs', async () => {
    const syncs = started.filter((id) => id.startsWith('hostile-sync'));
    expect(syncs.length).toBeGreaterThanOrEqual(20);
    // Exactly one container in the whole file: the probe's unchanged copy, which was allowed to run.
    expect(containersCreated).toHaveLength(1);
    expect(syncs).toContain(containersCreated[0]);
    expect(recorder.changes()).toEqual([]);
    const log = workerLog.join('') + runtimeLogs.text();
    for (const canary of CANARIES) expect(log).not.toContain(canary);
    await assertNoSecretsLeaked({ client, secrets: CANARIES, logs: [log], since: fileStart });
  });
});
