import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectorSyncActivities } from '../../../activities/connectors/sync';
import { createDockerRunner } from '../../../activities/connectors/containers';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import { createLogger } from '../../../lib/runtime/logger';
import { ContainerLabels } from '../../../lib/names';
import { startDockerApi, type DockerApi } from '../../../scripts/local-stack';
import { connectorSyncWorkflow } from '../../../workflows';
import { testConnectorSpec } from '../../harness/connectors';
import { fakeOnePassword } from '../../harness/secrets';
import { dockerAt } from '../../harness/docker';
import { stack } from '../../harness/stack';
import { runWorker, testEnv, uniqueId } from '../../harness/temporal';
import { ensureTestNetwork, testWorkerSettings } from '../../harness/worker-settings';

/**
 * Fault survival (issue 8): the container engine is unavailable when a sync starts. The run's
 * activity fails and retries; once the engine is back the run succeeds and leaves no container.
 */
describe('a connector sync survives the container engine being unavailable', () => {
  let env: TestWorkflowEnvironment;
  let engine: DockerApi | undefined;

  beforeAll(async () => {
    env = await testEnv();
    await ensureTestNetwork();
  });
  afterAll(async () => {
    await engine?.stop?.();
  });

  it('retries while the engine is down and succeeds once it is back', async () => {
    // An engine of this test's own, so stopping it disturbs no other test.
    engine = await startDockerApi(stack().tools, 'engine-fault');
    const dockerHost = engine.dockerHost;
    const docker = dockerAt(dockerHost);
    const logger = createLogger('engine-fault-test', { write: () => undefined });
    const settings = testWorkerSettings();
    const activities = createConnectorSyncActivities({
      runner: createDockerRunner({ docker, logger }),
      secrets: createSecretResolver({ onePassword: fakeOnePassword({}).provider, env: {}, bounds: settings }),
      logger,
      settings,
    });
    const name = uniqueId('it-engine');
    const connector = testConnectorSpec(name, 'http://127.0.0.1:9', {
      retry: { maximumAttempts: 20, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    });
    await engine.stop?.();
    const taskQueue = uniqueId('engine-fault');
    const workflowId = uniqueId('sync-engine');
    await runWorker({ env, taskQueue, activities }, async () => {
      const handle = await env.client.workflow.start(connectorSyncWorkflow, {
        workflowId,
        taskQueue,
        args: [{ connector, healthWorkflowId: 'none' }],
      });
      // The first attempts fail against the missing engine and are retried.
      for (let i = 0; ; i++) {
        const pending = (await handle.describe()).raw.pendingActivities?.[0];
        if ((pending?.attempt ?? 0) >= 2) {
          expect(pending?.lastFailure?.message).toMatch(/ENOENT|ECONNREFUSED|connect/);
          break;
        }
        if (i > 600) throw new Error('the activity was never retried');
        await new Promise((r) => setTimeout(r, 100));
      }
      // The engine comes back on the same socket.
      engine = await startDockerApi(stack().tools, 'engine-fault');
      expect(engine.dockerHost).toBe(dockerHost);
      const result = (await handle.result()) as { exitCode: number };
      expect(result.exitCode).toBe(0);
    });
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${ContainerLabels.workflowId}=${workflowId}`] },
    });
    expect(left).toEqual([]);
  });
});
