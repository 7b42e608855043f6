import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import Docker from 'dockerode';
import { awsConfigFromEnv, type AwsClientConfig } from '../activities/aws-session';
import { createLogger, type Logger } from '../lib/logger';

/** Everything activities need from the outside world, made once per worker process. */
export interface WorkerDeps {
  aws: AwsClientConfig;
  docker: Docker;
  logger: Logger;
}

/** Docker client from DOCKER_HOST (unix:// or tcp://), else the default socket. */
export function dockerFromEnv(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  if (!host) return new Docker();
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375) });
}

export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerDeps {
  return { aws: awsConfigFromEnv(env), docker: dockerFromEnv(env), logger: createLogger('sv0-worker') };
}

export function stsClient(deps: WorkerDeps): STSClient {
  return new STSClient(deps.aws);
}

export function snsClient(deps: WorkerDeps): SNSClient {
  return new SNSClient(deps.aws);
}
