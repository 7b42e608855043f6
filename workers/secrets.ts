import { readFile } from 'node:fs/promises';

/**
 * Resolve a secret reference for worker-level settings such as a webhook URL: `env:NAME`,
 * `file:/path` here; `op://` through the connectors' 1Password resolver once it is wired in.
 * Errors name the reference, never a value.
 */
export async function resolveSecretReference(reference: string): Promise<string> {
  if (reference.startsWith('env:')) {
    const value = process.env[reference.slice(4)];
    if (value === undefined) throw new Error(`secret ${reference}: the variable is not set`);
    return value;
  }
  if (reference.startsWith('file:')) {
    return (await readFile(reference.slice(5), 'utf8')).trim();
  }
  throw new Error(`secret ${reference}: unsupported reference (write env:NAME, file:/path or op://vault/item/field)`);
}
