import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsClientConfig } from '../../lib/runtime/aws';

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
