import { SNSClient } from '@aws-sdk/client-sns';
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import { createConnectorAfterActivities } from '../../activities/connectors/after';
import { createDockerRunner } from '../../activities/connectors/containers';
import { createConnectorSyncActivities } from '../../activities/connectors/sync';
import { createNotifyActivities } from '../../activities/notify';
import { createSecretResolver, type SecretResolver } from '../../activities/secrets/resolve';
import type { ConnectorSpec } from '../../lib/config/connectors';
import type { WorkerSettings } from '../../lib/config/worker';
import type { Logger } from '../../lib/runtime/logger';
import { ScheduleIds } from '../../lib/names';
import { motoConfig } from './aws';
import { testDocker } from './docker';
import { fakeOnePassword } from './secrets';
import { stack } from './stack';
import { TEST_NETWORK } from './worker-settings';

/**
 * A connector running the local test image on the test network (it reaches stand-ins at
 * `platformUrl`, the stand-in's `containerUrl`), one attempt and short windows; `over` and `vars`
 * adjust it per test.
 */
export function testConnectorSpec(
  name: string,
  platformUrl: string,
  over: Partial<ConnectorSpec> = {},
  vars: Record<string, string> = {},
): ConnectorSpec {
  return {
    name,
    enabled: true,
    image: stack().connectorImage,
    args: ['--all', '--submit', '--platform-url', platformUrl],
    interval: '1h',
    network: TEST_NETWORK,
    timeout: '1m',
    memoryMb: 256,
    jitter: '1s',
    catchupWindow: '1m',
    retry: { maximumAttempts: 1, initialInterval: '1s', backoffCoefficient: 1, maximumInterval: '1s' },
    pauseAfterFailedRuns: 3,
    environment: { SV0_TEST_CONNECTOR: name, ...vars },
    secrets: [],
    ...over,
  };
}

/**
 * The activities a test worker of the connectors family registers, as the worker builds them:
 * connector runs on Podman, notifications (SNS in moto) and the after-check. Secrets resolve within
 * `settings` from `env` (no 1Password item), unless the test brings a resolver of its own.
 */
export function testConnectorActivities(opts: {
  settings: WorkerSettings;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  secrets?: SecretResolver;
  docker?: Docker;
}) {
  const { settings, logger } = opts;
  const secrets =
    opts.secrets ??
    createSecretResolver({
      onePassword: fakeOnePassword({}).provider,
      env: opts.env ?? {},
      bounds: settings,
    });
  return {
    ...createConnectorSyncActivities({
      runner: createDockerRunner({ docker: opts.docker ?? testDocker(), logger }),
      secrets,
      logger,
      settings,
    }),
    ...createNotifyActivities({ sns: new SNSClient(motoConfig()), logger, secrets, settings }),
    ...createConnectorAfterActivities({ logger }),
  };
}

/** Delete every connector schedule on the server: what a test file's runs left scheduled. */
export async function deleteConnectorSchedules(client: Client): Promise<void> {
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(ScheduleIds.connectorPrefix))
      await client.schedule
        .getHandle(s.scheduleId)
        .delete()
        .catch(() => undefined);
  }
}
