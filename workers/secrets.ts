import { secretResolverFromEnv, type SecretResolver } from '../activities/secrets/resolve';

let resolver: SecretResolver | undefined;

/**
 * Resolve a secret reference for worker-level settings such as a webhook URL: `op://vault/item/field`
 * (1Password, OP_SERVICE_ACCOUNT_TOKEN), `env:NAME` or `file:/path` (owner-only). Errors name the
 * reference, never a value.
 */
export async function resolveSecretReference(reference: string): Promise<string> {
  resolver ??= secretResolverFromEnv();
  return resolver.resolveSecret(reference);
}
