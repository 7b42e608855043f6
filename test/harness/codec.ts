// The SDK loads the failure converter (lib/failure-converter.ts) with Node's own `require`, which
// vitest does not hook; tsx's require hook (as bin/sv0.js uses it) lets it load the TypeScript source.
import 'tsx/cjs';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  AesGcmCodec,
  encryptedDataConverter,
  generateCodecKeyLine,
  parseCodecKeys,
  type CodecKey,
} from '../../lib/runtime/codec';
import { registerCodecKeys } from './secret-registry';

/**
 * Fresh random codec keys (the first encrypts), as a key file would hold them. They are
 * registered for the suite's final secret scan, so it can read what this file encrypted.
 */
export function testCodecKeys(...ids: string[]): CodecKey[] {
  const names = ids.length > 0 ? ids : ['test-key'];
  const keys = parseCodecKeys(names.map((id) => generateCodecKeyLine(id)).join('\n'), 'test codec keys');
  registerCodecKeys(keys);
  return keys;
}

/**
 * The data converter the production worker and CLI use when `SV0_CODEC_KEY_FILE` is set: pass it
 * to `runWorker({ dataConverter })` and {@link codecClient}.
 */
export function testDataConverter(keys: CodecKey[] = testCodecKeys()): DataConverter {
  return encryptedDataConverter(keys);
}

/** The codec inside a data converter made by {@link testDataConverter}. */
export function codecOf(dataConverter: DataConverter): AesGcmCodec {
  const codec = dataConverter.payloadCodecs?.[0];
  if (!(codec instanceof AesGcmCodec)) throw new Error('not a data converter from testDataConverter()');
  return codec;
}

/**
 * A client on the test environment's connection that encrypts and decrypts payloads. The
 * environment's own `env.client` has no codec: it sees history as the server stores it.
 */
export function codecClient(env: TestWorkflowEnvironment, dataConverter: DataConverter): Client {
  return new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter });
}
