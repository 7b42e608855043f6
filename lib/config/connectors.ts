/**
 * config/connectors.yaml: the connectors that run on a schedule. Each connector names its image,
 * arguments, interval and where its secrets come from; the file holds only references to secrets,
 * never a value. The CLI validates this file and passes the result to the schedules; the worker
 * validates each run's input again with {@link ConnectorSpecSchema} and checks it against its own
 * settings (config/worker.yaml, see ./worker.ts) before it resolves a secret. The grammar of
 * secret references, secret sources and role chains is ./secret-refs.ts's.
 */
import { z } from 'zod';
import { parseDuration } from '../duration';
import { ConfigError, durationSchema as duration, isConfigDuration } from './validate';
import {
  ConnectorAwsSchema,
  credentialVarsBesideRoleChain,
  envNameSchema,
  SecretRefSchema,
  SecretSourceSchema,
} from './secret-refs';

export const CONNECTORS_FILE = 'connectors.yaml';

const memoryMb = z.number().int().min(16).max(65536);
/** CPUs for the container (Docker's --cpus); within the worker's maximum. */
const cpus = z.number().min(0.1).max(64);
/** The container's process limit (Docker's --pids-limit); within the worker's maximum. */
const pids = z.number().int().min(16).max(65536);

export const RetrySchema = z.strictObject({
  /** Attempts per run, the first included. */
  maximumAttempts: z.number().int().min(1).max(20),
  initialInterval: duration,
  backoffCoefficient: z.number().min(1).max(10),
  maximumInterval: duration,
});

const DefaultsSchema = z.strictObject({
  network: z.string().min(1).default('sv0-platform_default'),
  timeout: duration.default('5m'),
  memoryMb: memoryMb.default(256),
  cpus: cpus.optional(),
  pids: pids.optional(),
  jitter: duration.default('1m'),
  catchupWindow: duration.default('10m'),
  retry: RetrySchema.default({
    maximumAttempts: 3,
    initialInterval: '30s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
  }),
  /** After this many failed runs in a row the schedule is paused and an alert says why. */
  pauseAfterFailedRuns: z.number().int().min(1).max(100).default(3),
});

/** A connector's name: also part of its schedule id and its containers' labels. */
export const connectorNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'a connector name is lower case letters, digits and dashes (up to 41)');

const imageSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._/:@-]*$/,
    'an image reference such as ghcr.io/securityv0/connector-entra-servicenow:1.2.0',
  );

/**
 * When the worker pulls a connector's image: `missing` (only when the engine has no copy) or
 * `always` (before every run; a failed pull runs the cached copy and says so). An image pinned by
 * digest (`name@sha256:...`) never changes, so it is pulled only when missing.
 */
export const PullPolicySchema = z.enum(['missing', 'always']);
export type PullPolicy = z.infer<typeof PullPolicySchema>;

/** Whether an image reference is pinned by digest (`name@sha256:<64 hex>`). */
export function isDigestImage(image: string): boolean {
  return /@sha256:[a-f0-9]{64}$/.test(image);
}

const ConnectorInputSchema = z.strictObject({
  name: connectorNameSchema,
  enabled: z.boolean().default(true),
  image: imageSchema,
  /** @default missing */
  pull: PullPolicySchema.optional(),
  args: z.array(z.string()).default([]),
  /** How often the schedule runs it; absent for a connector that runs `after` others. */
  interval: duration.optional(),
  /**
   * The connectors this one runs after: it has no schedule of its own and runs once every one of
   * them has succeeded since its own last run.
   */
  after: z.array(connectorNameSchema).min(1).max(50).optional(),
  network: z.string().min(1).optional(),
  timeout: duration.optional(),
  memoryMb: memoryMb.optional(),
  cpus: cpus.optional(),
  pids: pids.optional(),
  jitter: duration.optional(),
  catchupWindow: duration.optional(),
  retry: RetrySchema.partial().optional(),
  pauseAfterFailedRuns: z.number().int().min(1).max(100).optional(),
  /** Non-secret settings, passed as they are (they appear in workflow history). */
  environment: z.record(envNameSchema, z.string()).default({}),
  /** Secret sources, merged in order (a later source wins for the same name). */
  secrets: z.array(SecretSourceSchema).default([]),
  /** Temporary AWS credentials per run, from a role chain of the worker's settings. */
  aws: ConnectorAwsSchema.optional(),
});

const RegistrySchema = z.strictObject({
  /** Not a secret: a user name, or a reference when you prefer. */
  username: z.string().min(1),
  /** Reference to the password or token. */
  passwordRef: SecretRefSchema,
});

export const PlatformSchema = z.strictObject({
  /**
   * Where the health check reaches the platform API from the worker. It must be the worker's own
   * `platform.url` (config/worker.yaml): the token goes nowhere else.
   */
  url: z.url('the platform URL, e.g. http://api:3000'),
  /** Reference to the bearer token for the platform API. */
  tokenRef: SecretRefSchema,
  /** The platform's syncs endpoint, a path on the platform's origin. */
  syncsPath: z
    .string()
    .regex(/^\/(?!\/)[A-Za-z0-9._~/-]*$/, 'a path on the platform such as /api/v1/syncs')
    .default('/api/v1/syncs'),
});

export const ConnectorsFileSchema = z
  .strictObject({
    defaults: DefaultsSchema.default(DefaultsSchema.parse({})),
    /** Pull credentials per registry host (e.g. ghcr.io), as secret references. */
    registries: z
      .record(z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?$/, 'a registry host such as ghcr.io'), RegistrySchema)
      .default({}),
    platform: PlatformSchema,
    /** How often `connector-health` asks the platform. */
    healthCheckEvery: duration.default('5m'),
    connectors: z.array(ConnectorInputSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.connectors.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'name'],
          message: `duplicate connector name "${c.name}"`,
        });
      seen.add(c.name);
      if (c.after && c.interval !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'interval'],
          message: `a connector with after: has no schedule of its own; remove interval (it runs when ${c.after.join(', ')} succeeded)`,
        });
      if (!c.after && c.interval === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'interval'],
          message: 'write an interval (e.g. 30m), or after: [other connectors] to run when they succeed',
        });
      if (c.aws)
        for (const { name, at } of credentialVarsBesideRoleChain(c))
          ctx.addIssue({
            code: 'custom',
            path: ['connectors', i, ...at],
            message: `${name} comes from the role chain ${c.aws.roleChain} (aws:); remove it here`,
          });
      if (c.pull === 'always' && isDigestImage(c.image))
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'pull'],
          message:
            'an image pinned by digest never changes, so pulling it again is pointless: leave pull out',
        });
      // zod runs this even when a duration failed its own check above; that is reported there.
      const timeout = c.timeout ?? file.defaults.timeout;
      if (c.interval === undefined || !isConfigDuration(timeout) || !isConfigDuration(c.interval)) return;
      if (parseDuration(timeout) >= parseDuration(c.interval)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'timeout'],
          message: 'the timeout must be shorter than the interval',
        });
      }
    });
    for (const problem of afterProblems(file.connectors)) ctx.addIssue({ code: 'custom', ...problem });
  });
export type ConnectorsFile = z.infer<typeof ConnectorsFileSchema>;

/**
 * What is wrong with the `after:` lists: an unknown name, a disabled upstream of an enabled
 * connector, and every cycle (named once, at the first connector of the file that is on it).
 */
export function afterProblems(
  connectors: readonly { name: string; enabled: boolean; after?: string[] | undefined }[],
): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const byName = new Map(connectors.map((c) => [c.name, c]));
  connectors.forEach((c, i) => {
    c.after?.forEach((upstream, j) => {
      const found = byName.get(upstream);
      if (!found)
        problems.push({
          path: ['connectors', i, 'after', j],
          message: `no connector named "${upstream}" (there are: ${connectors.map((x) => x.name).join(', ')})`,
        });
      else if (c.enabled && !found.enabled)
        problems.push({
          path: ['connectors', i, 'after', j],
          message: `connector "${upstream}" is disabled, so ${c.name} would never run; enable it or remove it from after:`,
        });
    });
  });
  // Depth-first search; a node met again while on the current path closes a cycle.
  const done = new Set<string>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]) => {
    const at = trail.indexOf(name);
    if (at >= 0) {
      const cycle = [...trail.slice(at), name];
      const key = [...new Set(cycle)].sort().join(' ');
      if (!reported.has(key)) {
        reported.add(key);
        const first = connectors.findIndex((x) => cycle.includes(x.name));
        problems.push({
          path: ['connectors', first, 'after'],
          message: `a cycle: ${cycle.join(' runs after ')}; a connector cannot wait on itself`,
        });
      }
      return;
    }
    if (done.has(name)) return;
    for (const upstream of byName.get(name)?.after ?? [])
      if (byName.has(upstream)) visit(upstream, [...trail, name]);
    done.add(name);
  };
  for (const c of connectors) visit(c.name, []);
  return problems;
}

/** The enabled connectors that name `name` in their `after:` list. */
export function dependentsOf(config: ConnectorsConfig, name: string): string[] {
  return config.connectors.filter((c) => c.enabled && c.after?.includes(name)).map((c) => c.name);
}

/** The enabled connectors that run after `name`, directly or through others, in file order. */
export function heldBackBy(config: ConnectorsConfig, name: string): string[] {
  const found = new Set<string>();
  const walk = (n: string) => {
    for (const d of dependentsOf(config, n)) {
      if (found.has(d)) continue;
      found.add(d);
      walk(d);
    }
  };
  walk(name);
  return config.connectors.filter((c) => found.has(c.name)).map((c) => c.name);
}

/**
 * One connector with its defaults applied: what a schedule carries to `connectorSyncWorkflow`, and
 * what the activity validates again before it runs anything (the input may be forged).
 */
export const ConnectorSpecSchema = z.strictObject({
  name: connectorNameSchema,
  enabled: z.boolean(),
  image: imageSchema,
  /** Absent: `missing`. */
  pull: PullPolicySchema.optional(),
  args: z.array(z.string()),
  /**
   * The schedule's interval; for a connector that runs `after` others, the longest interval of
   * the connectors it waits on (the health check measures staleness against it).
   */
  interval: duration,
  /** The connectors it runs after (it then has no schedule of its own). */
  after: z.array(connectorNameSchema).max(50).optional(),
  network: z.string().min(1),
  timeout: duration,
  memoryMb,
  /** Absent: the worker's default. */
  cpus: cpus.optional(),
  /** Absent: the worker's default. */
  pids: pids.optional(),
  jitter: duration,
  catchupWindow: duration,
  retry: RetrySchema,
  pauseAfterFailedRuns: z.number().int().min(1).max(100),
  environment: z.record(envNameSchema, z.string()),
  secrets: z.array(SecretSourceSchema),
  /** Temporary AWS credentials per run, from a role chain of the worker's settings. */
  aws: ConnectorAwsSchema.optional(),
  /** Pull credentials for the image's registry, when configured. */
  registryAuth: z
    .strictObject({
      server: z.string().regex(/^[a-z0-9.-]+(:[0-9]+)?$/, 'a registry host such as ghcr.io'),
      username: z.string().min(1),
      passwordRef: SecretRefSchema,
    })
    .optional(),
});
export type ConnectorSpec = z.infer<typeof ConnectorSpecSchema>;

export interface ConnectorsConfig {
  platform: z.infer<typeof PlatformSchema>;
  healthCheckEvery: string;
  connectors: ConnectorSpec[];
}

/** The registry host of an image reference (`ghcr.io/x/y:1` -> `ghcr.io`; `busybox` -> `docker.io`). */
export function registryHost(image: string): string {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

/** `{ [key]: value }`, or nothing when the value is absent (schedules keep their input unchanged). */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** Apply the defaults to every connector. */
export function resolveConnectors(file: ConnectorsFile): ConnectorsConfig {
  const d = file.defaults;
  const byName = new Map(file.connectors.map((c) => [c.name, c]));
  // Validation has refused cycles and unknown names, so this ends.
  const intervalOf = (name: string): string => {
    const c = byName.get(name);
    if (!c) throw new Error(`no connector named ${name}`);
    if (c.interval !== undefined) return c.interval;
    return (c.after ?? []).map(intervalOf).reduce((a, b) => (parseDuration(b) > parseDuration(a) ? b : a));
  };
  return {
    platform: file.platform,
    healthCheckEvery: file.healthCheckEvery,
    connectors: file.connectors.map((c) => {
      const host = registryHost(c.image);
      const registry = file.registries[host];
      return {
        name: c.name,
        enabled: c.enabled,
        image: c.image,
        ...optional('pull', c.pull),
        args: c.args,
        interval: intervalOf(c.name),
        ...optional('after', c.after),
        network: c.network ?? d.network,
        timeout: c.timeout ?? d.timeout,
        memoryMb: c.memoryMb ?? d.memoryMb,
        ...optional('cpus', c.cpus ?? d.cpus),
        ...optional('pids', c.pids ?? d.pids),
        jitter: c.jitter ?? d.jitter,
        catchupWindow: c.catchupWindow ?? d.catchupWindow,
        retry: { ...d.retry, ...c.retry },
        pauseAfterFailedRuns: c.pauseAfterFailedRuns ?? d.pauseAfterFailedRuns,
        environment: c.environment,
        secrets: c.secrets,
        ...optional('aws', c.aws),
        ...(registry
          ? { registryAuth: { server: host, username: registry.username, passwordRef: registry.passwordRef } }
          : {}),
      };
    }),
  };
}

/** The named connector, or a {@link ConfigError} that lists the names there are. */
export function findConnector(config: ConnectorsConfig, name: string, file = CONNECTORS_FILE): ConnectorSpec {
  const found = config.connectors.find((c) => c.name === name);
  if (!found) {
    throw new ConfigError(file, [
      {
        path: 'connectors',
        reason: `no connector named "${name}" (there are: ${config.connectors.map((c) => c.name).join(', ') || 'none'})`,
      },
    ]);
  }
  return found;
}
