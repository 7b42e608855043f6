/**
 * `*_FILE` variables (lib/runtime/secret-files.ts): the worker and the CLI take their tokens from
 * files (compose `secrets:`), accept the old env-file format of /etc/sv0/op-token with a warning,
 * and name the variable and the file when one cannot be used, never the content.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecretFiles, SecretFileError } from '../../lib/runtime/secret-files';

const dir = mkdtempSync(path.join(tmpdir(), 'sv0-secret-files-'));
function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}
const TOKEN = 'ops_eyJzaWduSW5BZGRyZXNzIjoidGVzdCJ9';

describe('loadSecretFiles', () => {
  it('sets each variable from the file its _FILE variable names, without the trailing newline', () => {
    const env: NodeJS.ProcessEnv = {
      OP_SERVICE_ACCOUNT_TOKEN_FILE: file('op-token', `${TOKEN}\n`),
      TEMPORAL_API_KEY_FILE: file('api-key', 'key-123\n'),
    };
    expect(loadSecretFiles(env)).toEqual([]);
    expect(env.OP_SERVICE_ACCOUNT_TOKEN).toBe(TOKEN);
    expect(env.TEMPORAL_API_KEY).toBe('key-123');
    expect(env.SV0_CODEC_SERVER_TOKEN).toBeUndefined();
  });

  it('reads the old env-file format of /etc/sv0/op-token, and warns how to move, without the token', () => {
    const old = file('old-op-token', `OP_SERVICE_ACCOUNT_TOKEN="${TOKEN}"\n`);
    const env: NodeJS.ProcessEnv = { OP_SERVICE_ACCOUNT_TOKEN_FILE: old };
    const warnings = loadSecretFiles(env);
    expect(env.OP_SERVICE_ACCOUNT_TOKEN).toBe(TOKEN);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`OP_SERVICE_ACCOUNT_TOKEN_FILE=${old} is in the old env-file format`);
    expect(warnings[0]).toContain(`sed -i 's/^OP_SERVICE_ACCOUNT_TOKEN=//' ${old}`);
    expect(warnings[0]).not.toContain(TOKEN);
  });

  it('leaves the variable unset for an empty file (an optional secret mounted empty)', () => {
    const env: NodeJS.ProcessEnv = { OP_SERVICE_ACCOUNT_TOKEN_FILE: file('empty', '\n') };
    expect(loadSecretFiles(env)).toEqual([]);
    expect('OP_SERVICE_ACCOUNT_TOKEN' in env).toBe(false);
  });

  it('names the variable and the file it cannot read', () => {
    const missing = path.join(dir, 'missing');
    expect(() => loadSecretFiles({ OP_SERVICE_ACCOUNT_TOKEN_FILE: missing })).toThrow(
      new SecretFileError(`OP_SERVICE_ACCOUNT_TOKEN_FILE=${missing}: cannot read the file (ENOENT)`),
    );
  });

  it('refuses a variable set both ways, and a file of several lines, without quoting the content', () => {
    const f = file('token', TOKEN);
    expect(() => loadSecretFiles({ TEMPORAL_API_KEY: 'x', TEMPORAL_API_KEY_FILE: f })).toThrow(
      /TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set/,
    );
    const two = file('two-lines', `${TOKEN}\nsecond\n`);
    const load = () => loadSecretFiles({ SV0_CODEC_SERVER_TOKEN_FILE: two });
    expect(load).toThrow(SecretFileError);
    // The whole message: the file's content is not in it.
    expect(load).toThrow(
      new SecretFileError(
        `SV0_CODEC_SERVER_TOKEN_FILE=${two}: the file must hold the value alone, on one line`,
      ),
    );
  });
});
