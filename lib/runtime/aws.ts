import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The AWS client settings shared by every client the worker and the CLI make. The SDK's own
 * conventions apply (default credential chain, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL); tests
 * pass moto's endpoint and static credentials explicitly.
 */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: AwsCredentialIdentity;
  /** S3 against moto needs path-style addressing. */
  forcePathStyle?: boolean;
  maxAttempts?: number;
  /** Tests route requests into one of moto's accounts with a handler that adds its header. */
  requestHandler?: NodeHttpHandler;
}

/** Client settings from the environment, the way the AWS CLI reads them. */
export function awsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint,
    forcePathStyle: endpoint !== undefined,
  };
}

/** True when the endpoint is a local stand-in (moto), where placeholder emails are fine. */
export function isLocalEndpoint(config: AwsClientConfig): boolean {
  return (
    config.endpoint !== undefined &&
    /^https?:\/\/(localhost|127\.[0-9.]+|\[::1\])(:|\/|$)/.test(config.endpoint)
  );
}
