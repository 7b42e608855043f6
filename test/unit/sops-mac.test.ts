import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ageIdentities, decryptSops } from '../../activities/secrets/sops';

/**
 * The SOPS MAC check, pure: files the real sops encrypted once (test/fixtures/sops/, for a key
 * made only for these tests), decrypted in-process, then altered the ways an attacker with write
 * access could alter them. Only the intact files decrypt.
 */
const FIXTURES = path.resolve(__dirname, '../fixtures/sops');
const keyFile = path.join(FIXTURES, 'age-key.txt');
const identities = ageIdentities(readFileSync(keyFile, 'utf8'));
const envText = readFileSync(path.join(FIXTURES, 'secrets.env.enc'), 'utf8');
const yamlText = readFileSync(path.join(FIXTURES, 'nested.yaml.enc'), 'utf8');

const decrypt = (text: string, format: 'dotenv' | 'yaml' = 'dotenv') =>
  decryptSops(text, { format, identities, keyFile, what: 'sops file fixture' });

/** The file with the line that starts with `key=` replaced (or removed when `line` is undefined). */
function withLine(text: string, key: string, line?: string): string {
  return text
    .split('\n')
    .flatMap((l) => (l.startsWith(`${key}=`) ? (line === undefined ? [] : [line]) : [l]))
    .join('\n');
}
const valueOf = (text: string, key: string) =>
  text
    .split('\n')
    .find((l) => l.startsWith(`${key}=`))!
    .slice(key.length + 1);

describe('the SOPS MAC', () => {
  it('decrypts an intact file (the control)', async () => {
    expect(await decrypt(envText)).toEqual({ API_KEY: 'fixture-api-key', REGION: 'eu-west-1' });
  });

  it('refuses a file with a key removed', async () => {
    await expect(decrypt(withLine(envText, 'REGION'))).rejects.toThrow(
      'sops file fixture: refused, the MAC does not match the content (keys or values were added, removed or changed)',
    );
  });

  it('refuses a file with a key added in clear text', async () => {
    await expect(decrypt(`EXTRA_unencrypted=hello\n${envText}`)).rejects.toThrow(
      /refused, the MAC does not match the content/,
    );
  });

  it('refuses a value moved to another key', async () => {
    const moved = withLine(envText, 'REGION', `REGION=${valueOf(envText, 'API_KEY')}`);
    await expect(decrypt(moved)).rejects.toThrow(/the value of REGION fails authentication/);
  });

  it('refuses an altered MAC and a file without one', async () => {
    const mac = valueOf(envText, 'sops_mac');
    const first = mac['ENC[AES256_GCM,data:'.length];
    const altered = mac.replace('data:' + first, 'data:' + (first === 'A' ? 'B' : 'A'));
    await expect(decrypt(withLine(envText, 'sops_mac', `sops_mac=${altered}`))).rejects.toThrow(
      /refused, its MAC fails authentication/,
    );
    await expect(decrypt(withLine(envText, 'sops_mac'))).rejects.toThrow(/refused, the file has no MAC/);
  });

  it('counts values left in clear text: changing one breaks the MAC', async () => {
    // The intact file passes the MAC and is then refused only for its nested mapping.
    await expect(decrypt(yamlText, 'yaml')).rejects.toThrow(/team: nested values/);
    await expect(decrypt(yamlText.replace('plain: visible', 'plain: changed'), 'yaml')).rejects.toThrow(
      /refused, the MAC does not match the content/,
    );
  });
});
