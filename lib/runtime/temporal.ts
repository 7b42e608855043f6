import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { clientIdentity } from './client-identity';
import { dataConverterFromEnv } from './codec';

/** Global Temporal options: flags win over Temporal's own environment variables and config profile. */
export interface TemporalOptions {
  address?: string;
  namespace?: string;
  apiKey?: string;
  /** Turn TLS on (implied by an API key or a client certificate). */
  tls?: boolean;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsServerName?: string;
}

export interface ResolvedTemporalOptions {
  connection: NativeConnectionOptions;
  namespace: string;
}

/**
 * Merge flags with Temporal's envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS*, and the profile file), so the CLI and the worker reach a local dev server, a
 * self-hosted cluster or Temporal Cloud the same way.
 */
export function resolveTemporalOptions(flags: TemporalOptions = {}): ResolvedTemporalOptions {
  const fromEnv = loadClientConnectConfig();
  const connection: NativeConnectionOptions = { ...fromEnv.connectionOptions };
  if (flags.address) connection.address = flags.address;
  connection.address ??= 'localhost:7233';
  if (flags.apiKey) connection.apiKey = flags.apiKey;
  const wantsTls = flags.tls || flags.tlsCertPath || flags.tlsServerName || flags.apiKey;
  if (wantsTls) {
    const tls = typeof connection.tls === 'object' ? { ...connection.tls } : {};
    if (flags.tlsServerName) tls.serverNameOverride = flags.tlsServerName;
    if (flags.tlsCertPath && flags.tlsKeyPath) {
      // Read lazily so a bad path is reported by the command that needs it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { readFileSync } = require('node:fs') as typeof import('node:fs');
      tls.clientCertPair = { crt: readFileSync(flags.tlsCertPath), key: readFileSync(flags.tlsKeyPath) };
    }
    connection.tls = tls;
  }
  return { connection, namespace: flags.namespace ?? fromEnv.namespace ?? 'default' };
}

/**
 * Connect a workflow client, identified as {@link clientIdentity} (OS user, host, pid) in the
 * history events it causes. The caller closes `client.connection` when done. Payloads are
 * encrypted with the codec keys when `SV0_CODEC_KEY_FILE` (or `SV0_CODEC_KEYS`) is set, as the
 * worker does.
 */
export async function connectClient(flags: TemporalOptions = {}): Promise<Client> {
  const { connection: opts, namespace } = resolveTemporalOptions(flags);
  const connection = await Connection.connect({
    address: opts.address,
    tls: opts.tls,
    apiKey: opts.apiKey,
    metadata: opts.metadata,
  });
  return new Client({
    connection,
    namespace,
    dataConverter: dataConverterFromEnv(),
    identity: clientIdentity(),
  });
}

/** Run `fn` with a connected client and close the connection afterwards, also when `fn` throws. */
export async function withTemporalClient<T>(
  flags: TemporalOptions,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connectClient(flags);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
