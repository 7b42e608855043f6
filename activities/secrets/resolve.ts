import type { SecretSource } from '../../lib/config/connectors';
import { forConnector, SecretError } from './errors';
import { parseEnvFile, readPrivateFile, readPublicFile } from './files';
import {
  isOpReference,
  onePasswordFromToken,
  resolveOpReferences,
  type OnePasswordProvider,
} from './onepassword';
import { ageIdentities, decryptSops, sopsFormatFor } from './sops';

export interface SecretResolverDeps {
  /** The 1Password client, created on first use (tests inject one of the SDK's shape). */
  onePassword: OnePasswordProvider;
  /** Where `env:NAME` references and SOPS_AGE_KEY_FILE are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The age key file; overrides SOPS_AGE_KEY_FILE. A sops source's own `ageKeyFile` wins over both. */
  ageKeyFile?: string;
}

/** A connector's environment, resolved: the values and which of them are secrets (for redaction). */
export interface ResolvedEnvironment {
  env: Record<string, string>;
  /** Every value that came from a secret source, to be redacted from logs. */
  secretValues: string[];
}

interface Pending {
  name: string;
  /** Where the value came from, for errors: never the value. */
  from: string;
  value?: string;
  opRef?: string;
}

/**
 * Secret resolution in three tiers (1Password references, SOPS+age files, plain env files), run only inside activities. Every error names the
 * connector, the reference or file and the reason, and never a value.
 */
export function createSecretResolver(deps: SecretResolverDeps) {
  const env = deps.env ?? process.env;

  async function resolveNonOp(reference: string, connector?: string): Promise<string> {
    if (reference.startsWith('env:')) {
      const value = env[reference.slice(4)];
      if (value === undefined)
        throw new SecretError(forConnector(connector, `${reference}: the variable is not set on the worker`));
      return value;
    }
    if (reference.startsWith('file:/')) {
      const text = (
        await readPrivateFile(reference.slice(5), forConnector(connector, 'secret file'))
      ).toString('utf8');
      return text.replace(/\r?\n$/, '');
    }
    throw new SecretError(
      forConnector(
        connector,
        `${reference}: not a secret reference (write op://vault/item/field, env:NAME or file:/path)`,
      ),
    );
  }

  /** Resolve one reference: `op://vault/item/field`, `env:NAME` or `file:/absolute/path`. */
  async function resolveSecret(reference: string, connector?: string): Promise<string> {
    if (reference.startsWith('op://')) {
      if (!isOpReference(reference))
        throw new SecretError(
          forConnector(connector, `${reference}: not an op://vault/item/field reference`),
        );
      const values = await resolveOpReferences(deps.onePassword, [reference], (r) =>
        forConnector(connector, r),
      );
      return values.get(reference) as string;
    }
    return resolveNonOp(reference, connector);
  }

  async function fromEnvFile(connector: string, file: string): Promise<Pending[]> {
    const what = forConnector(connector, 'env file');
    const vars = parseEnvFile((await readPublicFile(file, what)).toString('utf8'), `${what} ${file}`);
    const literal = Object.values(vars).some((v) => !v.startsWith('op://'));
    // A file of op:// references holds no secret (tier 1: safe to store); any literal value
    // makes it a plain env file (tier 3), which only its owner may read.
    if (literal) await readPrivateFile(file, what);
    return Object.entries(vars).map(([name, value]) =>
      value.startsWith('op://')
        ? { name, from: `${name} in ${file}`, opRef: value }
        : { name, from: `${name} in ${file}`, value },
    );
  }

  async function fromSopsFile(
    connector: string,
    source: Extract<SecretSource, { type: 'sops' }>,
  ): Promise<Pending[]> {
    const what = forConnector(connector, 'sops file');
    const keyFile = source.ageKeyFile ?? deps.ageKeyFile ?? env.SOPS_AGE_KEY_FILE;
    if (!keyFile) {
      throw new SecretError(
        `${what} ${source.path}: no age key: set SOPS_AGE_KEY_FILE on the worker or ageKeyFile in connectors.yaml`,
      );
    }
    const identities = ageIdentities(
      (await readPrivateFile(keyFile, forConnector(connector, 'age key file'))).toString('utf8'),
    );
    const text = (await readPublicFile(source.path, what)).toString('utf8');
    const vars = await decryptSops(text, {
      format: source.format ?? sopsFormatFor(source.path),
      identities,
      keyFile,
      what: `${what} ${source.path}`,
    });
    return Object.entries(vars).map(([name, value]) =>
      value.startsWith('op://')
        ? { name, from: `${name} in ${source.path}`, opRef: value }
        : { name, from: `${name} in ${source.path}`, value },
    );
  }

  /**
   * Build a connector's secret environment from its sources, merged in order (a later source wins).
   * op:// values, wherever they were written, are resolved in one 1Password call, as
   * `op run --env-file` does.
   */
  async function resolveConnectorEnv(
    connector: string,
    sources: readonly SecretSource[],
  ): Promise<ResolvedEnvironment> {
    const pending: Pending[] = [];
    for (const source of sources) {
      switch (source.type) {
        case 'env-file':
          pending.push(...(await fromEnvFile(connector, source.path)));
          break;
        case 'sops':
          pending.push(...(await fromSopsFile(connector, source)));
          break;
        case 'refs':
          for (const [name, ref] of Object.entries(source.vars)) {
            if (ref.startsWith('op://')) pending.push({ name, from: `${name} (${ref})`, opRef: ref });
            else pending.push({ name, from: `${name} (${ref})`, value: await resolveNonOp(ref, connector) });
          }
          break;
      }
    }
    const bad = pending.find((p) => p.opRef !== undefined && !isOpReference(p.opRef));
    if (bad)
      throw new SecretError(forConnector(connector, `${bad.from}: not an op://vault/item/field reference`));
    const refs = pending.flatMap((p) => (p.opRef ? [p.opRef] : []));
    const whereOf = new Map(pending.filter((p) => p.opRef).map((p) => [p.opRef as string, p.from]));
    const resolved = await resolveOpReferences(deps.onePassword, refs, (r) =>
      forConnector(connector, `${whereOf.get(r) ?? r}${whereOf.get(r)?.includes(r) ? '' : ` = ${r}`}`),
    );
    const out: Record<string, string> = {};
    for (const p of pending) out[p.name] = p.opRef ? (resolved.get(p.opRef) as string) : (p.value as string);
    return { env: out, secretValues: Object.values(out).filter((v) => v !== '') };
  }

  return { resolveSecret, resolveConnectorEnv };
}

export type SecretResolver = ReturnType<typeof createSecretResolver>;

/** The resolver a worker uses: 1Password from OP_SERVICE_ACCOUNT_TOKEN, age key from SOPS_AGE_KEY_FILE. */
export function secretResolverFromEnv(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return createSecretResolver({ onePassword: onePasswordFromToken(env.OP_SERVICE_ACCOUNT_TOKEN), env });
}
