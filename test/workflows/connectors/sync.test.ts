import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure, RetryState } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import { applyConnectorSchedules, triggerConnectorRun } from '../../../clients/connectors/schedules';
import type { ConnectorSpec, ConnectorsConfig } from '../../../lib/config/connectors';
import type { NotificationsConfig } from '../../../lib/config/notifications';
import { createLogger } from '../../../lib/runtime/logger';
import { ContainerLabels, ErrorType } from '../../../lib/names';
import type { SyncReport } from '../../../lib/contracts/connectors';
import { connectorSyncWorkflow } from '../../../workflows/connectors/sync';
import { testDocker } from '../../harness/docker';
import { CONTAINER_HOST, startPlatform, type PlatformStandIn } from '../../harness/platform';
import { assertNoSecretsLeaked, captureWorkerLogs } from '../../harness/secret-scan';
import { registerLogs, registerSecrets } from '../../harness/secret-registry';
import { fakeOnePassword, makeAgeKey, sopsEncrypt } from '../../harness/secrets';
import { recordHistory } from '../../harness/record-history';
import {
  deleteConnectorSchedules,
  testConnectorActivities,
  testConnectorSpec,
} from '../../harness/connectors';
import { stack } from '../../harness/stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { startWebhookReceiver } from '../../harness/webhook';
import { ensureTestNetwork, TEST_NETWORK, testWorkerSettings } from '../../harness/worker-settings';

// Values only this file knows: none may appear in a history, a log line or an error.
const SOPS_VALUE = `sops-secret-${uniqueId('v')}`;
const PLAIN_VALUE = `plain-secret-${uniqueId('v')}`;
const OP_VALUE = `op-secret-${uniqueId('v')}`;
const PLATFORM_TOKEN = `platform-token-${uniqueId('v')}`;
const OP_REF = 'op://sv0-connectors/entra-prod/client_secret';
const SECRETS = [SOPS_VALUE, PLAIN_VALUE, OP_VALUE, PLATFORM_TOKEN];
// The suite's final scan looks for them too, in every history left on the server.
registerSecrets(...SECRETS);

let env: TestWorkflowEnvironment;
let client: Client;
let docker: Docker;
let platform: PlatformStandIn;
let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let dir: string;
const files: Record<string, string> = {};
const workerLog: string[] = [];
const workflowIds: string[] = [];
const taskQueue = uniqueId('connectors');
const fileStart = new Date();
let runtimeLogs: ReturnType<typeof captureWorkerLogs>;

const logger = createLogger(
  'connector-test-worker',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      workerLog.push(chunk.toString('utf8'));
      done();
    },
  }),
);
const op = fakeOnePassword({ [OP_REF]: OP_VALUE });
/** The worker's settings for this file: its variables, its temporary folder and age key, a registry that cannot answer. */
const settings = () => {
  const base = testWorkerSettings({
    platformUrl: platform.url,
    secrets: { envNames: ['PLATFORM_TOKEN', 'WEBHOOK_URL'] },
    ageKey: { kind: 'file', path: files.key as string },
  });
  return { ...base, connectors: { ...base.connectors, images: [...base.connectors.images, 'localhost:1/'] } };
};
const secrets = () =>
  createSecretResolver({
    onePassword: op.provider,
    env: { PLATFORM_TOKEN, WEBHOOK_URL: webhook.url },
    bounds: settings(),
  });

const activities = () =>
  testConnectorActivities({ settings: settings(), logger, docker, secrets: secrets() });

const withWorker = <T>(fn: () => Promise<T>) => runWorker({ env, taskQueue, activities: activities() }, fn);

function spec(name: string, over: Partial<ConnectorSpec> = {}, vars: Record<string, string> = {}) {
  return testConnectorSpec(name, platform.containerUrl, over, vars);
}

function configOf(...connectors: ConnectorSpec[]): ConnectorsConfig {
  return {
    platform: { url: platform.url, tokenRef: 'env:PLATFORM_TOKEN', syncsPath: '/api/v1/syncs' },
    healthCheckEvery: '5m',
    connectors,
  };
}

const notifications = (): NotificationsConfig => ({
  sinks: [{ type: 'webhook', name: 'test', urlRef: 'env:WEBHOOK_URL' }],
});

/** Run the sync workflow directly and return its failure's innermost ApplicationFailure. */
async function failedRun(
  connector: ConnectorSpec,
): Promise<{ failure: ApplicationFailure; activity: ActivityFailure }> {
  const workflowId = uniqueId(`sync-${connector.name}`);
  workflowIds.push(workflowId);
  const err = await client.workflow
    .execute(connectorSyncWorkflow, {
      workflowId,
      taskQueue,
      args: [{ connector, healthWorkflowId: 'no-health-in-this-test' }],
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activity = (err as WorkflowFailedError).cause as ActivityFailure;
  expect(activity).toBeInstanceOf(ActivityFailure);
  expect(activity.cause).toBeInstanceOf(ApplicationFailure);
  const failure = activity.cause as ApplicationFailure;
  for (const v of SECRETS) expect(failure.message).not.toContain(v);
  return { failure, activity };
}

async function containersOf(workflowId: string) {
  return docker.listContainers({
    all: true,
    filters: { label: [`${ContainerLabels.workflowId}=${workflowId}`] },
  });
}

const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');

beforeAll(async () => {
  env = await testEnv();
  runtimeLogs = captureWorkerLogs();
  client = env.client;
  docker = testDocker();
  platform = await startPlatform({ token: PLATFORM_TOKEN });
  await ensureTestNetwork();
  webhook = await startWebhookReceiver();
  dir = mkdtempSync(path.join(tmpdir(), 'sv0-sync-'));
  const key = makeAgeKey(stack().tools, dir);
  const other = makeAgeKey(stack().tools, dir, 'other.txt');
  files.key = key.keyFile;
  /** A dotenv file of `plain` encrypted by sops for `recipient`, in `dir`: its path and text. */
  const encrypted = (name: string, plain: string, recipient: string) => {
    const file = path.join(dir, name);
    return { file, text: sopsEncrypt(stack().tools, { plain, file, format: 'dotenv', recipient }) };
  };
  files.sops = encrypted('entra.env.enc', `SOPS_VAR=${SOPS_VALUE}\n`, key.recipient).file;
  files.wrongKey = encrypted('other.env.enc', `SOPS_VAR=${SOPS_VALUE}\n`, other.recipient).file;
  const { file: tampered, text } = encrypted(
    'tampered.env.enc',
    `SOPS_VAR=${SOPS_VALUE}\nMORE=x\n`,
    key.recipient,
  );
  files.tampered = tampered;
  writeFileSync(
    files.tampered,
    text
      .split('\n')
      .filter((l) => !l.startsWith('MORE='))
      .join('\n'),
  );
  files.plain = path.join(dir, 'entra.env');
  writeFileSync(files.plain, `PLAIN_VAR=${PLAIN_VALUE}\n`);
  chmodSync(files.plain, 0o600);
  files.open = path.join(dir, 'open.env');
  writeFileSync(files.open, `PLAIN_VAR=${PLAIN_VALUE}\n`);
  chmodSync(files.open, 0o644);
});

afterAll(async () => {
  runtimeLogs?.restore();
  registerLogs(workerLog.join(''));
  await deleteConnectorSchedules(client);
  await platform?.close();
  await webhook?.close();
});

describe('connector syncs on Podman', () => {
  it('a scheduled run gets its secrets from sops, a 0600 env file and 1Password, submits, and redacts a printed secret', async () => {
    const name = uniqueId('it-ok');
    const connector = spec(
      name,
      {
        secrets: [
          { type: 'sops', path: files.sops as string, ageKeyFile: files.key },
          { type: 'env-file', path: files.plain as string },
          { type: 'refs', vars: { OP_VAR: OP_REF } },
        ],
      },
      { SV0_TEST_HASH_VARS: 'SOPS_VAR,PLAIN_VAR,OP_VAR', SV0_TEST_PRINT_VAR: 'SOPS_VAR' },
    );
    const healthWorkflowId = uniqueId('health');
    workflowIds.push(healthWorkflowId);
    await withWorker(async () => {
      const applied = await applyConnectorSchedules(client, configOf(connector), notifications(), {
        healthWorkflowId,
        taskQueue,
      });
      expect(applied.changes).toContainEqual(
        expect.objectContaining({ scheduleId: `connector-${name}`, action: 'create' }),
      );
      const run = await triggerConnectorRun(client, name);
      workflowIds.push(run.workflowId);
      const result = await client.workflow.getHandle(run.workflowId, run.runId).result();
      expect(result).toMatchObject({ exitCode: 0, timedOut: false, attempt: 1 });
      // The platform received the sha256 of each value: right values, and no op:// string left unresolved.
      const got = Object.fromEntries(
        platform.submissions.filter((s) => s.connector === name).map((s) => [s.name, s.sha256]),
      );
      expect(got).toEqual({
        SOPS_VAR: sha256(SOPS_VALUE),
        PLAIN_VAR: sha256(PLAIN_VALUE),
        OP_VAR: sha256(OP_VALUE),
      });
      expect(result.logTail).toContain('SOPS_VAR=[redacted]');
      expect(result.logTail).toContain('connector done (exit 0)');
      expect(await containersOf(run.workflowId)).toEqual([]);
      // The activity told connector-health of the success; the workflow sent no signal of its own.
      const health = client.workflow.getHandle(healthWorkflowId);
      const reports = ((await health.fetchHistory()).events ?? [])
        .map((e) => e.workflowExecutionSignaledEventAttributes)
        .filter((a) => a?.signalName === 'syncReported')
        .map((a) => JSON.parse(Buffer.from(a!.input!.payloads![0]!.data!).toString()) as SyncReport);
      expect(reports).toContainEqual({ connector: name, workflowId: run.workflowId, ok: true });
      const syncEvents = (await client.workflow.getHandle(run.workflowId).fetchHistory()).events ?? [];
      expect(syncEvents.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toEqual([]);
      await health.terminate('test done');
    });
  });

  it('a failing connector is retried up to its limit, then fails with its exit code and log tail', async () => {
    const connector = spec(
      uniqueId('it-fail'),
      { retry: { maximumAttempts: 2, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2s' } },
      { SV0_TEST_EXIT: '3' },
    );
    await withWorker(async () => {
      const { failure, activity } = await failedRun(connector);
      expect(failure.type).toBe(ErrorType.ConnectorFailed);
      expect(failure.message).toMatch(/exited with code 3 .*\(attempt 2\)/);
      expect(activity.retryState).toBe(RetryState.MAXIMUM_ATTEMPTS_REACHED);
      const details = failure.details?.[0] as { exitCode: number; logTail: string[]; attempt: number };
      expect(details).toMatchObject({ exitCode: 3, attempt: 2 });
      expect(details.logTail).toEqual(['connector starting', 'connector done (exit 3)']);
    });
    recordHistory(workflowIds.at(-1) as string, 'connector-sync-retried');
  });

  it('a hung connector is killed at its timeout and removed', async () => {
    const connector = spec(uniqueId('it-hung'), { timeout: '3s' }, { SV0_TEST_SLEEP: '300' });
    await withWorker(async () => {
      const { failure } = await failedRun(connector);
      expect(failure.type).toBe(ErrorType.ConnectorTimedOut);
      expect(failure.message).toContain('killed after its timeout of 3s');
      expect(await containersOf(workflowIds.at(-1) as string)).toEqual([]);
    });
  });

  it('a gate no test opens ends the run at its limit, even when the platform never answers', async () => {
    // Accepts each connection and never answers: a request without a time limit would wait until
    // the runner's timeout killed the container.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '0.0.0.0', resolve));
    const url = `http://${CONTAINER_HOST}:${(silent.address() as AddressInfo).port}`;
    const connector = {
      ...spec(uniqueId('it-gate'), {}, { SV0_TEST_WAIT_GATE: 'never_opened', SV0_TEST_GATE_TIMEOUT: '2' }),
      args: ['--all', '--submit', '--platform-url', url],
    };
    try {
      await withWorker(async () => {
        const { failure } = await failedRun(connector);
        expect(failure.type).toBe(ErrorType.ConnectorFailed);
        const details = failure.details?.[0] as { exitCode: number; logTail: string[] };
        expect(details.exitCode).toBe(124);
        expect(details.logTail).toContain('connector: gate never_opened still closed after 2s');
      });
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('cancelling a run kills and removes its container', async () => {
    const connector = spec(uniqueId('it-cancel'), {}, { SV0_TEST_SLEEP: '300' });
    const workflowId = uniqueId('sync-cancel');
    workflowIds.push(workflowId);
    await withWorker(async () => {
      const handle = await client.workflow.start(connectorSyncWorkflow, {
        workflowId,
        taskQueue,
        args: [{ connector, healthWorkflowId: 'none' }],
      });
      for (let i = 0; (await containersOf(workflowId)).length === 0; i++) {
        if (i > 300) throw new Error('the container never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      // While it runs: labelled for the reaper and operators, limited and unprivileged as the
      // engine reports it, on the configured network.
      const [listed] = await containersOf(workflowId);
      const running = await docker.getContainer(listed?.Id as string).inspect();
      expect(running.Config.Labels).toMatchObject({
        [ContainerLabels.connector]: connector.name,
        [ContainerLabels.workflowId]: workflowId,
        [ContainerLabels.attempt]: '1',
        [ContainerLabels.deadline]: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      });
      expect(running.HostConfig).toMatchObject({
        Memory: 256 * 1024 * 1024,
        NanoCpus: 1e9,
        PidsLimit: 256,
        SecurityOpt: expect.arrayContaining([expect.stringMatching(/^no-new-privileges/)]),
      });
      expect(running.HostConfig.CapAdd ?? []).toEqual([]);
      // Every capability the engine would grant by default is dropped (Podman lists them by name).
      expect(running.HostConfig.CapDrop).toEqual(
        expect.arrayContaining([
          'CHOWN',
          'DAC_OVERRIDE',
          'FOWNER',
          'KILL',
          'NET_RAW',
          'SETUID',
          'SETGID',
          'SYS_CHROOT',
        ]),
      );
      expect(Object.keys(running.NetworkSettings.Networks)).toEqual([TEST_NETWORK]);
      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect(await containersOf(workflowId)).toEqual([]);
    });
  });

  it('a worker shutdown kills and removes the running container', async () => {
    const connector = spec(uniqueId('it-shutdown'), {}, { SV0_TEST_SLEEP: '300' });
    const workflowId = uniqueId('sync-shutdown');
    workflowIds.push(workflowId);
    await runWorker(
      { env, taskQueue, activities: activities(), worker: { shutdownGraceTime: '1s' } },
      async () => {
        await client.workflow.start(connectorSyncWorkflow, {
          workflowId,
          taskQueue,
          args: [{ connector, healthWorkflowId: 'none' }],
        });
        for (let i = 0; (await containersOf(workflowId)).length === 0; i++) {
          if (i > 300) throw new Error('the container never started');
          await new Promise((r) => setTimeout(r, 100));
        }
        // Returning shuts the worker down while the container runs.
      },
    );
    expect(await containersOf(workflowId)).toEqual([]);
    await client.workflow.getHandle(workflowId).terminate('test done');
  });

  it.each([
    [
      'a tampered sops file',
      () => ({ type: 'sops', path: files.tampered, ageKeyFile: files.key }),
      /tampered\.env\.enc: refused, the MAC does not match/,
    ],
    [
      'a sops file for another key',
      () => ({ type: 'sops', path: files.wrongKey, ageKeyFile: files.key }),
      /other\.env\.enc: refused, no key in .* decrypts it/,
    ],
    [
      'a world-readable env file',
      () => ({ type: 'env-file', path: files.open }),
      /env file .*open\.env: refused, group or others have access \(mode 0644\)/,
    ],
    [
      'a bad op:// reference',
      () => ({ type: 'refs', vars: { X: 'op://sv0-connectors/nope/field' } }),
      /X \(op:\/\/sv0-connectors\/nope\/field\): 1Password could not resolve it: itemNotFound/,
    ],
  ] as const)('%s is refused with a clear error, without a retry', async (_what, source, reason) => {
    const name = uniqueId('it-secret');
    const connector = spec(name, {
      secrets: [source() as ConnectorSpec['secrets'][number]],
      retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    });
    await withWorker(async () => {
      const { failure, activity } = await failedRun(connector);
      expect(failure.type).toBe(ErrorType.SecretUnavailable);
      expect(failure.message).toMatch(new RegExp(`^connector ${name}: `));
      expect(failure.message).toMatch(reason);
      expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    });
  });

  it('a missing image that cannot be pulled fails at once', async () => {
    const connector = spec(uniqueId('it-noimage'), {
      image: 'localhost:1/sv0/no-such-connector:1',
      retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    });
    await withWorker(async () => {
      const { failure, activity } = await failedRun(connector);
      expect(failure.type).toBe(ErrorType.ImageUnavailable);
      expect(failure.message).toContain(
        'image localhost:1/sv0/no-such-connector:1 is not present and cannot be pulled',
      );
      expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    });
  });

  it('pull: always runs the cached image when the pull fails, and says so in the result, its log tail and a warning', async () => {
    // The test image is local: no registry answers for it, so an always pull fails.
    const connector = spec(uniqueId('it-always'), { pull: 'always' });
    const workflowId = uniqueId(`sync-${connector.name}`);
    workflowIds.push(workflowId);
    const result = await withWorker(() =>
      client.workflow.execute(connectorSyncWorkflow, {
        workflowId,
        taskQueue,
        args: [{ connector, healthWorkflowId: 'no-health-in-this-test' }],
      }),
    );
    const note = `image ${connector.image} could not be pulled`;
    expect(result.exitCode).toBe(0);
    expect(result.pullFailed).toContain(note);
    expect(result.pullFailed).toMatch(/; ran the cached copy instead$/);
    expect(result.logTail[0]).toBe(`[sv0] ${result.pullFailed}`);
    expect(result.logTail).toContain('connector starting');
    const warnings = workerLog
      .join('')
      .split('\n')
      .filter((l) => l.includes(workflowId))
      .map((l) => JSON.parse(l) as { level: number; msg: string; image?: string })
      .filter((l) => l.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ msg: result.pullFailed, image: connector.image })]);
  });

  it('pull: always with no cached image fails at once, saying there is no copy to run', async () => {
    const connector = spec(uniqueId('it-always-none'), {
      image: 'localhost:1/sv0/no-such-connector:2',
      pull: 'always',
      retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    });
    await withWorker(async () => {
      const { failure, activity } = await failedRun(connector);
      expect(failure.type).toBe(ErrorType.ImageUnavailable);
      expect(failure.message).toMatch(
        /^connector it-always-none[^:]*: image localhost:1\/sv0\/no-such-connector:2 could not be pulled: .+; no cached copy of the image to run instead$/,
      );
      expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    });
  });

  it('pull: the activity refuses an image the worker does not allow and a policy it does not know', async () => {
    const refused = spec(uniqueId('it-always-refused'), {
      image: 'docker.io/library/busybox:1',
      pull: 'always',
    });
    // A forged input: the schedule would never carry it, the activity validates it again.
    const forged = spec(uniqueId('it-pull-forged'), { pull: 'sometimes' as 'always' });
    await withWorker(async () => {
      const image = await failedRun(refused);
      expect(image.failure.type).toBe(ErrorType.InputRefused);
      expect(image.failure.message).toContain('docker.io/library/busybox:1');
      const policy = await failedRun(forged);
      expect(policy.failure.type).toBe(ErrorType.InputRefused);
      expect(policy.failure.message).toMatch(/pull/);
    });
  });

  it('leaves no secret value in the workflow histories or the worker log', async () => {
    expect(workflowIds.length).toBeGreaterThan(5);
    // History payloads are bytes, and the history's own toJSON would base64 them: walk it instead,
    // decoding every byte field, so a value inside any payload (input, result, failure details,
    // heartbeat details) would be found.
    const textOf = (v: unknown, out: string[] = []): string[] => {
      if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
      else if (typeof v === 'string') out.push(v);
      else if (Array.isArray(v)) v.forEach((x) => textOf(x, out));
      else if (v && typeof v === 'object')
        for (const k of Object.keys(v)) textOf((v as Record<string, unknown>)[k], out);
      return out;
    };
    let sawReference = false;
    for (const id of workflowIds) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const text = textOf(history).join('\n');
      if (text.includes(OP_REF)) sawReference = true;
      for (const v of SECRETS) expect(text, `history of ${id}`).not.toContain(v);
    }
    // The decoding works: the workflows carried the reference (not a secret) in their input.
    expect(sawReference).toBe(true);
    const log = workerLog.join('');
    expect(log).toContain('connector starting');
    expect(log).toContain('SOPS_VAR=[redacted]');
    for (const v of SECRETS) expect(log).not.toContain(v);
    // The shared scan too: every history and schedule on the server since this file started, in
    // plain and base64 forms, plus the SDK's own worker log (activity failures, workflow logs).
    const report = await assertNoSecretsLeaked({
      client,
      secrets: SECRETS,
      logs: [log, runtimeLogs.text()],
      since: fileStart,
    });
    expect(report.histories).toBeGreaterThanOrEqual(workflowIds.length);
  });
});
