import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import Docker from 'dockerode';
import { workerSecretResolver, type SecretResolver } from '../activities/secrets/resolve';
import type { WorkerSettings } from '../lib/config/worker';
import { defaultAwsConfig, type AwsClientConfig } from '../lib/runtime/aws';
import { resolveConfigDir } from '../lib/runtime/config';
import { createLogger, type Logger } from '../lib/runtime/logger';

/** Everything activities need from the outside world, made once per worker process. */
export interface WorkerDeps {
  aws: AwsClientConfig;
  docker: Docker;
  logger: Logger;
  /**
   * The one secret resolver of the process: 1Password from OP_SERVICE_ACCOUNT_TOKEN (its client
   * made on first use), SOPS with the worker's age key, `env:` and `file:` references, all within
   * the worker's settings.
   */
  secrets: SecretResolver;
  /** What the worker allows (config/worker.yaml), read once at start: activities check input against it. */
  settings: WorkerSettings;
  /** The worker's config folder (SV0_CONFIG_DIR, else ./config): demo scenarios come from here. */
  configDir: string;
}

export function depsFromEnv(settings: WorkerSettings, env: NodeJS.ProcessEnv = process.env): WorkerDeps {
  return {
    aws: defaultAwsConfig(),
    // dockerode resolves the engine as the docker CLI does: DOCKER_HOST (unix://, tcp://, ssh://)
    // with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, from the process environment.
    docker: new Docker(),
    logger: createLogger('sv0-worker'),
    secrets: workerSecretResolver(settings, env),
    settings,
    configDir: resolveConfigDir(undefined, env),
  };
}

export function stsClient(deps: WorkerDeps): STSClient {
  return new STSClient(deps.aws);
}

export function snsClient(deps: WorkerDeps): SNSClient {
  return new SNSClient(deps.aws);
}
