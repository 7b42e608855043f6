import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The AWS client settings shared by every client the worker makes. The SDK's own conventions apply
 * (default credential chain, AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL); tests pass moto's
 * endpoint and static credentials explicitly.
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

/**
 * Client settings for another account of the organization: assume `roleName` there (with an
 * external id where the role's trust policy demands one). Credentials last an hour; an activity
 * asks for fresh ones each time it runs.
 */
export async function assumeRoleConfig(
  base: AwsClientConfig,
  input: { accountId: string; roleName: string; externalId?: string; sessionName: string },
): Promise<AwsClientConfig> {
  const sts = new STSClient(base);
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${input.accountId}:role/${input.roleName}`,
      RoleSessionName: input.sessionName.slice(0, 64),
      ExternalId: input.externalId,
      DurationSeconds: 3600,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) {
    throw new Error(`AssumeRole into ${input.accountId} as ${input.roleName} returned no credentials`);
  }
  return {
    ...base,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    },
  };
}
