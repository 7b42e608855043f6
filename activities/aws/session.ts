import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsClientConfig } from '../../lib/runtime/aws';

/**
 * Client settings for another account of the organization: assume `roleName` there (with an
 * external id where the role's trust policy demands one). The credentials are a provider: each
 * client assumes the role again before its one-hour credentials expire, so a long stack wait
 * never outlives them. The role is assumed once here, so a refused role fails the caller at once.
 */
export async function assumeRoleConfig(
  base: AwsClientConfig,
  input: { accountId: string; roleName: string; externalId?: string; sessionName: string },
): Promise<AwsClientConfig> {
  const credentials = fromTemporaryCredentials({
    params: {
      RoleArn: `arn:aws:iam::${input.accountId}:role/${input.roleName}`,
      RoleSessionName: input.sessionName.slice(0, 64),
      ExternalId: input.externalId,
      DurationSeconds: 3600,
    },
    // STS with the caller's own settings (moto's endpoint in tests, the SDK's resolution in production).
    clientConfig: {
      region: base.region,
      endpoint: base.endpoint,
      credentials: base.credentials,
      maxAttempts: base.maxAttempts,
      requestHandler: base.requestHandler,
    },
  });
  await credentials();
  return { ...base, credentials };
}
