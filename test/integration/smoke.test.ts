import { STSClient } from '@aws-sdk/client-sts';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmokeActivities } from '../../activities/smoke';
import { smokeWorkflow } from '../../workflows';
import { motoConfig, MOTO_DEFAULT_ACCOUNT } from '../harness/aws';
import { testDocker } from '../harness/docker';
import { stack } from '../harness/stack';
import { runWorker, testEnv, uniqueId } from '../harness/temporal';

describe('the local stack', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env?.teardown();
  });

  it('runs a workflow on the dev server whose activities reach moto and run a container on Podman', async () => {
    const taskQueue = uniqueId('smoke');
    const activities = createSmokeActivities({ sts: new STSClient(motoConfig()), docker: testDocker() });
    const message = uniqueId('hello');
    const result = await runWorker({ env, taskQueue, activities }, () =>
      env.client.workflow.execute(smokeWorkflow, {
        taskQueue,
        workflowId: uniqueId('smoke'),
        args: [{ image: stack().connectorImage, message }],
      }),
    );
    expect(result).toEqual({
      awsAccount: MOTO_DEFAULT_ACCOUNT,
      containerExitCode: 0,
      containerOutput: message,
    });
    // The container is removed after the run.
    const left = await testDocker().listContainers({ all: true, filters: { label: ['sv0.purpose=smoke'] } });
    expect(left).toEqual([]);
  });

  it('fails the AWS step with a clear error when the AWS endpoint is down', async () => {
    const activities = createSmokeActivities({
      sts: new STSClient({ ...motoConfig(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }),
      docker: testDocker(),
    });
    await expect(activities.whoAmI()).rejects.toThrow(/ECONNREFUSED/);
  });
});
