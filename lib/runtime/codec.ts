/**
 * Payload encryption: an AES-256-GCM {@link PayloadCodec} and the data converter that uses it.
 *
 * Temporal stores every workflow input, result, signal, query answer and failure in its database
 * as given. With this codec the worker and every client encrypt each payload before it leaves the
 * process and decrypt it on the way back, so history holds only ciphertext. The codec runs outside
 * the workflow sandbox (the SDK applies codecs in the worker's main thread), so workflow code and
 * its bundle know nothing of it.
 *
 * Keys rotate: the key file lists `keyId=base64key` lines, the first encrypts, every one decrypts.
 * Add a new first line, restart the worker and clients, and keep the old lines for as long as
 * histories that use them are retained.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { ConfigError } from '../config/validate';

/** Payload metadata `encoding` of an encrypted payload. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Payload metadata key naming the key that encrypted the payload. */
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
/** Environment variable naming the key file. */
export const CODEC_KEY_FILE_ENV = 'SV0_CODEC_KEY_FILE';
/** Environment variable holding the keys themselves (same lines as the file; `,` also separates). */
export const CODEC_KEYS_ENV = 'SV0_CODEC_KEYS';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;

/** One AES-256 key and the id written into the payloads it encrypts. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** A payload that cannot be decrypted; the message names the key id, never key material. */
class CodecError extends Error {
  override name = 'CodecError';
}

/**
 * Parse key lines (`keyId=base64key`, `#` comments and blank lines ignored; the first key is the
 * current one). Errors name `source` (the file or variable) and the line, never a key.
 */
export function parseCodecKeys(text: string, source: string): CodecKey[] {
  const keys: CodecKey[] = [];
  const problems: { path: string; reason: string }[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `line ${index + 1}`;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push({ path: where, reason: 'expected keyId=base64key' });
      return;
    }
    const id = line.slice(0, eq).trim();
    const encoded = line.slice(eq + 1).trim();
    if (!KEY_ID_PATTERN.test(id)) {
      problems.push({
        path: where,
        reason: `key id "${id.slice(0, 64)}" must match ${KEY_ID_PATTERN.source}`,
      });
      return;
    }
    const key = BASE64_PATTERN.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) {
      problems.push({
        path: where,
        reason: `key "${id}" must be ${KEY_BYTES} bytes in base64 (generate one with \`sv0 codec-key\`)`,
      });
      return;
    }
    if (keys.some((k) => k.id === id)) {
      problems.push({ path: where, reason: `key id "${id}" appears twice` });
      return;
    }
    keys.push({ id, key });
  });
  if (problems.length === 0 && keys.length === 0) {
    problems.push({ path: '', reason: 'no keys: add a line keyId=base64key (the first line encrypts)' });
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return keys;
}

/**
 * Read a key file. It must be readable by its owner only, like the plain env files of the
 * connectors: a key that others can read protects nothing.
 */
function loadCodecKeyFile(file: string): CodecKey[] {
  let text: string;
  try {
    const mode = statSync(file).mode;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ConfigError(file, [
        {
          path: '',
          reason: `permissions ${(mode & 0o777).toString(8)} let others read the keys; run chmod 600 ${file}`,
        },
      ]);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      {
        path: '',
        reason: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})`,
      },
    ]);
  }
  return parseCodecKeys(text, file);
}

/**
 * The codec keys configured in the environment: the file named by `SV0_CODEC_KEY_FILE`, else the
 * lines in `SV0_CODEC_KEYS`; `undefined` when neither is set (encryption off).
 */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKey[] | undefined {
  const file = env[CODEC_KEY_FILE_ENV];
  if (file) return loadCodecKeyFile(file);
  const inline = env[CODEC_KEYS_ENV];
  if (inline) return parseCodecKeys(inline.replace(/,/g, '\n'), CODEC_KEYS_ENV);
  return undefined;
}

/** A new random key line, `keyId=base64key`, for a key file. */
export function generateCodecKeyLine(id: string): string {
  if (!KEY_ID_PATTERN.test(id)) throw new Error(`key id "${id}" must match ${KEY_ID_PATTERN.source}`);
  return `${id}=${randomBytes(KEY_BYTES).toString('base64')}`;
}

/**
 * A payload in the JSON form of the Temporal codec-server protocol (and of the plaintext this
 * codec encrypts): metadata values and data in base64.
 */
export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

/** A payload as JSON with base64 fields (codec-server wire format). */
export function payloadToJson(payload: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64'),
  };
}

/** The inverse of {@link payloadToJson}. */
export function payloadFromJson(json: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(json.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
    ),
    data: new Uint8Array(Buffer.from(json.data ?? '', 'base64')),
  };
}

/** The key id is bound to the ciphertext, so a payload relabelled with another key id fails. */
function aad(keyId: string): Buffer {
  return Buffer.from(`sv0-codec/v1/${keyId}`, 'utf8');
}

/**
 * AES-256-GCM payload codec. Each payload (metadata and data) is serialized, encrypted with a
 * fresh 96-bit IV under the current key, and stored as `iv || ciphertext || tag` with metadata
 * `encoding: binary/encrypted` and `encryption-key-id: <id>`. Decoding picks the key by id, so
 * payloads written under older keys stay readable; payloads that are not encrypted pass through.
 */
export class AesGcmCodec implements PayloadCodec {
  private readonly current: CodecKey;
  private readonly byId: Map<string, Buffer>;

  /** @param keys the first encrypts; all decrypt. */
  constructor(keys: readonly CodecKey[]) {
    const [first] = keys;
    if (!first) throw new Error('AesGcmCodec needs at least one key');
    this.current = first;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** Id of the key new payloads are encrypted with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const plaintext = Buffer.from(JSON.stringify(payloadToJson(payload)), 'utf8');
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(this.current.id));
      const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return {
        metadata: {
          encoding: new TextEncoder().encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA_KEY]: new TextEncoder().encode(this.current.id),
        },
        data: new Uint8Array(Buffer.concat([iv, ciphertext, cipher.getAuthTag()])),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || Buffer.from(encoding).toString('utf8') !== ENCRYPTED_ENCODING) return payload;
      const rawKeyId = payload.metadata?.[KEY_ID_METADATA_KEY];
      if (!rawKeyId) throw new CodecError(`encrypted payload has no ${KEY_ID_METADATA_KEY} metadata`);
      const keyId = Buffer.from(rawKeyId).toString('utf8');
      const key = this.byId.get(keyId);
      if (!key) {
        throw new CodecError(
          `payload encrypted with unknown key id "${keyId}": add that key to ${CODEC_KEY_FILE_ENV} (keys known: ${[...this.byId.keys()].join(', ')})`,
        );
      }
      const data = Buffer.from(payload.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) {
        throw new CodecError(`encrypted payload (key id "${keyId}") is truncated`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad(keyId));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plaintext: Buffer;
      try {
        plaintext = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw new CodecError(
          `encrypted payload (key id "${keyId}") failed authentication: it was altered or the key is wrong`,
        );
      }
      return payloadFromJson(JSON.parse(plaintext.toString('utf8')) as JsonPayload);
    });
  }
}

/**
 * Path of the failure converter module, without extension so that Node's `require` finds the
 * compiled `.js` in a build and tsx finds the `.ts` in development. (Under vitest, which does not
 * hook Node's `require`, test/harness/codec.ts registers tsx's loader.)
 */
export function failureConverterPath(): string {
  return path.join(__dirname, '..', 'failure-converter');
}

/**
 * The data converter for the worker and every client when encryption is on: the codec, and a
 * failure converter that moves failure messages and stack traces into (encrypted) payloads.
 */
export function encryptedDataConverter(keys: readonly CodecKey[]): DataConverter {
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: failureConverterPath() };
}

/**
 * The data converter configured by the environment, or `undefined` (the SDK default, plain
 * payloads) when no key is configured. A bad key file throws a {@link ConfigError} before anything
 * connects.
 */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  const keys = codecKeysFromEnv(env);
  return keys ? encryptedDataConverter(keys) : undefined;
}
