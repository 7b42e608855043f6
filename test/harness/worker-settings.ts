import { tmpdir } from 'node:os';
import { realpathSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { registryHost } from '../../lib/config/connectors';
import { workerSettings, type WorkerSettings, type WorkerSettingsFile } from '../../lib/config/worker';
import { ensureNetwork } from '../../scripts/dev-config';
import { CONTAINER_HOST } from '../../scripts/platform-stand-in';
import { testDocker } from './docker';
import { stack } from './stack';

/**
 * The network test connectors join: the platform's bridge network, as in production (host
 * networking is always refused). Containers reach stand-ins on the host at
 * {@link CONTAINER_HOST}, so stand-ins they call listen on every interface.
 */
export const TEST_NETWORK = 'sv0-platform_default';
export { CONTAINER_HOST };

/** Create {@link TEST_NETWORK} when it is missing (it is shared: never removed). */
export async function ensureTestNetwork(): Promise<void> {
  await ensureNetwork(testDocker(), TEST_NETWORK);
}

/**
 * Worker settings as a test worker runs with them: the test connector image's registry, the test
 * network, secret files under the system's temporary folder, the given platform URL; `over`
 * changes a section.
 */
export function testWorkerSettings(
  over: Parameters<typeof workerSettings>[0] & { platformUrl?: string } = {},
): WorkerSettings {
  const base = workerSettings();
  return workerSettings({
    ...over,
    secrets: { ...base.secrets, folders: [realpathSync(tmpdir())], ...over.secrets },
    connectors: {
      ...base.connectors,
      images: [`${registryHost(stack().connectorImage)}/`],
      networks: [TEST_NETWORK],
      ...over.connectors,
    },
    platform: { url: over.platformUrl ?? base.platform.url, ...over.platform },
  });
}

/**
 * Write a worker.yaml for a test's worker process, as an operator would for a deployment: the
 * test connector image's registry, the given networks, the platform stand-in's origin and the
 * variables `env:` references may read; `over` adds or replaces sections. Returns `file`.
 */
export function writeTestWorkerSettings(
  file: string,
  opts: { networks: string[]; platformUrl: string; envNames?: string[] },
  over: Omit<WorkerSettingsFile, 'platform'> = {},
): string {
  const settings: WorkerSettingsFile = {
    ...over,
    secrets: { envNames: opts.envNames ?? [], ...over.secrets },
    connectors: {
      images: [`${registryHost(stack().connectorImage)}/`],
      networks: opts.networks,
      ...over.connectors,
    },
    platform: { url: new URL(opts.platformUrl).origin },
  };
  writeFileSync(file, stringify(settings));
  return file;
}
