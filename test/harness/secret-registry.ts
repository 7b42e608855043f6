/**
 * The suite-wide "no secret anywhere" check. Test files register the secret values they use, the
 * codec keys they encrypt with and the logs they captured; after each file, test/harness/
 * setup-file.ts scans the histories started during the file and the schedules on the shared dev
 * server (as stored and decoded) and every registered log for every secret registered so far, and
 * a hit fails that file, hence the run. The global teardown scans everything once more (workflows
 * that ran on after their file), but vitest only logs a teardown's error: it cannot fail the run.
 *
 *   // in a test file
 *   registerSecrets(token, password);          // values that must never be stored or logged
 *   afterAll(() => registerLogs(capture.text()));
 *
 *   // in the setup file (after each test file) and the global setup
 *   await suiteSecrets.assertNoLeaks({ address, namespace, since: fileStart });
 *   suiteSecrets.reset();
 *
 * Test files run in other processes than the global setup, so the registry is a folder of files
 * under .sv0/ (test values only; it is cleared at the start of each run), or the folder
 * SV0_SECRET_REGISTRY_DIR names (a nested run that must not touch the outer run's registry).
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AesGcmCodec, parseCodecKeys, type CodecKey } from '../../lib/runtime/codec';
import { assertNoSecretsLeaked, type SecretScanReport } from './secret-scan';

/** Where registered values live during a run. */
export const SECRET_REGISTRY_DIR =
  process.env.SV0_SECRET_REGISTRY_DIR ?? path.resolve(__dirname, '..', '..', '.sv0', 'test-secrets');

export interface SecretRegistry {
  /** Empty the registry (the global setup, before any test file runs). */
  reset(): void;
  /** Register secret values this test file uses (values with newlines are split into lines). */
  registerSecrets(...values: string[]): void;
  /** Register codec keys, so the final scan can decode the payloads this file encrypted. */
  registerCodecKeys(keys: CodecKey[]): void;
  /** Register captured log text (call in `afterAll`, after the file's workers stopped). */
  registerLogs(text: string): void;
  /** What the test files registered during this run. */
  values(): { secrets: string[]; keys: CodecKey[]; logs: string[] };
  /**
   * Scan the server for every registered secret (as stored, and decoded with the registered
   * keys) and every registered log; throws on a hit, listing where. `since`: only histories of
   * workflows started then or later. `undefined` when no test registered a secret.
   */
  assertNoLeaks(opts: {
    address: string;
    namespace: string;
    since?: Date;
  }): Promise<SecretScanReport | undefined>;
}

/** A registry in `dir` (the suite's is {@link SECRET_REGISTRY_DIR}; tests of the registry use their own). */
export function createSecretRegistry(dir = SECRET_REGISTRY_DIR): SecretRegistry {
  const fileFor = (kind: 'secrets' | 'keys'): string => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, `${kind}-${process.pid}.txt`);
  };
  const readAll = (prefix: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.startsWith(prefix))
          .sort()
          .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      : [];
  const lines = (prefix: string): string[] =>
    readAll(prefix).flatMap((text) => text.split('\n').filter(Boolean));

  const registry: SecretRegistry = {
    reset: () => rmSync(dir, { recursive: true, force: true }),
    registerSecrets: (...values) => {
      const entries = values.flatMap((v) => v.split('\n')).filter((v) => v.length > 0);
      appendFileSync(fileFor('secrets'), entries.map((v) => `${JSON.stringify(v)}\n`).join(''), {
        mode: 0o600,
      });
    },
    registerCodecKeys: (keys) => {
      appendFileSync(fileFor('keys'), keys.map((k) => `${k.id}=${k.key.toString('base64')}\n`).join(''), {
        mode: 0o600,
      });
    },
    registerLogs: (text) => {
      if (text.length === 0) return;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(dir, `logs-${process.pid}-${Date.now()}.log`), text, { mode: 0o600 });
    },
    values: () => ({
      secrets: [...new Set(lines('secrets-').map((line) => JSON.parse(line) as string))],
      // One line at a time: two files may each have used a key called "test-key".
      keys: lines('keys-').map((line) => parseCodecKeys(line, 'secret registry')[0]!),
      logs: readAll('logs-'),
    }),
    assertNoLeaks: async (opts) => {
      const { secrets, keys, logs } = registry.values();
      if (secrets.length === 0) return undefined;
      const connection = await Connection.connect({ address: opts.address });
      try {
        const client = new Client({ connection, namespace: opts.namespace });
        // One codec per key (a codec holds one key per id); the scan tries each on every payload.
        const codecs = keys.map((k) => new AesGcmCodec([k]));
        return await assertNoSecretsLeaked({ client, secrets, logs, codecs, since: opts.since });
      } finally {
        await connection.close();
      }
    },
  };
  return registry;
}

/** The suite's registry: test files register here, the global teardown scans. */
export const suiteSecrets = createSecretRegistry();
/** Register secret values this test file uses, for the suite's final scan. */
export const registerSecrets = suiteSecrets.registerSecrets;
/** Register codec keys this test file encrypts with, for the suite's final scan. */
export const registerCodecKeys = suiteSecrets.registerCodecKeys;
/** Register captured log text, for the suite's final scan. */
export const registerLogs = suiteSecrets.registerLogs;
