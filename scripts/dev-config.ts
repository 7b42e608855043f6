/**
 * The config `npm run dev` runs with: the operator's config folder, copied under .sv0/dev/config
 * with what cannot work on a laptop replaced and said so: the platform API is the local stand-in
 * (its URL in connectors.yaml and worker.yaml, its token from SV0_DEV_PLATFORM_TOKEN), connector
 * images that cannot be pulled become the sample connector (which needs no secrets and submits to
 * the stand-in on each run, which records a sync), and 1Password references are dropped when no
 * service account token is set. The copy's worker.yaml allows what those changes need.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { Document, parseDocument } from 'yaml';
import { CONNECTORS_FILE, registryHost } from '../lib/config/connectors';
import { WORKER_SETTINGS_FILE, workerSettings } from '../lib/config/worker';
import { loadConnectorsConfig } from '../lib/runtime/config';
import { checkConnectorsForWorker } from '../lib/runtime/worker-settings';

/** One change the dev config made, for the summary. */
export interface DevConfigChange {
  what: string;
  why: string;
}

/** True when the engine has the image or can pull it within `timeoutMs`. */
async function imageAvailable(docker: Docker, image: string, timeoutMs = 20_000): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    // not here: try to pull it
  }
  // An engine may answer a pull with 200 and report the failure inside the progress stream: ask
  // again afterwards whether the image is there.
  const pull = new Promise<boolean>((resolve) => {
    void docker.pull(image, (err: unknown, stream?: NodeJS.ReadableStream) => {
      if (err || !stream) return resolve(false);
      docker.modem.followProgress(stream, () => {
        docker
          .getImage(image)
          .inspect()
          .then(
            () => resolve(true),
            () => resolve(false),
          );
      });
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  return Promise.race([pull, timeout]).finally(() => clearTimeout(timer));
}

/** Create the connectors' Docker network when it is missing (the platform's compose project makes it on a VM). */
export async function ensureNetwork(docker: Docker, name: string): Promise<boolean> {
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (existing.some((n) => n.Name === name)) return false;
  await docker.createNetwork({ Name: name, Labels: { 'sv0.purpose': 'dev' } });
  return true;
}

/**
 * Copy `sourceDir` to `targetDir` and adapt connectors.yaml for a local run. Validates the
 * operator's file first, so a mistake in it is reported against config/connectors.yaml.
 */
export async function prepareDevConfig(opts: {
  sourceDir: string;
  targetDir: string;
  docker: Docker;
  sampleImage: string;
  env: NodeJS.ProcessEnv;
  /** The platform API stand-in: where the worker and where containers reach it. */
  platform?: { url: string; containerUrl: string };
}): Promise<DevConfigChange[]> {
  const config = loadConnectorsConfig(opts.sourceDir);
  rmSync(opts.targetDir, { recursive: true, force: true });
  mkdirSync(path.dirname(opts.targetDir), { recursive: true });
  cpSync(opts.sourceDir, opts.targetDir, { recursive: true });

  const file = path.join(opts.targetDir, CONNECTORS_FILE);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  const changes: DevConfigChange[] = [];
  const available = new Map<string, boolean>();
  for (const [i, c] of config.connectors.entries()) {
    if (!c.enabled) continue;
    if (!available.has(c.image)) available.set(c.image, await imageAvailable(opts.docker, c.image));
    if (available.get(c.image)) continue;
    doc.setIn(['connectors', i, 'image'], opts.sampleImage);
    // The sample connector needs no credentials, and the real ones' secret files are not here.
    doc.setIn(['connectors', i, 'secrets'], []);
    if (opts.platform) {
      // It submits to the stand-in as a real connector submits to the platform: the health check
      // then finds its syncs there.
      doc.setIn(['connectors', i, 'args'], withPlatformUrl(c.args, opts.platform.containerUrl));
      doc.setIn(['connectors', i, 'environment'], {
        ...c.environment,
        SV0_TEST_CONNECTOR: c.name,
        // It submits the sha256 of its own name: the stand-in records that as the sync.
        SV0_TEST_HASH_VARS: 'SV0_TEST_CONNECTOR',
      });
    }
    changes.push({
      what: `${c.name} runs the sample connector ${opts.sampleImage}`,
      why: `${c.image} cannot be pulled`,
    });
  }
  if (opts.platform) {
    doc.setIn(['platform', 'url'], opts.platform.url);
    doc.setIn(['platform', 'tokenRef'], `env:${DEV_PLATFORM_TOKEN_ENV}`);
    changes.push({
      what: `the platform API is the local stand-in at ${opts.platform.url} (token from ${DEV_PLATFORM_TOKEN_ENV})`,
      why: `${config.platform.url} is the platform's own, not part of this stack`,
    });
  }
  if (changes.length > 0 && doc.hasIn(['registries'])) doc.setIn(['registries'], {});
  if (!opts.platform && !opts.env.OP_SERVICE_ACCOUNT_TOKEN && config.platform.tokenRef.startsWith('op://')) {
    doc.setIn(['platform', 'tokenRef'], `env:${DEV_PLATFORM_TOKEN_ENV}`);
    changes.push({
      what: `the platform API token comes from ${DEV_PLATFORM_TOKEN_ENV}`,
      why: 'OP_SERVICE_ACCOUNT_TOKEN is not set',
    });
  }
  writeFileSync(file, header(doc, changes));
  allowInWorkerSettings(opts.targetDir, {
    images: changes.some((c) => c.what.includes(opts.sampleImage))
      ? [`${registryHost(opts.sampleImage)}/`]
      : [],
    envNames:
      doc.getIn(['platform', 'tokenRef']) === `env:${DEV_PLATFORM_TOKEN_ENV}` ? [DEV_PLATFORM_TOKEN_ENV] : [],
    platformUrl: opts.platform?.url,
  });
  // The adapted files must still be valid and allowed: fail here rather than in `sv0 up`.
  checkConnectorsForWorker(opts.targetDir, loadConnectorsConfig(opts.targetDir), opts.env);
  return changes;
}

/**
 * Widen the dev copy's worker settings (worker.yaml) by what the dev changes need: the sample
 * image's registry, the variable the dev platform token comes from.
 */
function allowInWorkerSettings(
  dir: string,
  add: { images: string[]; envNames: string[]; platformUrl?: string },
): void {
  const file = path.join(dir, WORKER_SETTINGS_FILE);
  const doc = existsSync(file) ? parseDocument(readFileSync(file, 'utf8')) : new Document({});
  const extend = (keys: string[], values: string[], fallback: string[]) => {
    if (values.length === 0) return;
    const current = (doc.getIn(keys) as { toJSON(): string[] } | undefined)?.toJSON() ?? fallback;
    doc.setIn(keys, [...new Set([...current, ...values])]);
  };
  const defaults = workerSettings();
  extend(['connectors', 'images'], add.images, defaults.connectors.images);
  extend(['secrets', 'envNames'], add.envNames, defaults.secrets.envNames);
  // The only origin the worker sends the platform token to: the stand-in's.
  if (add.platformUrl) doc.setIn(['platform', 'url'], new URL(add.platformUrl).origin);
  writeFileSync(
    file,
    `# Written by \`npm run dev\` from config/worker.yaml: edit that file, not this one.\n${doc.toString()}`,
  );
}

/** `args` with the value of `--platform-url` (either form) replaced by `url`, or added when absent. */
export function withPlatformUrl(args: readonly string[], url: string): string[] {
  const out = [...args];
  const i = out.findIndex((a) => a === '--platform-url' || a.startsWith('--platform-url='));
  if (i < 0) return [...out, '--platform-url', url];
  if (out[i] === '--platform-url') out.splice(i, 2, '--platform-url', url);
  else out[i] = `--platform-url=${url}`;
  return out;
}

/** The variable the dev worker reads the platform token from (the stand-in's, or 1Password's absence). */
export const DEV_PLATFORM_TOKEN_ENV = 'SV0_DEV_PLATFORM_TOKEN';

function header(doc: Document, changes: DevConfigChange[]): string {
  const lines = ['# Written by `npm run dev` from config/connectors.yaml: edit that file, not this one.'];
  for (const c of changes) lines.push(`# dev: ${c.what} (${c.why})`);
  return `${lines.join('\n')}\n${doc.toString()}`;
}
