import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { SecretError } from '../../../activities/secrets/errors';
import {
  createRoleChainMinter,
  credentialSeconds,
  scrubAwsMessage,
} from '../../../activities/secrets/role-chain';
import { motoConfig } from '../../harness/aws';
import { registerSecrets } from '../../harness/secret-registry';
import { uniqueId } from '../../harness/temporal';

/** Role chains against moto's STS (which records the external ids but enforces no trust policy). */
describe('role chain credentials', () => {
  it('returns the last role of the chain, assumed with the previous hop’s keys', async () => {
    const session = uniqueId('sv0-connector-t');
    const keys = await createRoleChainMinter({ aws: motoConfig() }).mint(
      'c1',
      'chain',
      [
        { account: '210987654321', role: 'sv0-connector-credentials', externalId: 'one' },
        { account: '310987654321', role: 'SecurityV0-ReadOnly', externalId: 'two' },
      ],
      { durationSeconds: 900, sessionName: session },
    );
    registerSecrets(keys.accessKeyId, keys.secretAccessKey, keys.sessionToken);
    expect(keys.expiration!.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
    const who = await new STSClient({ ...motoConfig(), credentials: keys }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(who.Account).toBe('310987654321');
    expect(who.Arn).toBe(`arn:aws:sts::310987654321:assumed-role/SecurityV0-ReadOnly/${session}`);
  });

  it('a session name with characters STS refuses is made acceptable and cut to 64', async () => {
    const keys = await createRoleChainMinter({ aws: motoConfig() }).mint(
      'c1',
      'chain',
      [{ account: '210987654321', role: 'r' }],
      { durationSeconds: 900, sessionName: `sv0 connector/${'x'.repeat(80)}` },
    );
    registerSecrets(keys.accessKeyId, keys.secretAccessKey, keys.sessionToken);
    const who = await new STSClient({ ...motoConfig(), credentials: keys }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(who.Arn).toBe(`arn:aws:sts::210987654321:assumed-role/r/sv0-connector-${'x'.repeat(50)}`);
  });

  it('an account name the organization does not know is a SecretError naming the hop and the setting', async () => {
    // An account of moto's that no other test uses: no organization there, so no such account.
    const account = String(100_000_000_000 + Math.floor(Math.random() * 800_000_000_000));
    const err = await createRoleChainMinter({ aws: motoConfig(account) })
      .mint('c1', 'chain', [{ account: 'sv0-nowhere', role: 'r' }], {
        durationSeconds: 900,
        sessionName: 's',
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(SecretError);
    expect((err as Error).message).toMatch(
      /^connector c1: AWS role chain chain, hop 1 \(r in sv0-nowhere\): .*sv0-nowhere.*in worker\.yaml/,
    );
  });
});

describe('credential lifetime and error text', () => {
  it.each([
    [30_000, 900],
    [5 * 60_000, 900],
    [20 * 60_000, 1500],
    [55 * 60_000, 3600],
    [4 * 3600_000, 3600],
  ])('a timeout of %i ms gives keys for %i s', (timeoutMs, seconds) => {
    expect(credentialSeconds(timeoutMs)).toBe(seconds);
  });

  it('AWS messages lose every key seen so far, their line breaks and their length', () => {
    const text = scrubAwsMessage(
      'User: arn:aws:sts::1:assumed-role/a/s with key ASIAKEY123 and\ntoken TOKENVALUE is not authorized',
      ['ASIAKEY123', 'TOKENVALUE', ''],
    );
    expect(text).toBe(
      'User: arn:aws:sts::1:assumed-role/a/s with key [redacted] and token [redacted] is not authorized',
    );
    expect(scrubAwsMessage('x'.repeat(1000), [])).toHaveLength(303);
  });
});
