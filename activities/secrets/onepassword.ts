import type { ResolveAllResponse } from '@1password/sdk';
import { SecretError } from './errors';

/**
 * The part of the 1Password SDK client we use. Tests inject an object of this shape; production
 * passes the SDK's own client (see {@link onePasswordFromToken}).
 */
export interface OnePasswordClient {
  secrets: { resolveAll(references: string[]): Promise<ResolveAllResponse> };
}

/** A lazily created client: `undefined` when the worker has no service account token. */
export type OnePasswordProvider = () => Promise<OnePasswordClient>;

/**
 * Why `reference` is not a 1Password secret reference (`op://vault/item/[section/]field`, with an
 * optional `?attribute=`), or `undefined` when it is one. The SDK's own parser decides
 * (`Secrets.validateSecretReference`), so the worker accepts exactly what 1Password resolves. The
 * SDK is loaded on first use, as for resolving: a worker that never meets an op:// reference never
 * loads it. The reason is the SDK's parse error, which names the rule, not the reference.
 */
export async function opReferenceProblem(reference: string): Promise<string | undefined> {
  const { Secrets } = await import('@1password/sdk');
  try {
    Secrets.validateSecretReference(reference);
    return undefined;
  } catch (err) {
    return parseErrorReason(err);
  }
}

/**
 * The SDK throws its core's error as a JSON string (`{"name":"ParsingSecretReference","message":
 * "..."}`). Only a parse error's message is kept; anything else becomes a fixed reason.
 */
function parseErrorReason(err: unknown): string {
  const fixed = 'it does not parse as op://vault/item/[section/]field';
  if (typeof err !== 'string') return fixed;
  try {
    const parsed = JSON.parse(err) as { name?: unknown; message?: unknown };
    if (parsed.name !== 'ParsingSecretReference' || typeof parsed.message !== 'string') return fixed;
    return parsed.message.replace(/^the secret reference could not be parsed: /, '');
  } catch {
    return fixed;
  }
}

/**
 * A provider that creates the SDK client once, on first use, from a service account token
 * (OP_SERVICE_ACCOUNT_TOKEN). Without a token, resolving an op:// reference fails with a message that
 * says what to set; workers that never meet an op:// reference need no token.
 */
export function onePasswordFromToken(
  token: string | undefined,
  integrationVersion = '0.1.0',
): OnePasswordProvider {
  let client: Promise<OnePasswordClient> | undefined;
  return () => {
    if (!token) {
      return Promise.reject(
        new SecretError(
          'OP_SERVICE_ACCOUNT_TOKEN is not set on the worker, so op:// references cannot be resolved',
        ),
      );
    }
    client ??= import('@1password/sdk')
      .then((sdk) =>
        sdk.createClient({ auth: token, integrationName: 'sv0-orchestrator', integrationVersion }),
      )
      .catch((err: unknown) => {
        client = undefined;
        // The SDK's error text is about the token, not a secret value. Retryable: the service may be down.
        throw new Error(
          `1Password: cannot create a client with OP_SERVICE_ACCOUNT_TOKEN (${(err as Error).message})`,
        );
      });
    return client;
  };
}

/**
 * Resolve op:// references in one call. `resolveAll` does not throw for a bad reference: each
 * individual response carries its own error, so every one is checked. All failures are reported
 * together, each naming its reference and the reason.
 */
export async function resolveOpReferences(
  provider: OnePasswordProvider,
  references: readonly string[],
  where: (reference: string) => string,
): Promise<Map<string, string>> {
  const unique = [...new Set(references)];
  const out = new Map<string, string>();
  if (unique.length === 0) return out;
  const client = await provider();
  let response: ResolveAllResponse;
  try {
    response = await client.secrets.resolveAll(unique);
  } catch (err) {
    // The call itself failed (network, service): retryable, unlike a reference that does not resolve.
    throw new Error(`1Password: resolving ${unique.length} reference(s) failed: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  for (const ref of unique) {
    const one = response?.individualResponses?.[ref];
    if (!one) {
      problems.push(`${where(ref)}: 1Password gave no answer for this reference`);
    } else if (one.error) {
      const detail = 'message' in one.error && one.error.message ? ` (${one.error.message})` : '';
      problems.push(`${where(ref)}: 1Password could not resolve it: ${one.error.type}${detail}`);
    } else if (typeof one.content?.secret !== 'string') {
      problems.push(`${where(ref)}: 1Password returned no secret`);
    } else {
      out.set(ref, one.content.secret);
    }
  }
  if (problems.length > 0) throw new SecretError(problems.join('; '));
  return out;
}
