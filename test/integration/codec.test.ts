import { STSClient } from '@aws-sdk/client-sts';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmokeActivities } from '../../activities/smoke';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../lib/runtime/codec';
import { smokeWorkflow } from '../../workflows';
import { motoConfig } from '../harness/aws';
import { codecClient, codecOf, testCodecKeys, testDataConverter } from '../harness/codec';
import { testDocker } from '../harness/docker';
import { assertNoSecretsLeaked, scanForSecrets } from '../harness/secret-scan';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';

const text = (bytes: Uint8Array | null | undefined) =>
  Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('payload encryption on the dev server', () => {
  let env: TestWorkflowEnvironment;
  const since = new Date();
  const dataConverter = testDataConverter(testCodecKeys('integration-key'));
  // Values that must exist only as ciphertext on the server.
  const inputSecret = uniqueId('plain-input-secret');
  const failureSecret = uniqueId('plain-failure-secret');

  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('stores only ciphertext in history, while a codec client reads the plain values', async () => {
    const taskQueue = uniqueId('codec');
    const workflowId = uniqueId('codec-smoke');
    const activities = createSmokeActivities({ sts: new STSClient(motoConfig()), docker: testDocker() });
    const client = codecClient(env, dataConverter);
    const result = await runWorker({ env, taskQueue, activities, dataConverter }, () =>
      client.workflow.execute(smokeWorkflow, {
        taskQueue,
        workflowId,
        args: [{ image: stack().connectorImage, message: inputSecret }],
      }),
    );
    expect(result.containerOutput).toBe(inputSecret);

    // The raw history, read by a client without the codec: no plaintext, only encrypted payloads.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = started?.input?.payloads ?? [];
    expect(input).toHaveLength(1);
    expect(text(input[0]!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(input[0]!.metadata![KEY_ID_METADATA_KEY])).toBe('integration-key');
    const completed = history.events?.at(-1)?.workflowExecutionCompletedEventAttributes;
    expect(text(completed?.result?.payloads?.[0]?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    const stored = await scanForSecrets({
      client: env.client,
      secrets: [inputSecret],
      query: `WorkflowId = "${workflowId}"`,
    });
    expect(stored.histories).toBe(1);
    expect(stored.payloads).toBeGreaterThan(0);
    expect(stored.hits).toEqual([]);

    // Through the codec the same history holds the value: the scan above could have seen it.
    const decoded = await scanForSecrets({
      client: env.client,
      codecs: [codecOf(dataConverter)],
      secrets: [inputSecret],
      query: `WorkflowId = "${workflowId}"`,
    });
    expect(decoded.hits.map((h) => h.where)).toEqual([expect.stringContaining('(decoded)')]);

    // And a client with the codec reads the result as the workflow returned it.
    expect((await client.workflow.getHandle(workflowId).result()).containerOutput).toBe(inputSecret);
  });

  it('encrypts failure messages and stack traces too', async () => {
    const taskQueue = uniqueId('codec-fail');
    const workflowId = uniqueId('codec-fail');
    const real = createSmokeActivities({ sts: new STSClient(motoConfig()), docker: testDocker() });
    const activities = {
      ...real,
      async whoAmI(): Promise<never> {
        throw ApplicationFailure.nonRetryable(`AWS refused the request for ${failureSecret}`, 'TestFailure');
      },
    };
    const client = codecClient(env, dataConverter);
    const error = await runWorker({ env, taskQueue, activities, dataConverter }, () =>
      client.workflow
        .execute(smokeWorkflow, {
          taskQueue,
          workflowId,
          args: [{ image: stack().connectorImage, message: 'x' }],
        })
        .catch((err: unknown) => err),
    );
    // The codec client decodes the failure chain back to the activity's message.
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).message).toBe(`AWS refused the request for ${failureSecret}`);

    // As stored: the message is replaced and the real one is in encrypted attributes.
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const activityFailed = history.events?.find((e) => e.activityTaskFailedEventAttributes)
      ?.activityTaskFailedEventAttributes?.failure;
    expect(activityFailed?.message).toBe('Encoded failure');
    expect(activityFailed?.stackTrace ?? '').toBe('');
    expect(text(activityFailed?.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    const workflowFailed = history.events?.at(-1)?.workflowExecutionFailedEventAttributes?.failure;
    expect(workflowFailed?.message).toBe('Encoded failure');
    expect(text(workflowFailed?.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);

    const stored = await scanForSecrets({
      client: env.client,
      secrets: [failureSecret],
      query: `WorkflowId = "${workflowId}"`,
    });
    expect(stored.histories).toBe(1);
    expect(stored.hits).toEqual([]);
  });

  it('leaves none of these values in plain or base64 form anywhere the server stores them', async () => {
    // They are workflow data, so the decoded view holds them by design: scan as stored only.
    const report = await assertNoSecretsLeaked({
      client: env.client,
      secrets: [inputSecret, failureSecret],
      since,
    });
    expect(report.histories).toBeGreaterThanOrEqual(2);
  });
});
