import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerRunner } from '../../../activities/connectors/containers';
import { createConnectorSyncActivities } from '../../../activities/connectors/sync';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import type { ConnectorSpec } from '../../../lib/config/connectors';
import type { RoleHop } from '../../../lib/config/worker';
import { ContainerLabels, ErrorType, Roles } from '../../../lib/names';
import { createLogger } from '../../../lib/runtime/logger';
import { connectorSyncWorkflow } from '../../../workflows/connectors/sync';
import { motoConfig } from '../../harness/aws';
import { testConnectorSpec } from '../../harness/connectors';
import { testDocker } from '../../harness/docker';
import { startMotoRecorder } from '../../harness/moto-recorder';
import { startPlatform, type PlatformStandIn } from '../../harness/platform';
import { registerLogs, registerSecrets } from '../../harness/secret-registry';
import { assertNoSecretsLeaked, captureWorkerLogs } from '../../harness/secret-scan';
import { fakeOnePassword } from '../../harness/secrets';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { ensureTestNetwork, testWorkerSettings } from '../../harness/worker-settings';

/**
 * Per-run temporary AWS credentials (moto, Podman, a real Temporal server): a connector that names
 * a role chain of the worker's settings gets the last hop's temporary keys in its container, the
 * chain is assumed hop by hop with the worker's external ids, and no key appears in a history, a
 * log or an error. moto mints the keys; a recorder in front of it tells the test which.
 */

const PLATFORM_TOKEN = `platform-token-${uniqueId('v')}`;
/** A secret of Secrets Manager the same run reads through an aws-sm:// reference. */
const SM_TOKEN = `sm-token-${uniqueId('v')}`;
const SM_SECRET = uniqueId('sv0-test/aws-connector');
registerSecrets(PLATFORM_TOKEN, SM_TOKEN);

/** The management account the worker runs in: an account of moto's of this file's own. */
const MANAGEMENT = String(100_000_000_000 + Math.floor(Math.random() * 800_000_000_000));
const PLATFORM_EXTERNAL_ID = 'sv0-connector-credentials-test';
const SECURITY_EXTERNAL_ID = 'sv0-security-readonly-test';
const CHAIN: RoleHop[] = [
  { account: 'sv0-platform', role: Roles.connectorCredentials, externalId: PLATFORM_EXTERNAL_ID },
  { account: 'sv0-security-tooling', role: Roles.securityReadOnly, externalId: SECURITY_EXTERNAL_ID },
];
const CREDENTIAL_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

let env: TestWorkflowEnvironment;
let client: Client;
let docker: Docker;
let platform: PlatformStandIn;
let runtimeLogs: ReturnType<typeof captureWorkerLogs>;
let recorder: Awaited<ReturnType<typeof startMotoRecorder>>;
const accountIds: Record<string, string> = {};
const workerLog: string[] = [];
const workflowIds: string[] = [];
/** Every key moto minted for this file's runs: none may appear anywhere. */
const minted: string[] = [];
const taskQueue = uniqueId('aws-credentials');
const fileStart = new Date();

const logger = createLogger(
  'aws-credentials-test-worker',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      workerLog.push(chunk.toString('utf8'));
      done();
    },
  }),
);

const settings = () =>
  testWorkerSettings({
    platformUrl: platform.url,
    secrets: {
      envNames: ['PLATFORM_TOKEN'],
      awsSecretsManager: [SM_SECRET],
      roleChains: {
        'aws-connector': CHAIN,
        'no-such-account': [{ account: 'sv0-nowhere', role: Roles.securityReadOnly }],
      },
    },
  });

function activities() {
  return createConnectorSyncActivities({
    runner: createDockerRunner({ docker, logger }),
    secrets: createSecretResolver({
      onePassword: fakeOnePassword({}).provider,
      env: { PLATFORM_TOKEN },
      bounds: settings(),
      secretsManager: new SecretsManagerClient(motoConfig(MANAGEMENT)),
    }),
    logger,
    settings: settings(),
    aws: { ...motoConfig(MANAGEMENT), endpoint: recorder.url },
  });
}

const withWorker = <T>(fn: () => Promise<T>) => runWorker({ env, taskQueue, activities: activities() }, fn);

function spec(name: string, over: Partial<ConnectorSpec> = {}, vars: Record<string, string> = {}) {
  return testConnectorSpec(name, platform.containerUrl, over, vars);
}

/** Run one sync workflow to its end: its result, or the failure it ended with. */
async function runSync(connector: ConnectorSpec) {
  const workflowId = uniqueId(`sync-${connector.name}`);
  workflowIds.push(workflowId);
  return client.workflow
    .execute(connectorSyncWorkflow, {
      workflowId,
      taskQueue,
      args: [{ connector, healthWorkflowId: 'no-health-in-this-test' }],
    })
    .then(
      (result) => ({ workflowId, result, error: undefined }),
      (error: unknown) => ({ workflowId, result: undefined, error }),
    );
}

interface AssumedRole {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  role_arn: string;
  external_id: string | null;
  session_name: string;
}

/**
 * The role sessions moto minted for the worker, read from the AssumeRole calls that passed the
 * recorder in front of moto: what the worker asked for and the keys moto answered with.
 */
function assumedRoles(): AssumedRole[] {
  const sessions: AssumedRole[] = [];
  for (const call of recorder.calls) {
    if (call.operation !== 'AssumeRole' || !call.response) continue;
    const asked = new URLSearchParams(call.body);
    const answered = (tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(call.response!)?.[1];
    const accessKeyId = answered('AccessKeyId');
    if (!accessKeyId) continue;
    sessions.push({
      access_key_id: accessKeyId,
      secret_access_key: answered('SecretAccessKey') ?? '',
      session_token: answered('SessionToken') ?? '',
      role_arn: asked.get('RoleArn') ?? '',
      external_id: asked.get('ExternalId'),
      session_name: asked.get('RoleSessionName') ?? '',
    });
  }
  return sessions;
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

beforeAll(async () => {
  recorder = await startMotoRecorder();
  env = await testEnv();
  client = env.client;
  runtimeLogs = captureWorkerLogs();
  docker = testDocker();
  platform = await startPlatform({ token: PLATFORM_TOKEN });
  await ensureTestNetwork();
  // The organization, as the bootstrap leaves it: the worker finds the chain's accounts by name.
  const organizations = new OrganizationsClient(motoConfig(MANAGEMENT));
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  for (const name of ['sv0-platform', 'sv0-security-tooling'])
    await organizations.send(new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }));
  for await (const page of paginateListAccounts({ client: organizations }, {}))
    for (const a of page.Accounts ?? []) if (a.Name && a.Id) accountIds[a.Name] = a.Id;
  await new SecretsManagerClient(motoConfig(MANAGEMENT)).send(
    new CreateSecretCommand({ Name: SM_SECRET, SecretString: JSON.stringify({ token: SM_TOKEN }) }),
  );
});

afterAll(async () => {
  runtimeLogs?.restore();
  registerLogs(workerLog.join(''));
  await platform?.close();
  await recorder?.close();
});

describe('temporary AWS credentials for a connector run', () => {
  it('the container gets the last role of the chain, assumed hop by hop with the external ids, and an aws-sm:// secret', async () => {
    const name = uniqueId('it-aws');
    const connector = spec(
      name,
      {
        aws: { roleChain: 'aws-connector' },
        timeout: '2m',
        secrets: [{ type: 'refs', vars: { SM_TOKEN: `aws-sm://${SM_SECRET}#token` } }],
      },
      {
        SV0_TEST_HASH_VARS: [...CREDENTIAL_VARS, 'SM_TOKEN'].join(','),
        SV0_TEST_PRINT_VAR: 'AWS_SECRET_ACCESS_KEY',
      },
    );
    const run = await withWorker(() => runSync(connector));
    // Registered before any assertion, so that the suite's scan looks for them whatever happens.
    const sessions = assumedRoles().filter((s) => s.session_name === `sv0-connector-${name}`);
    for (const s of sessions) {
      minted.push(s.access_key_id, s.secret_access_key, s.session_token);
      registerSecrets(s.access_key_id, s.secret_access_key, s.session_token);
    }
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({ exitCode: 0, timedOut: false });

    // Two hops, in order, each into its account's role with the worker's external id.
    expect(sessions.map((s) => [s.role_arn, s.external_id])).toEqual([
      [`arn:aws:iam::${accountIds['sv0-platform']}:role/${Roles.connectorCredentials}`, PLATFORM_EXTERNAL_ID],
      [
        `arn:aws:iam::${accountIds['sv0-security-tooling']}:role/${Roles.securityReadOnly}`,
        SECURITY_EXTERNAL_ID,
      ],
    ]);
    // Inside the container: the last hop's keys, by their hashes (the platform never sees them).
    const last = sessions[1]!;
    const got = Object.fromEntries(
      platform.submissions.filter((s) => s.connector === name).map((s) => [s.name, s.sha256]),
    );
    expect(got).toEqual({
      AWS_ACCESS_KEY_ID: sha256(last.access_key_id),
      AWS_SECRET_ACCESS_KEY: sha256(last.secret_access_key),
      AWS_SESSION_TOKEN: sha256(last.session_token),
      SM_TOKEN: sha256(SM_TOKEN),
    });
    // A connector that prints its key has it redacted from the log the worker keeps.
    expect(run.result?.logTail).toContain('AWS_SECRET_ACCESS_KEY=[redacted]');
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`${ContainerLabels.workflowId}=${run.workflowId}`] },
      }),
    ).toEqual([]);
  });

  it('a role chain the worker does not define is refused before anything is assumed', async () => {
    const name = uniqueId('it-aws-refused');
    const before = assumedRoles().length;
    const run = await withWorker(() => runSync(spec(name, { aws: { roleChain: 'admin-everywhere' } })));
    const failure = failureOf(run.error);
    expect(failure.type).toBe(ErrorType.InputRefused);
    expect(failure.message).toContain(
      `connector ${name}: AWS role chain admin-everywhere is not one of the worker's`,
    );
    expect(failure.message).toContain('secrets.roleChains in worker.yaml');
    expect(assumedRoles().length).toBe(before);
  });

  it('a hop in an account the organization does not have fails at once, naming the chain and the hop', async () => {
    const name = uniqueId('it-aws-noaccount');
    const run = await withWorker(() =>
      runSync(
        spec(name, {
          aws: { roleChain: 'no-such-account' },
          retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
        }),
      ),
    );
    const failure = failureOf(run.error);
    expect(failure.type).toBe(ErrorType.SecretUnavailable);
    expect(failure.message).toMatch(
      new RegExp(
        `^connector ${name}: AWS role chain no-such-account, hop 1 \\(SecurityV0-ReadOnly in sv0-nowhere\\): the organization has no account named sv0-nowhere`,
      ),
    );
    expect(((run.error as WorkflowFailedError).cause as ActivityFailure).retryState).toBe(
      RetryState.NON_RETRYABLE_FAILURE,
    );
  });

  it('leaves no key in the workflow histories, the worker log or the SDK log', async () => {
    expect(minted.length).toBe(6);
    const log = workerLog.join('');
    expect(log).toContain('connector starting');
    const report = await assertNoSecretsLeaked({
      client,
      secrets: [...minted, PLATFORM_TOKEN, SM_TOKEN],
      logs: [log, runtimeLogs.text()],
      since: fileStart,
    });
    expect(report.histories).toBeGreaterThanOrEqual(workflowIds.length);
  });
});

function failureOf(err: unknown): ApplicationFailure {
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activity = (err as WorkflowFailedError).cause as ActivityFailure;
  expect(activity).toBeInstanceOf(ActivityFailure);
  expect(activity.cause).toBeInstanceOf(ApplicationFailure);
  return activity.cause as ApplicationFailure;
}
