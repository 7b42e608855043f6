import { z } from 'zod';
import { parseDuration } from '../duration';
import { ConfigError, durationSchema as duration, isConfigDuration } from './validate';
import { SecretRefSchema } from './notifications';

/**
 * config/connectors.yaml: the connectors that run on a schedule. Each connector
 * names its image, arguments, interval and where its secrets come from; the file holds only
 * references to secrets, never a value. The CLI validates this file and passes the result to the
 * schedules; the worker reads no config file.
 */

export const CONNECTORS_FILE = 'connectors.yaml';

/** An environment variable name as the connector sees it. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name is letters, digits and _');

const absolutePath = z.string().regex(/^\//, 'write an absolute path');

/** Where a connector's secret environment comes from: one of three tiers, chosen per connector. */
const SecretSourceSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /**
     * An env file (`NAME=value` lines). Values written `op://vault/item/field` are resolved through
     * 1Password as `op run --env-file` does (tier 1); a file with any literal value is a plain
     * env file (tier 3) and is refused unless only its owner can read it.
     */
    type: z.literal('env-file'),
    path: absolutePath,
  }),
  z.strictObject({
    /** A file encrypted by `sops` with age (tier 2); its values may be op:// references too. */
    type: z.literal('sops'),
    path: absolutePath,
    /** @default from the extension: .json, .yaml/.yml, else dotenv */
    format: z.enum(['dotenv', 'yaml', 'json']).optional(),
    /** The age key file; else the worker's SOPS_AGE_KEY_FILE. */
    ageKeyFile: absolutePath.optional(),
  }),
  z.strictObject({
    /** Variables given as references right here: op://vault/item/field, env:NAME or file:/path. */
    type: z.literal('refs'),
    vars: z.record(envName, SecretRefSchema),
  }),
]);
export type SecretSource = z.infer<typeof SecretSourceSchema>;

const RetrySchema = z.strictObject({
  /** Attempts per run, the first included. */
  maximumAttempts: z.number().int().min(1).max(20),
  initialInterval: duration,
  backoffCoefficient: z.number().min(1).max(10),
  maximumInterval: duration,
});

const DefaultsSchema = z.strictObject({
  network: z.string().min(1).default('sv0-platform_default'),
  timeout: duration.default('5m'),
  memoryMb: z.number().int().min(16).max(65536).default(256),
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

const ConnectorInputSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,40}$/,
      'a connector name is lower case letters, digits and dashes (up to 41)',
    ),
  enabled: z.boolean().default(true),
  image: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9._/:@-]*$/,
      'an image reference such as ghcr.io/securityv0/connector-entra-servicenow:1.2.0',
    ),
  args: z.array(z.string()).default([]),
  interval: duration,
  network: z.string().min(1).optional(),
  timeout: duration.optional(),
  memoryMb: z.number().int().min(16).max(65536).optional(),
  jitter: duration.optional(),
  catchupWindow: duration.optional(),
  retry: RetrySchema.partial().optional(),
  pauseAfterFailedRuns: z.number().int().min(1).max(100).optional(),
  /** Non-secret settings, passed as they are (they appear in workflow history). */
  environment: z.record(envName, z.string()).default({}),
  /** Secret sources, merged in order (a later source wins for the same name). */
  secrets: z.array(SecretSourceSchema).default([]),
});

const RegistrySchema = z.strictObject({
  /** Not a secret: a user name, or a reference when you prefer. */
  username: z.string().min(1),
  /** Reference to the password or token (op://, env:, file:). */
  passwordRef: SecretRefSchema,
});

const PlatformSchema = z.strictObject({
  /** Where the health check reaches the platform API from the worker. */
  url: z.url('the platform URL, e.g. http://127.0.0.1:3000'),
  /** Reference to the bearer token for the platform API. */
  tokenRef: SecretRefSchema,
  /** The platform's syncs endpoint (configurable: the platform's API paths may change). */
  syncsPath: z.string().regex(/^\//).default('/api/v1/syncs'),
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
      // zod runs this even when a duration failed its own check above; that is reported there.
      const timeout = c.timeout ?? file.defaults.timeout;
      if (!isConfigDuration(timeout) || !isConfigDuration(c.interval)) return;
      if (parseDuration(timeout) >= parseDuration(c.interval)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'timeout'],
          message: 'the timeout must be shorter than the interval',
        });
      }
    });
  });
export type ConnectorsFile = z.infer<typeof ConnectorsFileSchema>;

/** One connector with its defaults applied: what a schedule carries to `connectorSyncWorkflow`. */
export interface ConnectorSpec {
  name: string;
  enabled: boolean;
  image: string;
  args: string[];
  interval: string;
  network: string;
  timeout: string;
  memoryMb: number;
  jitter: string;
  catchupWindow: string;
  retry: z.infer<typeof RetrySchema>;
  pauseAfterFailedRuns: number;
  environment: Record<string, string>;
  secrets: SecretSource[];
  /** Pull credentials for the image's registry, when configured. */
  registryAuth?: { server: string; username: string; passwordRef: string };
}

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

/** Apply the defaults to every connector. */
export function resolveConnectors(file: ConnectorsFile): ConnectorsConfig {
  const d = file.defaults;
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
        args: c.args,
        interval: c.interval,
        network: c.network ?? d.network,
        timeout: c.timeout ?? d.timeout,
        memoryMb: c.memoryMb ?? d.memoryMb,
        jitter: c.jitter ?? d.jitter,
        catchupWindow: c.catchupWindow ?? d.catchupWindow,
        retry: { ...d.retry, ...c.retry },
        pauseAfterFailedRuns: c.pauseAfterFailedRuns ?? d.pauseAfterFailedRuns,
        environment: c.environment,
        secrets: c.secrets,
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
