import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assumeRoleConfig } from '../../../activities/aws/session';
import { MOTO_DEFAULT_ACCOUNT, motoConfig } from '../../harness/aws';
import { uniqueId } from '../../harness/temporal';

/**
 * Assumed-role sessions (moto's STS): the credentials are a provider the SDK refreshes, so a
 * stack wait longer than the role's one hour keeps working.
 */
describe('assumed-role sessions', () => {
  afterEach(() => vi.useRealTimers());

  async function roleSession() {
    const roleName = uniqueId('session-role');
    await new IAMClient(motoConfig()).send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${MOTO_DEFAULT_ACCOUNT}:root` },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    const config = await assumeRoleConfig(motoConfig(), {
      accountId: MOTO_DEFAULT_ACCOUNT,
      roleName,
      sessionName: 'sv0-session-test',
    });
    return { roleName, config };
  }

  it('calls AWS as the assumed role', async () => {
    const { roleName, config } = await roleSession();
    const who = await new STSClient(config).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toContain(`assumed-role/${roleName}/sv0-session-test`);
  });

  it('assumes the role again before the one-hour credentials expire', async () => {
    const { config } = await roleSession();
    const sts = new STSClient(config);
    const first = await sts.config.credentials();
    expect(first.expiration).toBeInstanceOf(Date);
    const lifetimeMs = first.expiration!.getTime() - Date.now();
    expect(lifetimeMs).toBeGreaterThan(50 * 60_000);
    expect(lifetimeMs).toBeLessThanOrEqual(60 * 60_000);

    // Two minutes before the expiry, as an hour-long stack wait would be.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(first.expiration!.getTime() - 2 * 60_000);
    const later = await sts.config.credentials();
    expect(later.accessKeyId).not.toBe(first.accessKeyId);
  });
});
