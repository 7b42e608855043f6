import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretError, SecretRefusedError } from '../../../activities/secrets/errors';
import { createSecretResolver } from '../../../activities/secrets/resolve';
import type { SecretSource } from '../../../lib/config/secret-refs';
import { fakeOnePassword, makeAgeKey, sopsEncrypt } from '../../harness/secrets';
import { stack } from '../../harness/stack';
import { testWorkerSettings } from '../../harness/worker-settings';
import type { WorkerSettings } from '../../../lib/config/worker';

// Secret values only tests know; every error message is checked not to contain them.
const SOPS_SECRET = 'sops-value-7f3a9c';
const SOPS_OTHER = 'sops-other-55e1d0';
const PLAIN_SECRET = 'plain-value-c01d42';
const OP_SECRET = 'op-value-9b8e77';
const OP_REF = 'op://sv0-connectors/entra-prod/client_secret';
const ALL_VALUES = [SOPS_SECRET, SOPS_OTHER, PLAIN_SECRET, OP_SECRET];

let dir: string;
let key: { keyFile: string; recipient: string };
let otherKey: { keyFile: string; recipient: string };

/** The worker's bounds in this file: its temporary folder, its key, the variables the tests read. */
function bounds(ageKey: WorkerSettings['ageKey'] = { kind: 'file', path: key.keyFile }) {
  return testWorkerSettings({ secrets: { envNames: ['SV0_TEST_*', 'WEBHOOK_URL', 'MISSING'] }, ageKey });
}

function resolver(values: Record<string, string> = { [OP_REF]: OP_SECRET }, env: NodeJS.ProcessEnv = {}) {
  const op = fakeOnePassword(values);
  return { op, ...createSecretResolver({ onePassword: op.provider, env, bounds: bounds() }) };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SecretError);
  const message = (err as Error).message;
  for (const v of ALL_VALUES) expect(message).not.toContain(v);
  return message;
}

function write(name: string, text: string, mode = 0o600): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

const sops = (file: string): SecretSource => ({ type: 'sops', path: file });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sv0-secrets-'));
  key = makeAgeKey(stack().tools, dir);
  otherKey = makeAgeKey(stack().tools, dir, 'other-key.txt');
});

describe('SOPS+age files encrypted by the real sops', () => {
  it.each([
    ['dotenv', 'app.env.enc', `API_KEY=${SOPS_SECRET}\nOTHER=${SOPS_OTHER}\nFROM_OP=${OP_REF}\n`],
    [
      'yaml',
      'app.yaml',
      `API_KEY: ${SOPS_SECRET}\nOTHER: ${SOPS_OTHER}\nFROM_OP: ${OP_REF}\nPORT: 8080\nDEBUG: true\n`,
    ],
    [
      'json',
      'app.json',
      JSON.stringify({ API_KEY: SOPS_SECRET, OTHER: SOPS_OTHER, FROM_OP: OP_REF, PORT: 8080, DEBUG: true }),
    ],
  ] as const)(
    'decrypts a %s file in-process, verifies its MAC and resolves op:// values in it',
    async (format, name, plain) => {
      const file = path.join(dir, name);
      sopsEncrypt(stack().tools, { plain, file, format, recipient: key.recipient });
      expect(readFileSync(file, 'utf8')).not.toContain(SOPS_SECRET);
      const { env, secretValues } = await resolver().resolveConnectorEnv('entra', [sops(file)]);
      expect(env).toMatchObject({ API_KEY: SOPS_SECRET, OTHER: SOPS_OTHER, FROM_OP: OP_SECRET });
      if (format !== 'dotenv') expect(env).toMatchObject({ PORT: '8080', DEBUG: 'true' });
      expect(secretValues).toEqual(expect.arrayContaining([SOPS_SECRET, OP_SECRET]));
    },
  );

  it('refuses a file whose encrypted value was altered', async () => {
    const file = path.join(dir, 'tampered.env.enc');
    const text = sopsEncrypt(stack().tools, {
      plain: `API_KEY=${SOPS_SECRET}\n`,
      file,
      format: 'dotenv',
      recipient: key.recipient,
    });
    const data = /API_KEY=ENC\[AES256_GCM,data:([^,]+),/.exec(text)?.[1] as string;
    const flipped = `${data[0] === 'A' ? 'B' : 'A'}${data.slice(1)}`;
    writeFileSync(file, text.replace(`data:${data},`, `data:${flipped},`));
    const message = await refusal(resolver().resolveConnectorEnv('entra', [sops(file)]));
    expect(message).toMatch(
      /connector entra: sops file .*tampered\.env\.enc: refused, the value of API_KEY fails authentication/,
    );
  });

  it('refuses a file with a key removed (each value still authentic: only the MAC shows it)', async () => {
    const file = path.join(dir, 'removed.env.enc');
    const text = sopsEncrypt(stack().tools, {
      plain: `API_KEY=${SOPS_SECRET}\nOTHER=${SOPS_OTHER}\n`,
      file,
      format: 'dotenv',
      recipient: key.recipient,
    });
    writeFileSync(
      file,
      text
        .split('\n')
        .filter((l) => !l.startsWith('OTHER='))
        .join('\n'),
    );
    const message = await refusal(resolver().resolveConnectorEnv('entra', [sops(file)]));
    expect(message).toMatch(/removed\.env\.enc: refused, the MAC does not match/);
  });

  it('refuses a changed value that sops stores in clear (unencrypted suffix), through the MAC', async () => {
    const file = path.join(dir, 'clear.yaml');
    const text = sopsEncrypt(stack().tools, {
      plain: `API_KEY: ${SOPS_SECRET}\nregion_unencrypted: us-east-1\n`,
      file,
      format: 'yaml',
      recipient: key.recipient,
    });
    expect(text).toContain('region_unencrypted: us-east-1');
    // Untouched, it passes (the clear value is part of the MAC as sops computes it) ...
    expect((await resolver().resolveConnectorEnv('c', [sops(file)])).env.region_unencrypted).toBe(
      'us-east-1',
    );
    // ... changed, it is refused.
    writeFileSync(file, text.replace('region_unencrypted: us-east-1', 'region_unencrypted: eu-west-1'));
    expect(await refusal(resolver().resolveConnectorEnv('c', [sops(file)]))).toMatch(
      /the MAC does not match/,
    );
  });

  it('refuses a truncated file and a file without a MAC', async () => {
    const file = path.join(dir, 'cut.json');
    const text = sopsEncrypt(stack().tools, {
      plain: JSON.stringify({ API_KEY: SOPS_SECRET }),
      file,
      format: 'json',
      recipient: key.recipient,
    });
    writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    expect(await refusal(resolver().resolveConnectorEnv('c', [sops(file)]))).toMatch(/cut\.json/);

    const noMac = path.join(dir, 'nomac.env.enc');
    const envText = sopsEncrypt(stack().tools, {
      plain: `API_KEY=${SOPS_SECRET}\n`,
      file: noMac,
      format: 'dotenv',
      recipient: key.recipient,
    });
    writeFileSync(
      noMac,
      envText
        .split('\n')
        .filter((l) => !l.startsWith('sops_mac='))
        .join('\n'),
    );
    expect(await refusal(resolver().resolveConnectorEnv('c', [sops(noMac)]))).toMatch(
      /nomac\.env\.enc: refused, the file has no MAC/,
    );
  });

  it('refuses a file encrypted for another key, naming the key file and the recipients', async () => {
    const file = path.join(dir, 'other.env.enc');
    sopsEncrypt(stack().tools, {
      plain: `API_KEY=${SOPS_SECRET}\n`,
      file,
      format: 'dotenv',
      recipient: otherKey.recipient,
    });
    const message = await refusal(resolver().resolveConnectorEnv('c', [sops(file)]));
    expect(message).toContain(`no key in ${key.keyFile} decrypts it`);
    expect(message).toContain(otherKey.recipient);
  });

  it("takes the worker's own age key, from SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, and refuses another key file", async () => {
    const file = path.join(dir, 'keyed.env.enc');
    sopsEncrypt(stack().tools, {
      plain: `API_KEY=${SOPS_SECRET}\n`,
      file,
      format: 'dotenv',
      recipient: otherKey.recipient,
    });
    const op = fakeOnePassword({});
    const withKey = (ageKey: WorkerSettings['ageKey'], env: NodeJS.ProcessEnv = {}) =>
      createSecretResolver({ onePassword: op.provider, env, bounds: bounds(ageKey) });
    const fromFile = withKey({ kind: 'file', path: otherKey.keyFile });
    expect((await fromFile.resolveConnectorEnv('c', [sops(file)])).env.API_KEY).toBe(SOPS_SECRET);
    // The source may repeat the worker's own key file, nothing else.
    const same = await fromFile.resolveConnectorEnv('c', [
      { type: 'sops', path: file, ageKeyFile: otherKey.keyFile },
    ]);
    expect(same.env.API_KEY).toBe(SOPS_SECRET);
    const fromEnv = withKey({ kind: 'env' }, { SOPS_AGE_KEY: readFileSync(otherKey.keyFile, 'utf8') });
    expect((await fromEnv.resolveConnectorEnv('c', [sops(file)])).env.API_KEY).toBe(SOPS_SECRET);
    const forged = resolver().resolveConnectorEnv('c', [
      { type: 'sops', path: file, ageKeyFile: otherKey.keyFile },
    ]);
    const refused = await forged.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SecretRefusedError);
    expect((refused as Error).message).toMatch(
      new RegExp(
        `ageKeyFile ${otherKey.keyFile} is refused: the worker decrypts only with its own age key \\(SOPS_AGE_KEY_FILE=${key.keyFile}\\)`,
      ),
    );
    expect(await refusal(withKey({ kind: 'none' }).resolveConnectorEnv('c', [sops(file)]))).toMatch(
      /no age key: set SOPS_AGE_KEY_FILE \(or SOPS_AGE_KEY\) on the worker/,
    );
  });
});

describe('plain env files', () => {
  it('reads a 0600 file, with op:// values resolved as op run --env-file does', async () => {
    const file = write(
      'plain.env',
      `# entra\nexport PLAIN=${PLAIN_SECRET}\nQUOTED="a b"\nFROM_OP=${OP_REF}\n`,
    );
    const { env } = await resolver().resolveConnectorEnv('entra', [{ type: 'env-file', path: file }]);
    expect(env).toEqual({ PLAIN: PLAIN_SECRET, QUOTED: 'a b', FROM_OP: OP_SECRET });
  });

  it('refuses a file with literal values that group or others can read', async () => {
    const file = write('open.env', `PLAIN=${PLAIN_SECRET}\n`, 0o644);
    const message = await refusal(
      resolver().resolveConnectorEnv('entra', [{ type: 'env-file', path: file }]),
    );
    expect(message).toBe(
      `connector entra: env file ${file}: refused, group or others have access (mode 0644); run chmod 600 on it`,
    );
  });

  it('accepts a readable file that holds only op:// references (safe to store)', async () => {
    const file = write('refs.env', `FROM_OP=${OP_REF}\n`, 0o644);
    expect((await resolver().resolveConnectorEnv('entra', [{ type: 'env-file', path: file }])).env).toEqual({
      FROM_OP: OP_SECRET,
    });
  });

  it('names the line of a malformed entry, never its content', async () => {
    const file = write('broken.env', `GOOD=1\n${PLAIN_SECRET}\n`);
    expect(
      await refusal(resolver().resolveConnectorEnv('entra', [{ type: 'env-file', path: file }])),
    ).toMatch(/broken\.env: line 2 is not NAME=value$/);
  });
});

describe('1Password references', () => {
  it('resolves every reference in one resolveAll call and merges sources in order', async () => {
    const second = 'op://sv0-connectors/servicenow-prod/password';
    const r = resolver({ [OP_REF]: OP_SECRET, [second]: 'sn-pass' });
    const file = write('merge.env', `A=${OP_REF}\nB=${PLAIN_SECRET}\n`);
    const { env } = await r.resolveConnectorEnv('entra', [
      { type: 'env-file', path: file },
      { type: 'refs', vars: { B: second, C: OP_REF } },
    ]);
    expect(env).toEqual({ A: OP_SECRET, B: 'sn-pass', C: OP_SECRET });
    expect(r.op.calls).toEqual([[OP_REF, second]]);
  });

  it('checks each individual response: a bad reference is refused with its reason', async () => {
    const bad = 'op://sv0-connectors/missing-item/field';
    const message = await refusal(
      resolver().resolveConnectorEnv('entra', [{ type: 'refs', vars: { A: OP_REF, B: bad } }]),
    );
    expect(message).toBe(`connector entra: B (${bad}): 1Password could not resolve it: itemNotFound`);
  });

  it('refuses a malformed op:// value in a file instead of passing the string on', async () => {
    const file = write('malformed.env', 'A=op://only-vault\n');
    expect(
      await refusal(resolver().resolveConnectorEnv('entra', [{ type: 'env-file', path: file }])),
    ).toMatch(/A in .*malformed\.env: not an op:\/\/vault\/item\/field reference/);
  });

  it("takes the 1Password SDK's parser as the judge of an op:// reference", async () => {
    const section = 'op://sv0-connectors/entra-prod/api/client_secret';
    const otp = 'op://sv0-connectors/entra-prod/one-time?attribute=otp';
    const r = resolver({ [section]: 'in-a-section', [otp]: '123456' });
    expect(
      await r.resolveConnectorEnv('entra', [{ type: 'refs', vars: { A: section, B: otp } }]),
    ).toMatchObject({
      env: { A: 'in-a-section', B: '123456' },
    });
    // Shapes a looser parser lets through: 1Password is never asked about them.
    for (const [bad, reason] of [
      ['op://sv0-connectors/entra-prod/a/b/c', /invalid format/],
      ['op://sv0-connectors/entra-prod/field?color=red', /invalid query parameter key/],
    ] as const) {
      const callsBefore = r.op.calls.length;
      const message = await refusal(r.resolveConnectorEnv('entra', [{ type: 'refs', vars: { X: bad } }]));
      expect(message).toContain(`connector entra: X (${bad}): not an op://vault/item/field reference (`);
      expect(message).toMatch(reason);
      expect(await refusal(r.resolveSecret(bad))).toMatch(reason);
      expect(r.op.calls.length).toBe(callsBefore);
    }
  });

  it('resolves single references for the notify activity: op://, env: and file:', async () => {
    const urlFile = write('webhook-url', 'https://hooks.example/T0/B0/secret\n');
    const r = resolver({ [OP_REF]: OP_SECRET }, { WEBHOOK_URL: 'https://hooks.example/env' });
    expect(await r.resolveSecret(OP_REF)).toBe(OP_SECRET);
    expect(await r.resolveSecret('env:WEBHOOK_URL')).toBe('https://hooks.example/env');
    expect(await r.resolveSecret(`file:${urlFile}`)).toBe('https://hooks.example/T0/B0/secret');
    expect(await refusal(r.resolveSecret('env:MISSING'))).toBe(
      'env:MISSING: the variable is not set on the worker',
    );
    chmodSync(urlFile, 0o640);
    expect(await refusal(r.resolveSecret(`file:${urlFile}`))).toMatch(
      /refused, group or others have access \(mode 0640\)/,
    );
  });
});
