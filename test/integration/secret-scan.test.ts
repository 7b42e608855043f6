import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { STSClient } from '@aws-sdk/client-sts';
import type { DataConverter } from '@temporalio/common';
import { log } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmokeActivities } from '../../activities/smoke';
import { createLogger } from '../../lib/runtime/logger';
import { smokeWorkflow } from '../../workflows';
import { motoConfig } from '../harness/aws';
import { codecClient, codecOf, testCodecKeys, testDataConverter } from '../harness/codec';
import { createSecretRegistry } from '../harness/secret-registry';
import { testDocker } from '../harness/docker';
import {
  assertNoSecretsLeaked,
  captureLogs,
  captureWorkerLogs,
  scanForSecrets,
} from '../harness/secret-scan';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';

describe('the secret scan proves it can see', () => {
  let env: TestWorkflowEnvironment;
  const since = new Date();
  const dataConverter = testDataConverter();
  const registryKeys = testCodecKeys('registry-key');

  let workerLogs: ReturnType<typeof captureWorkerLogs>;

  beforeAll(async () => {
    // Before any worker of this file: workers take the Runtime's logger when they are created.
    workerLogs = captureWorkerLogs();
    env = await testEnv();
  });
  afterAll(async () => {
    workerLogs?.restore();
    await env?.teardown();
  });

  /** Run the smoke workflow with `message` as input; the container echoes it as the result. */
  async function runSmoke(
    message: string,
    opts: { encrypted?: boolean; activityLog?: string; dataConverter?: DataConverter } = {},
  ) {
    const converter = opts.dataConverter ?? dataConverter;
    const taskQueue = uniqueId('scan');
    const workflowId = uniqueId('scan');
    const real = createSmokeActivities({ sts: new STSClient(motoConfig()), docker: testDocker() });
    const activities = {
      ...real,
      async whoAmI() {
        if (opts.activityLog) log.info(`resolved ${opts.activityLog}`);
        return real.whoAmI();
      },
    };
    const client = opts.encrypted ? codecClient(env, converter) : env.client;
    await runWorker(
      { env, taskQueue, activities, dataConverter: opts.encrypted ? converter : undefined },
      () =>
        client.workflow.execute(smokeWorkflow, {
          taskQueue,
          workflowId,
          args: [{ image: stack().connectorImage, message }],
        }),
    );
    return workflowId;
  }

  it('finds a canary planted in a plain history, and reports where without echoing it', async () => {
    const canary = uniqueId('canary-plain');
    const workflowId = await runSmoke(canary);
    const report = await scanForSecrets({ client: env.client, secrets: [canary], since });
    expect(report.hits).toContainEqual({
      secret: expect.not.stringContaining(canary) as unknown as string,
      form: 'plain',
      where: expect.stringContaining(`history of ${workflowId}`) as unknown as string,
    });
    const failure = await assertNoSecretsLeaked({ client: env.client, secrets: [canary], since }).catch(
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(workflowId);
    expect((failure as Error).message).not.toContain(canary);
  });

  it('finds a canary planted base64-encoded', async () => {
    const canary = uniqueId('canary-b64');
    await runSmoke(`blob:${Buffer.from(`prefix-${canary}-suffix`).toString('base64')}`);
    const report = await scanForSecrets({ client: env.client, secrets: [canary], since });
    expect(report.hits.map((h) => h.form)).toContain('base64');
  });

  it('finds a canary in an encrypted history only through the codec', async () => {
    const canary = uniqueId('canary-encrypted');
    const workflowId = await runSmoke(canary, { encrypted: true });
    const query = `WorkflowId = "${workflowId}"`;
    const stored = await scanForSecrets({ client: env.client, secrets: [canary], query });
    expect(stored.histories).toBe(1);
    expect(stored.hits).toEqual([]);
    const decoded = await scanForSecrets({
      client: env.client,
      secrets: [canary],
      query,
      codecs: [codecOf(dataConverter)],
    });
    expect(decoded.hits).toEqual([
      {
        secret: expect.any(String) as unknown as string,
        form: 'plain',
        where: expect.stringContaining('(decoded)') as unknown as string,
      },
    ]);
  });

  it('finds a canary in captured pino logs and in the worker logs', async () => {
    const pinoCanary = uniqueId('canary-pino');
    const workerCanary = uniqueId('canary-worker');
    const capture = captureLogs();
    createLogger('scan-test', capture.stream).info({ token: pinoCanary }, 'resolved a secret');
    await runSmoke('no secret here', { activityLog: workerCanary });
    const report = await scanForSecrets({
      client: env.client,
      secrets: [pinoCanary, workerCanary],
      logs: [capture.text(), workerLogs.text()],
      since,
      query: 'WorkflowId = "none"',
    });
    expect(report.hits.map((h) => h.where).sort()).toEqual(['captured log 1', 'captured log 2']);
  });

  it('the suite registry finds registered secrets in decoded histories and registered logs', async () => {
    // A registry of its own: the suite's registry must stay free of planted canaries.
    const registry = createSecretRegistry(mkdtempSync(path.join(tmpdir(), 'sv0-registry-')));
    const canary = uniqueId('canary-registry');
    registry.registerSecrets(canary);
    registry.registerCodecKeys(testCodecKeys('other-file-key')); // another file's key: tried, not used
    registry.registerCodecKeys(registryKeys);
    registry.registerLogs(`{"msg":"resolved","value":"${canary}"}`);
    const workflowId = await runSmoke(canary, {
      encrypted: true,
      dataConverter: testDataConverter(registryKeys),
    });
    const failure = await registry
      .assertNoLeaks({ address: stack().temporalAddress, namespace: stack().namespace })
      .catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toContain(`history of ${workflowId}`);
    expect((failure as Error).message).toContain('(decoded)');
    expect((failure as Error).message).toContain('captured log 1');
    expect((failure as Error).message).not.toContain(canary);
  });

  it('finds nothing when nothing leaked', async () => {
    const report = await assertNoSecretsLeaked({
      client: env.client,
      secrets: [uniqueId('never-used')],
      codecs: [codecOf(dataConverter)],
      logs: [workerLogs.text()],
      since,
    });
    expect(report.histories).toBeGreaterThanOrEqual(4);
    expect(report.decoded).toBeGreaterThan(0);
  });
});
