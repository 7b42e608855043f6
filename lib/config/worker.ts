import { z } from 'zod';
import { Roles } from '../names';
import { registryHost } from './connectors';
import { parseAwsSecretsManagerReference, roleChainNameSchema, secretRefScheme } from './secret-refs';

/**
 * config/worker.yaml: what the worker itself allows, whatever a workflow's input asks for. Whoever
 * can start a workflow is not trusted: activities check every secret reference, file path, image,
 * network, limit and destination against these settings before they resolve a secret, start a
 * container or send a request. The worker reads this file at start (SV0_WORKER_SETTINGS, else
 * `<config dir>/worker.yaml`; an absent file means these defaults, which accept the shipped
 * config/ unchanged). The CLI checks config/connectors.yaml against the same settings, so an
 * operator hears of a refusal before a run.
 */

export const WORKER_SETTINGS_FILE = 'worker.yaml';

/**
 * Variables an `env:` reference may never read, whatever `secrets.envNames` says: the worker's own
 * credentials (AWS keys, the 1Password token, the Temporal connection, the payload codec keys, the
 * age key) and every `*_FILE` variable, which names where such a credential lives.
 */
export const ALWAYS_REFUSED_ENV_NAMES: readonly string[] = [
  'AWS_*',
  'OP_SERVICE_ACCOUNT_TOKEN*',
  'TEMPORAL_*',
  'SV0_CODEC_*',
  'SOPS_AGE_*',
  '*_FILE',
];

/** The one network name no connector may join: host networking reaches the worker's own ports. */
export const REFUSED_NETWORK = 'host';

const envNamePattern = z
  .string()
  .regex(
    /^(?:[A-Za-z_][A-Za-z0-9_]*\*?)$/,
    'a variable name (FOO) or a prefix pattern ending in * (CONNECTOR_*)',
  )
  .refine(
    (p) => !ALWAYS_REFUSED_ENV_NAMES.some((r) => matchesEnvPattern(r, p.replace(/\*$/, ''))),
    `never readable by connectors: ${ALWAYS_REFUSED_ENV_NAMES.join(', ')}`,
  );

const absoluteFolder = z
  .string()
  .regex(/^\/./, 'an absolute folder path such as /etc/sv0/connectors')
  .refine((p) => !p.split('/').includes('..'), 'write the folder without ..');

/** A default and a maximum: a connector may ask for more than the default, never above the maximum. */
const limit = (min: number, max: number, dflt: number, ceiling: number, integer = true) => {
  const n = integer ? z.number().int().min(min).max(max) : z.number().min(min).max(max);
  return z
    .strictObject({ default: n.default(dflt), max: n.default(ceiling) })
    .default({ default: dflt, max: ceiling })
    .refine((l) => l.default <= l.max, 'the default must not exceed the maximum');
};

const imagePrefix = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]*(?::[0-9]+)?\/(?:[a-z0-9._/-]*\/)?$/,
    'a registry host with a slash (ghcr.io/) or a repository prefix ending in / (ghcr.io/securityv0/)',
  );

const accountRef = z
  .string()
  .regex(
    /^(?:[0-9]{12}|[A-Za-z0-9][A-Za-z0-9 ._-]*)$/,
    'an account name from org.yaml or a 12-digit account id',
  );

/**
 * One hop of a role chain: the role `role` in `account` (an account name as the live organization
 * names it, or a 12-digit id), with the external id its trust policy asks for.
 */
export const RoleHopSchema = z.strictObject({
  account: accountRef,
  role: z.string().regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, 'an IAM role name such as SecurityV0-ReadOnly'),
  /** Not a secret, but written only here: the worker sends it, never workflow input. */
  externalId: z
    .string()
    .regex(/^[A-Za-z0-9+=,.@:/_-]{2,1224}$/, 'an external id: 2-1224 letters, digits or +=,.@:/-_')
    .optional(),
});
export type RoleHop = z.infer<typeof RoleHopSchema>;

/**
 * The role chain the shipped AWS connector names: the bootstrap's connector credentials role in
 * sv0-platform (trusted by the management account, where the worker runs), then
 * SecurityV0-ReadOnly in sv0-security-tooling (trusted by sv0-platform). The external ids are
 * config/org.yaml's: change them in both files together.
 */
export const DEFAULT_ROLE_CHAINS: Record<string, RoleHop[]> = {
  'aws-connector': [
    {
      account: 'sv0-platform',
      role: Roles.connectorCredentials,
      externalId: 'sv0-connector-credentials-change-me',
    },
    {
      account: 'sv0-security-tooling',
      role: Roles.securityReadOnly,
      externalId: 'sv0-security-readonly-change-me',
    },
  ],
};

/**
 * A field that has a new name: present, it is refused with a message naming the new field and how
 * to write it, where zod alone would say only that the key is unrecognized. Absent, it is nothing.
 */
function renamedField(newName: string, howToWrite: string) {
  return z.never({ error: () => `now named ${newName}; write it as ${howToWrite}` }).optional();
}

export const WorkerSettingsSchema = z.strictObject({
  secrets: z
    .strictObject({
      /** Variables `env:` references may read: names, or prefixes written `PREFIX_*`. */
      envNames: z.array(envNamePattern).default([]),
      /** Folders that `file:` references, env files and sops files must lie under (after realpath). */
      folders: z.array(absoluteFolder).min(1).default(['/etc/sv0/connectors']),
      /**
       * AWS Secrets Manager secrets `aws-sm://<name>#<key>` references may read: names, or prefixes
       * written `prefix/*`. Read with the worker's own AWS credentials.
       */
      awsSecretsManager: z
        .array(
          z
            .string()
            .regex(
              /^[A-Za-z0-9/_+=.@-]{1,512}\*?$/,
              'a secret name (sv0/connectors/entra) or a prefix ending in * (sv0/connectors/*)',
            ),
        )
        .default([]),
      /**
       * Role chains a connector may name (`aws: { roleChain: <name> }` in connectors.yaml): the
       * worker assumes each hop in turn with the previous hop's credentials (the first with its
       * own) and gives the container the last hop's temporary keys.
       */
      roleChains: z
        .record(roleChainNameSchema, z.array(RoleHopSchema).min(1).max(5))
        .default(DEFAULT_ROLE_CHAINS),
      /** The old name of `roleChains`, a list of role ARNs that nothing used: refused with the new name. */
      assumeRoles: renamedField(
        'secrets.roleChains',
        'named chains of hops, { <chain>: [{ account, role, externalId }] }; a role ARN arn:aws:iam::<account>:role/<name> becomes the hop { account: <account>, role: <name> }',
      ),
    })
    .default({
      envNames: [],
      folders: ['/etc/sv0/connectors'],
      awsSecretsManager: [],
      roleChains: DEFAULT_ROLE_CHAINS,
    }),
  connectors: z
    .strictObject({
      /** Networks a connector container may join (`host` is always refused). */
      networks: z
        .array(
          z
            .string()
            .min(1)
            .refine((n) => n !== REFUSED_NETWORK, 'host networking is never allowed'),
        )
        .min(1)
        .default(['sv0-platform_default']),
      /** Image reference prefixes a connector may run (and the registries a pull password may go to). */
      images: z.array(imagePrefix).min(1).default(['ghcr.io/securityv0/']),
      memoryMb: limit(16, 65536, 256, 2048),
      cpus: limit(0.1, 64, 1, 2, false),
      pids: limit(16, 65536, 256, 1024),
    })
    .default({
      networks: ['sv0-platform_default'],
      images: ['ghcr.io/securityv0/'],
      memoryMb: { default: 256, max: 2048 },
      cpus: { default: 1, max: 2 },
      pids: { default: 256, max: 1024 },
    }),
  platform: z
    .strictObject({
      /** The only origin the platform token is ever sent to. */
      url: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as http://api:3000' }).refine((u) => {
        // A value that is not a URL at all is reported by the check above.
        if (!URL.canParse(u)) return true;
        const url = new URL(u);
        return !url.username && !url.password;
      }, 'no user name or password in the URL: the token goes in the Authorization header'),
    })
    .default({ url: 'http://api:3000' }),
  sandbox: z
    .strictObject({
      /**
       * Accounts destructive actions may touch (names from org.yaml or account ids). Absent: the
       * accounts `<config dir>/org.yaml` marks `sandbox: true`, read by the worker at start.
       */
      accounts: z.array(accountRef).optional(),
      /** The organization's management account, pinned: never a sandbox, checked against the live org. */
      managementAccountId: z
        .string()
        .regex(/^[0-9]{12}$/, 'a 12-digit account id')
        .optional(),
      /** The role the orchestrator deploys and cleans up with in sandbox accounts. */
      orchestratorRole: z
        .string()
        .regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, 'an IAM role name')
        .default(Roles.deploy),
    })
    .default({ orchestratorRole: Roles.deploy }),
});

/** worker.yaml as written (every field optional). */
export type WorkerSettingsFile = z.input<typeof WorkerSettingsSchema>;

/** Where the worker takes the age key from: its environment, never workflow input. */
export type AgeKeySource = { kind: 'file'; path: string } | { kind: 'env' } | { kind: 'none' };

/** The worker's settings, resolved: defaults applied, sandbox accounts known, age key located. */
export type WorkerSettings = Omit<z.output<typeof WorkerSettingsSchema>, 'sandbox'> & {
  sandbox: Omit<z.output<typeof WorkerSettingsSchema>['sandbox'], 'accounts'> & { accounts: string[] };
  /** Where the age key comes from (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY; no default paths searched). */
  ageKey: AgeKeySource;
};

/**
 * Apply the defaults and fill in what comes from elsewhere: the sandbox accounts org.yaml marks
 * (when worker.yaml names none) and the age key's source. Pure: the loader in lib/runtime reads
 * the files and the environment.
 */
export function resolveWorkerSettings(
  file: z.output<typeof WorkerSettingsSchema>,
  from: { orgSandboxAccounts?: string[]; ageKey?: AgeKeySource } = {},
): WorkerSettings {
  return {
    ...file,
    sandbox: { ...file.sandbox, accounts: file.sandbox.accounts ?? from.orgSandboxAccounts ?? [] },
    ageKey: from.ageKey ?? { kind: 'none' },
  };
}

/** Settings for tests and tools: the defaults with `over` merged per section. */
export function workerSettings(
  over: {
    secrets?: Partial<WorkerSettings['secrets']>;
    connectors?: Partial<WorkerSettings['connectors']>;
    platform?: Partial<WorkerSettings['platform']>;
    sandbox?: Partial<WorkerSettings['sandbox']>;
    ageKey?: AgeKeySource;
  } = {},
): WorkerSettings {
  const base = resolveWorkerSettings(WorkerSettingsSchema.parse({}));
  return {
    secrets: { ...base.secrets, ...over.secrets },
    connectors: { ...base.connectors, ...over.connectors },
    platform: { ...base.platform, ...over.platform },
    sandbox: { ...base.sandbox, ...over.sandbox },
    ageKey: over.ageKey ?? base.ageKey,
  };
}

/** True when `name` matches `pattern` (`FOO` exactly, `FOO_*` by prefix, `*_FILE` by suffix). */
function matchesEnvPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('*')) return name.endsWith(pattern.slice(1));
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return name === pattern;
}

/**
 * Why an `env:NAME` reference is refused, or `undefined` when the settings allow it. The reason
 * says which setting to change, when one can.
 */
export function envReferenceRefusal(
  settings: Pick<WorkerSettings, 'secrets'>,
  name: string,
): string | undefined {
  const always = ALWAYS_REFUSED_ENV_NAMES.find((p) => matchesEnvPattern(p, name));
  if (always) return `env:${name} is never readable by connectors (the worker's own credentials: ${always})`;
  if (!settings.secrets.envNames.some((p) => matchesEnvPattern(p, name)))
    return `env:${name} is not allowed by the worker (add ${name} to secrets.envNames in ${WORKER_SETTINGS_FILE})`;
  return undefined;
}

/**
 * Why an `aws-sm://` reference is refused: its secret must be named in
 * `secrets.awsSecretsManager` (exactly, or under a `prefix/*`).
 */
export function awsSecretsManagerRefusal(
  settings: Pick<WorkerSettings, 'secrets'>,
  reference: string,
): string | undefined {
  const ref = parseAwsSecretsManagerReference(reference);
  if (!ref) return `${reference} is not an aws-sm://name#key reference`;
  if (settings.secrets.awsSecretsManager.some((p) => matchesEnvPattern(p, ref.name))) return undefined;
  return `${reference}: AWS Secrets Manager secret ${ref.name} is not allowed by the worker (add ${ref.name} to secrets.awsSecretsManager in ${WORKER_SETTINGS_FILE})`;
}

/** Why a secret reference (`op://`, `env:`, `file:`, `aws-sm://`) is refused before resolution; folders are checked at use. */
export function secretReferenceRefusal(
  settings: Pick<WorkerSettings, 'secrets'>,
  reference: string,
): string | undefined {
  switch (secretRefScheme(reference)) {
    case 'aws-sm':
      return awsSecretsManagerRefusal(settings, reference);
    case 'env':
      return envReferenceRefusal(settings, reference.slice('env:'.length));
    case 'file': {
      const file = reference.slice('file:'.length);
      return pathRefusal(settings, file, `file ${file}`);
    }
    default:
      return undefined;
  }
}

/**
 * Why a path is refused by its text alone: not absolute, `..` in it, or not under a folder of
 * `secrets.folders`. The activity also resolves symlinks (realpath) before it reads the file.
 */
export function pathRefusal(
  settings: Pick<WorkerSettings, 'secrets'>,
  file: string,
  what: string,
): string | undefined {
  if (!file.startsWith('/')) return `${what}: write an absolute path`;
  if (file.split('/').includes('..')) return `${what}: a path with .. is refused`;
  if (!settings.secrets.folders.some((folder) => isUnder(folder, file)))
    return `${what} is outside the worker's secret folders (${settings.secrets.folders.join(', ')}; add its folder to secrets.folders in ${WORKER_SETTINGS_FILE})`;
  return undefined;
}

/** True when `file` is `folder` itself or lies below it (both absolute, normalized). */
export function isUnder(folder: string, file: string): boolean {
  const base = folder.endsWith('/') ? folder : `${folder}/`;
  return file.startsWith(base);
}

/** Why an image is refused: it must start with one of `connectors.images`. */
export function imageRefusal(settings: WorkerSettings, image: string): string | undefined {
  if (settings.connectors.images.some((prefix) => image.startsWith(prefix))) return undefined;
  return `image ${image} is not allowed by the worker (allowed: ${settings.connectors.images.join(', ')}; add its prefix to connectors.images in ${WORKER_SETTINGS_FILE})`;
}

/**
 * Why registry credentials are refused: the password goes to the image's own registry only, that
 * registry must be the host of an allowed image prefix, and it must be the registry the credential
 * was configured for.
 */
export function registryRefusal(settings: WorkerSettings, image: string, server: string): string | undefined {
  const host = registryHost(image);
  if (server !== host)
    return `registry credentials for ${server} cannot be used for image ${image}, which is pulled from ${host}`;
  if (!settings.connectors.images.some((prefix) => registryHost(prefix + 'x') === host))
    return `registry ${host} is not the host of an allowed image prefix (connectors.images in ${WORKER_SETTINGS_FILE})`;
  return undefined;
}

/**
 * Why a connector's role chain is refused: only the chains of `secrets.roleChains` may be named
 * (the roles, accounts and external ids are the worker's, never the input's).
 */
export function roleChainRefusal(
  settings: Pick<WorkerSettings, 'secrets'>,
  chain: string,
): string | undefined {
  if (Object.hasOwn(settings.secrets.roleChains, chain)) return undefined;
  const known = Object.keys(settings.secrets.roleChains);
  return `AWS role chain ${chain} is not one of the worker's (${known.length ? known.join(', ') : 'none'}; add it to secrets.roleChains in ${WORKER_SETTINGS_FILE})`;
}

/** Why a network is refused: `host` never, others only when in `connectors.networks`. */
export function networkRefusal(settings: WorkerSettings, network: string): string | undefined {
  if (network === REFUSED_NETWORK) return 'network host is never allowed for connectors';
  if (!settings.connectors.networks.includes(network))
    return `network ${network} is not allowed by the worker (add it to connectors.networks in ${WORKER_SETTINGS_FILE})`;
  return undefined;
}

/** Why a platform URL is refused: the token goes only to `platform.url`'s origin. */
export function platformUrlRefusal(settings: WorkerSettings, url: string): string | undefined {
  const allowed = new URL(settings.platform.url).origin;
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return 'the platform URL is not a URL';
  }
  if (origin !== allowed)
    return `platform URL ${origin} is not the worker's platform (${allowed}; set platform.url in ${WORKER_SETTINGS_FILE})`;
  return undefined;
}

/**
 * Why a sops source's own `ageKeyFile` is refused: the worker decrypts only with its own key
 * (SOPS_AGE_KEY_FILE or SOPS_AGE_KEY), so a file named in the input may only repeat that one.
 */
export function ageKeyFileRefusal(
  settings: Pick<WorkerSettings, 'ageKey'>,
  ageKeyFile: string,
): string | undefined {
  const own = settings.ageKey;
  if (own.kind === 'file' && own.path === ageKeyFile) return undefined;
  return `ageKeyFile ${ageKeyFile} is refused: the worker decrypts only with its own age key (${own.kind === 'file' ? `SOPS_AGE_KEY_FILE=${own.path}` : 'SOPS_AGE_KEY_FILE or SOPS_AGE_KEY'}); remove ageKeyFile from connectors.yaml`;
}

/** The container limits a connector gets: its own within the maxima, else the worker's defaults. */
export interface ContainerLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
}

/** The limits for a connector's asks, or the reasons they exceed the worker's maxima. */
export function containerLimits(
  settings: WorkerSettings,
  asked: { memoryMb?: number; cpus?: number; pids?: number },
): { limits: ContainerLimits; refusals: string[] } {
  const c = settings.connectors;
  const limits = {
    memoryMb: asked.memoryMb ?? c.memoryMb.default,
    cpus: asked.cpus ?? c.cpus.default,
    pids: asked.pids ?? c.pids.default,
  };
  const refusals = (['memoryMb', 'cpus', 'pids'] as const).flatMap((k) =>
    limits[k] > c[k].max
      ? [
          `${k} ${limits[k]} is above the worker's maximum of ${c[k].max} (connectors.${k}.max in ${WORKER_SETTINGS_FILE})`,
        ]
      : [],
  );
  return { limits, refusals };
}
