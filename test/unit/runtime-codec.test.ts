import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { describe, expect, it } from 'vitest';
import {
  AesGcmCodec,
  codecKeysFromEnv,
  dataConverterFromEnv,
  ENCRYPTED_ENCODING,
  generateCodecKeyLine,
  KEY_ID_METADATA_KEY,
  parseCodecKeys,
  payloadFromJson,
  payloadToJson,
} from '../../lib/runtime/codec';
import { ConfigError } from '../../lib/config/validate';
import '../harness/codec';

const keyA = parseCodecKeys(generateCodecKeyLine('key-a'), 'test')[0]!;
const keyB = parseCodecKeys(generateCodecKeyLine('key-b'), 'test')[0]!;
const secretValue = { token: 'sk-live-ROUNDTRIP-0000', nested: [1, 'two'] };

function text(bytes: Uint8Array | null | undefined): string {
  return Buffer.from(bytes ?? new Uint8Array()).toString('utf8');
}

describe('AesGcmCodec', () => {
  it('round-trips a payload and hides both its data and its original metadata', async () => {
    const codec = new AesGcmCodec([keyA]);
    const plain = defaultPayloadConverter.toPayload(secretValue);
    const [encrypted] = await codec.encode([plain]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA_KEY])).toBe('key-a');
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA_KEY].sort());
    expect(text(encrypted!.data)).not.toContain('ROUNDTRIP');
    expect(Buffer.from(encrypted!.data!).toString('base64')).not.toContain(
      Buffer.from('sk-live-ROUNDTRIP').toString('base64').slice(0, 12),
    );
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual(secretValue);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
  });

  it('uses a fresh IV: the same payload encrypts differently each time', async () => {
    const codec = new AesGcmCodec([keyA]);
    const plain = defaultPayloadConverter.toPayload('same');
    const [one, two] = await codec.encode([plain, plain]);
    expect(Buffer.from(one!.data!).equals(Buffer.from(two!.data!))).toBe(false);
  });

  it('rotates keys: the new first key encrypts, the old key still decrypts old payloads', async () => {
    const before = new AesGcmCodec([keyA]);
    const [old] = await before.encode([defaultPayloadConverter.toPayload('written before rotation')]);
    const after = new AesGcmCodec([keyB, keyA]);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload('written after rotation')]);
    expect(text(fresh!.metadata![KEY_ID_METADATA_KEY])).toBe('key-b');
    const [oldDecoded, freshDecoded] = await after.decode([old!, fresh!]);
    expect(defaultPayloadConverter.fromPayload(oldDecoded!)).toBe('written before rotation');
    expect(defaultPayloadConverter.fromPayload(freshDecoded!)).toBe('written after rotation');
  });

  it('fails on tampered ciphertext', async () => {
    const codec = new AesGcmCodec([keyA]);
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(secretValue)]);
    const data = Buffer.from(encrypted!.data!);
    data[20] = data[20]! ^ 0x01;
    await expect(codec.decode([{ ...encrypted!, data: new Uint8Array(data) }])).rejects.toThrow(
      /key id "key-a".*failed authentication/,
    );
  });

  it('fails when the key id label is swapped to another known key', async () => {
    const codec = new AesGcmCodec([keyA, keyB]);
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(secretValue)]);
    const relabelled: Payload = {
      ...encrypted!,
      metadata: { ...encrypted!.metadata, [KEY_ID_METADATA_KEY]: new TextEncoder().encode('key-b') },
    };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  it('fails on an unknown key id and names it', async () => {
    const [encrypted] = await new AesGcmCodec([keyB]).encode([defaultPayloadConverter.toPayload('x')]);
    await expect(new AesGcmCodec([keyA]).decode([encrypted!])).rejects.toThrow(/unknown key id "key-b"/);
  });

  it('fails on a truncated payload', async () => {
    const [encrypted] = await new AesGcmCodec([keyA]).encode([defaultPayloadConverter.toPayload('x')]);
    const cut = { ...encrypted!, data: encrypted!.data!.subarray(0, 10) };
    await expect(new AesGcmCodec([keyA]).decode([cut])).rejects.toThrow(/truncated/);
  });

  it('passes payloads that were never encrypted through unchanged (histories from before encryption)', async () => {
    const plain = defaultPayloadConverter.toPayload('from before');
    const [decoded] = await new AesGcmCodec([keyA]).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('keeps the codec-server JSON form lossless', () => {
    const payload = defaultPayloadConverter.toPayload({ a: 'b' });
    const back = payloadFromJson(payloadToJson(payload));
    expect(defaultPayloadConverter.fromPayload(back)).toEqual({ a: 'b' });
    expect(text(back.metadata!.encoding)).toBe('json/plain');
  });
});

describe('codec keys', () => {
  function keyFile(content: string, mode = 0o600): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sv0-codec-')), 'keys');
    writeFileSync(file, content);
    chmodSync(file, mode);
    return file;
  }

  it('reads a key file: comments ignored, the first key encrypts', async () => {
    const file = keyFile(
      `# rotated 2026-11\n${generateCodecKeyLine('new')}\n\n${generateCodecKeyLine('old')}\n`,
    );
    const keys = codecKeysFromEnv({ SV0_CODEC_KEY_FILE: file });
    expect(keys?.map((k) => k.id)).toEqual(['new', 'old']);
    expect(new AesGcmCodec(keys!).currentKeyId).toBe('new');
  });

  it('reads keys from SV0_CODEC_KEYS when no file is named, and is off when neither is set', () => {
    const keys = codecKeysFromEnv({
      SV0_CODEC_KEYS: `${generateCodecKeyLine('a')},${generateCodecKeyLine('b')}`,
    });
    expect(keys?.map((k) => k.id)).toEqual(['a', 'b']);
    expect(codecKeysFromEnv({})).toBeUndefined();
    expect(dataConverterFromEnv({})).toBeUndefined();
  });

  it('builds a data converter whose failure converter encodes messages and stack traces', () => {
    const converter = dataConverterFromEnv({ SV0_CODEC_KEYS: generateCodecKeyLine('a') });
    const loaded = loadDataConverter(converter);
    expect(loaded.payloadCodecs).toHaveLength(1);
    const failure = loaded.failureConverter.errorToFailure(
      new Error('secret-ish message'),
      loaded.payloadConverter,
    );
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(failure.encodedAttributes).toBeTruthy();
  });

  const bad: [string, string, RegExp][] = [
    ['no separator', 'justakey', /line 1: expected keyId=base64key/],
    ['a short key', 'k=AAAA', /line 1: key "k" must be 32 bytes/],
    ['a key that is not base64', `k=${'!'.repeat(44)}`, /line 1: key "k" must be 32 bytes/],
    ['a bad key id', `bad id=${Buffer.alloc(32).toString('base64')}`, /line 1: key id "bad id" must match/],
    [
      'a duplicate id',
      `${generateCodecKeyLine('d')}\n${generateCodecKeyLine('d')}`,
      /line 2: key id "d" appears twice/,
    ],
    ['no keys at all', '# only a comment\n', /no keys/],
  ];
  it.each(bad)('refuses a key file with %s, naming the file and line', (_name, content, reason) => {
    const file = keyFile(content);
    let error: unknown;
    try {
      codecKeysFromEnv({ SV0_CODEC_KEY_FILE: file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(reason);
  });

  it('never echoes key material in an error', () => {
    const line = generateCodecKeyLine('leaky');
    const material = line.split('=').slice(1).join('=');
    const file = keyFile(`${line}\n${line}`);
    expect(() => codecKeysFromEnv({ SV0_CODEC_KEY_FILE: file })).toThrow(/appears twice/);
    try {
      codecKeysFromEnv({ SV0_CODEC_KEY_FILE: file });
    } catch (err) {
      expect((err as Error).message).not.toContain(material);
    }
  });

  it('refuses a key file others can read', () => {
    const file = keyFile(generateCodecKeyLine('k'), 0o644);
    expect(() => codecKeysFromEnv({ SV0_CODEC_KEY_FILE: file })).toThrow(/permissions 644.*chmod 600/);
  });

  it('refuses a missing key file, naming it', () => {
    expect(() => codecKeysFromEnv({ SV0_CODEC_KEY_FILE: '/nonexistent/sv0-keys' })).toThrow(
      /\/nonexistent\/sv0-keys: file not found/,
    );
  });
});
