import {
  CreateSecretCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretError, SecretRefusedError } from '../../../activities/secrets/errors';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import { secretReferenceRefusal } from '../../../lib/config/worker';
import { motoConfig } from '../../harness/aws';
import { registerSecrets } from '../../harness/secret-registry';
import { fakeOnePassword } from '../../harness/secrets';
import { uniqueId } from '../../harness/temporal';
import { testWorkerSettings } from '../../harness/worker-settings';

/** `aws-sm://name#key` references against moto's Secrets Manager, within the worker's allow-list. */

const PREFIX = uniqueId('sv0-test');
const TOKEN = `sm-token-${uniqueId('v')}`;
const PASSWORD = `sm-password-${uniqueId('v')}`;
const WHOLE = `sm-whole-${uniqueId('v')}`;
const VALUES = [TOKEN, PASSWORD, WHOLE];
registerSecrets(...VALUES);

const sm = new SecretsManagerClient(motoConfig() as SecretsManagerClientConfig);
let calls = 0;
/** The resolver's client: moto's, counting the calls that reach it. */
const counted: Pick<SecretsManagerClient, 'send'> = {
  send: ((command: Parameters<SecretsManagerClient['send']>[0]) => {
    calls += 1;
    return sm.send(command);
  }) as SecretsManagerClient['send'],
};

function resolver(allowed: string[] = [`${PREFIX}/*`, 'sv0-exact']) {
  return createSecretResolver({
    onePassword: fakeOnePassword({}).provider,
    env: {},
    bounds: testWorkerSettings({ secrets: { awsSecretsManager: allowed } }),
    secretsManager: counted,
  });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(SecretError);
  for (const v of VALUES) expect(err.message).not.toContain(v);
  return err;
}

beforeAll(async () => {
  const create = (name: string, text: string) =>
    sm.send(new CreateSecretCommand({ Name: `${PREFIX}/${name}`, SecretString: text }));
  await create('entra', JSON.stringify({ token: TOKEN, password: PASSWORD, port: 8443, nested: { a: 1 } }));
  await create('whole', WHOLE);
});

describe('aws-sm:// references', () => {
  it('resolve a whole secret, a key of a JSON secret, and a number as written', async () => {
    const r = resolver();
    expect(await r.resolveSecret(`aws-sm://${PREFIX}/whole`)).toBe(WHOLE);
    expect(await r.resolveSecret(`aws-sm://${PREFIX}/entra#token`)).toBe(TOKEN);
    expect(await r.resolveSecret(`aws-sm://${PREFIX}/entra#port`)).toBe('8443');
    const env = await r.resolveConnectorEnv('c1', [
      {
        type: 'refs',
        vars: { TOKEN: `aws-sm://${PREFIX}/entra#token`, PASSWORD: `aws-sm://${PREFIX}/entra#password` },
      },
    ]);
    expect(env.env).toEqual({ TOKEN, PASSWORD });
    expect(env.secretValues.sort()).toEqual([PASSWORD, TOKEN].sort());
  });

  it('refuse a secret the worker does not allow, before any call, naming the setting', async () => {
    const before = calls;
    const err = await failure(resolver().resolveSecret('aws-sm://sv0-other/entra#token', 'c1'));
    expect(err).toBeInstanceOf(SecretRefusedError);
    expect(err.message).toBe(
      'connector c1: aws-sm://sv0-other/entra#token: AWS Secrets Manager secret sv0-other/entra is not allowed by the worker (add sv0-other/entra to secrets.awsSecretsManager in worker.yaml)',
    );
    // In a connector's sources, the check runs before any source is read.
    const early = await failure(
      resolver().checkSources('c1', [{ type: 'refs', vars: { X: `aws-sm://${PREFIX}-x/entra` } }]),
    );
    expect(early).toBeInstanceOf(SecretRefusedError);
    expect(early.message).toMatch(/^connector c1: X: aws-sm:\/\/.* is not allowed by the worker/);
    expect(calls).toBe(before);
    // A prefix allows what is under it, not a name that merely starts the same.
    expect(
      await failure(resolver([`${PREFIX}/ent*`]).resolveSecret(`aws-sm://${PREFIX}/whole`)),
    ).toBeInstanceOf(SecretRefusedError);
  });

  it.each([
    ['a secret that does not exist', 'missing', /AWS Secrets Manager refused it \(ResourceNotFoundException/],
    [
      'a key the JSON does not have',
      'entra#tokn',
      /has no key tokn \(it has: token, password, port, nested\)/,
    ],
    [
      'a key whose value is an object',
      'entra#nested',
      /the value of nested is not a string, number or boolean/,
    ],
    [
      'a key of a secret that is not JSON',
      'whole#token',
      /the secret is not a JSON object, so it has no key token/,
    ],
  ])('fail for good on %s, saying why without the secret', async (_what, ref, reason) => {
    const err = await failure(resolver().resolveSecret(`aws-sm://${PREFIX}/${ref}`, 'c1'));
    expect(err).not.toBeInstanceOf(SecretRefusedError);
    expect(err.message).toMatch(new RegExp(`^connector c1: aws-sm://${PREFIX}/${ref}: `));
    expect(err.message).toMatch(reason);
  });
});

describe('aws-sm:// in worker settings', () => {
  it('a reference is allowed by exact name or by prefix, and refused otherwise with the setting to add', () => {
    const settings = testWorkerSettings({
      secrets: { awsSecretsManager: ['sv0/connectors/*', 'sv0-exact'] },
    });
    expect(secretReferenceRefusal(settings, 'aws-sm://sv0/connectors/entra#k')).toBeUndefined();
    expect(secretReferenceRefusal(settings, 'aws-sm://sv0-exact')).toBeUndefined();
    expect(secretReferenceRefusal(settings, 'aws-sm://sv0-exact2')).toMatch(
      /secret sv0-exact2 is not allowed by the worker \(add sv0-exact2 to secrets\.awsSecretsManager in worker\.yaml\)/,
    );
  });
});
