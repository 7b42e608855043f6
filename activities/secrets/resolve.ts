import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '../../lib/config/secret-refs';
import { defaultAwsConfig } from '../../lib/runtime/aws';
import {
  ageKeyFileRefusal,
  awsSecretsManagerRefusal,
  envReferenceRefusal,
  pathRefusal,
  type WorkerSettings,
} from '../../lib/config/worker';
import { resolveAwsSecretsManager } from './aws-secrets-manager';
import { forConnector, SecretError, SecretRefusedError } from './errors';
import { parseEnvFile, readPrivateFile, readPublicFile, realpathUnder } from './files';
import {
  opReferenceProblem,
  onePasswordFromToken,
  resolveOpReferences,
  type OnePasswordProvider,
} from './onepassword';
import { ageIdentities, decryptSops, sopsFormatFor } from './sops';

/** The part of the worker's settings the resolver enforces. */
export type SecretBounds = Pick<WorkerSettings, 'secrets' | 'ageKey'>;

export interface SecretResolverDeps {
  /** The 1Password client, created on first use (tests inject one of the SDK's shape). */
  onePassword: OnePasswordProvider;
  /** Where `env:NAME` references and SOPS_AGE_KEY are read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * What the worker allows: the variables `env:` may read, the folders files must lie under, the
   * age key. `'operator'` is for the CLI only, resolving a reference the operator typed on their
   * own machine: no worker bounds apply.
   */
  bounds: SecretBounds | 'operator';
  /**
   * The Secrets Manager client for `aws-sm://` references, with the worker's own AWS credentials.
   * @default a client of the SDK's own resolution, made on first use
   */
  secretsManager?: Pick<SecretsManagerClient, 'send'>;
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
  const bounds = deps.bounds === 'operator' ? undefined : deps.bounds;
  let secretsManager = deps.secretsManager;

  /**
   * The path to read for `file`: its real path (symlinks and `..` resolved) when it lies under
   * one of the worker's secret folders, else a refusal. The CLI (operator bounds) reads as given.
   */
  async function allowedPath(file: string, what: string, connector?: string): Promise<string> {
    if (!bounds) return file;
    const lexical = pathRefusal(bounds, file, what);
    if (lexical) throw new SecretRefusedError(forConnector(connector, lexical));
    return realpathUnder(file, bounds.secrets.folders, forConnector(connector, what));
  }

  async function resolveNonOp(reference: string, connector?: string): Promise<string> {
    if (reference.startsWith('env:')) {
      const name = reference.slice(4);
      const refused = bounds && envReferenceRefusal(bounds, name);
      if (refused) throw new SecretRefusedError(forConnector(connector, refused));
      const value = env[name];
      if (value === undefined)
        throw new SecretError(forConnector(connector, `${reference}: the variable is not set on the worker`));
      return value;
    }
    if (reference.startsWith('aws-sm://')) {
      const refused = bounds && awsSecretsManagerRefusal(bounds, reference);
      if (refused) throw new SecretRefusedError(forConnector(connector, refused));
      secretsManager ??= new SecretsManagerClient(defaultAwsConfig());
      return resolveAwsSecretsManager(secretsManager, reference, (m) => forConnector(connector, m));
    }
    if (reference.startsWith('file:/')) {
      const file = await allowedPath(reference.slice(5), `secret file ${reference.slice(5)}`, connector);
      const text = (await readPrivateFile(file, forConnector(connector, 'secret file'))).toString('utf8');
      return text.replace(/\r?\n$/, '');
    }
    throw new SecretError(
      forConnector(
        connector,
        `${reference}: not a secret reference (write op://vault/item/field, env:NAME, file:/path or aws-sm://name#key)`,
      ),
    );
  }

  /** Resolve one reference: `op://vault/item/field`, `env:NAME`, `file:/absolute/path` or `aws-sm://name#key`. */
  async function resolveSecret(reference: string, connector?: string): Promise<string> {
    if (reference.startsWith('op://')) {
      const problem = await opReferenceProblem(reference);
      if (problem)
        throw new SecretError(
          forConnector(connector, `${reference}: not an op://vault/item/field reference (${problem})`),
        );
      const values = await resolveOpReferences(deps.onePassword, [reference], (r) =>
        forConnector(connector, r),
      );
      return values.get(reference) as string;
    }
    return resolveNonOp(reference, connector);
  }

  async function fromEnvFile(connector: string, given: string): Promise<Pending[]> {
    const what = forConnector(connector, 'env file');
    const file = await allowedPath(given, `env file ${given}`, connector);
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
    const file = await allowedPath(source.path, `sops file ${source.path}`, connector);
    const { identities, keyFile } = await ageKey(connector, source);
    const text = (await readPublicFile(file, what)).toString('utf8');
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
   * The worker's own age key: SOPS_AGE_KEY_FILE or SOPS_AGE_KEY, as its settings located it at
   * start. A source's `ageKeyFile` is accepted only when it names that same file. The operator's
   * CLI takes the source's file, else its environment's.
   */
  async function ageKey(
    connector: string,
    source: Extract<SecretSource, { type: 'sops' }>,
  ): Promise<{ identities: string[]; keyFile: string }> {
    const what = forConnector(connector, `sops file ${source.path}`);
    const own = bounds ? bounds.ageKey : operatorAgeKey(source.ageKeyFile);
    const refused = source.ageKeyFile !== undefined && ageKeyFileRefusal({ ageKey: own }, source.ageKeyFile);
    if (refused) throw new SecretRefusedError(`${what}: ${refused}`);
    if (own.kind === 'none')
      throw new SecretError(`${what}: no age key: set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) on the worker`);
    if (own.kind === 'env')
      return { identities: ageIdentities(env.SOPS_AGE_KEY ?? ''), keyFile: 'SOPS_AGE_KEY' };
    const text = (await readPrivateFile(own.path, forConnector(connector, 'age key file'))).toString('utf8');
    return { identities: ageIdentities(text), keyFile: own.path };
  }

  function operatorAgeKey(sourceFile: string | undefined): WorkerSettings['ageKey'] {
    const file = sourceFile ?? env.SOPS_AGE_KEY_FILE;
    if (file) return { kind: 'file', path: file };
    return env.SOPS_AGE_KEY ? { kind: 'env' } : { kind: 'none' };
  }

  /**
   * Check every path and reference of a connector's sources against the worker's bounds before
   * anything is read, so a refused source later in the list leaves the earlier ones unread too.
   */
  async function checkSources(connector: string, sources: readonly SecretSource[]): Promise<void> {
    for (const source of sources) {
      if (source.type === 'refs') {
        for (const [name, ref] of Object.entries(source.vars)) {
          if (ref.startsWith('file:/'))
            await allowedPath(ref.slice(5), `${name}: file ${ref.slice(5)}`, connector);
          else if (ref.startsWith('env:') && bounds) {
            const refused = envReferenceRefusal(bounds, ref.slice(4));
            if (refused) throw new SecretRefusedError(forConnector(connector, `${name}: ${refused}`));
          } else if (ref.startsWith('aws-sm://') && bounds) {
            const refused = awsSecretsManagerRefusal(bounds, ref);
            if (refused) throw new SecretRefusedError(forConnector(connector, `${name}: ${refused}`));
          }
        }
      } else {
        await allowedPath(source.path, `${source.type} file ${source.path}`, connector);
        const refused =
          source.type === 'sops' && source.ageKeyFile !== undefined && bounds
            ? ageKeyFileRefusal(bounds, source.ageKeyFile)
            : undefined;
        if (refused)
          throw new SecretRefusedError(forConnector(connector, `sops file ${source.path}: ${refused}`));
      }
    }
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
    await checkSources(connector, sources);
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
    for (const p of pending) {
      const problem = p.opRef === undefined ? undefined : await opReferenceProblem(p.opRef);
      if (problem)
        throw new SecretError(
          forConnector(connector, `${p.from}: not an op://vault/item/field reference (${problem})`),
        );
    }
    const refs = pending.flatMap((p) => (p.opRef ? [p.opRef] : []));
    const whereOf = new Map(pending.filter((p) => p.opRef).map((p) => [p.opRef as string, p.from]));
    const resolved = await resolveOpReferences(deps.onePassword, refs, (r) =>
      forConnector(connector, `${whereOf.get(r) ?? r}${whereOf.get(r)?.includes(r) ? '' : ` = ${r}`}`),
    );
    const out: Record<string, string> = {};
    for (const p of pending) out[p.name] = p.opRef ? (resolved.get(p.opRef) as string) : (p.value as string);
    return { env: out, secretValues: Object.values(out).filter((v) => v !== '') };
  }

  return { resolveSecret, resolveConnectorEnv, checkSources };
}

export type SecretResolver = ReturnType<typeof createSecretResolver>;

/**
 * The resolver a worker uses: 1Password from OP_SERVICE_ACCOUNT_TOKEN, bounded by the worker's
 * settings (env names, folders, the age key located at start).
 */
export function workerSecretResolver(
  settings: SecretBounds,
  env: NodeJS.ProcessEnv = process.env,
): SecretResolver {
  return createSecretResolver({
    onePassword: onePasswordFromToken(env.OP_SERVICE_ACCOUNT_TOKEN),
    env,
    bounds: settings,
  });
}

/** The resolver of the operator's own CLI: references they typed, no worker bounds. */
export function operatorSecretResolver(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return createSecretResolver({
    onePassword: onePasswordFromToken(env.OP_SERVICE_ACCOUNT_TOKEN),
    env,
    bounds: 'operator',
  });
}
