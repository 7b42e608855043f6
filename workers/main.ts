/**
 * The production worker: one process, two task queues (sv0-infra for AWS work, sv0-connectors for
 * container runs, with a bounded number of concurrent containers), configured from the environment
 * (TEMPORAL_*, AWS_*, DOCKER_HOST) and bounded by its settings file (config/worker.yaml, or the
 * file SV0_WORKER_SETTINGS names), read once at start: bad settings stop it here. Shuts down gracefully on SIGINT/SIGTERM, giving running
 * connector containers a grace period to finish or be cleaned up.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import v8 from 'node:v8';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkerOptions,
} from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { resolveTemporalOptions } from '../lib/runtime/temporal';
import { dataConverterFromEnv } from '../lib/runtime/codec';
import { loadWorkerSettings, workerSettingsFile } from '../lib/runtime/worker-settings';
import { TaskQueues } from '../lib/names';
import { logLevelFromEnv, type LogLevel } from '../lib/runtime/logger';
import { loadSecretFiles, SecretFileError } from '../lib/runtime/secret-files';
import { createConnectorActivities, createInfraActivities } from './activities';
import { depsFromEnv } from './deps';

/** How the worker process runs (from SV0_* variables); what it allows is in config/worker.yaml. */
export interface WorkerProcessOptions {
  /** Concurrent connector containers. @default 4 */
  maxConcurrentConnectors: number;
  /** How long shutdown waits for running activities. @default '2 minutes' */
  shutdownGraceTime: Duration;
  /**
   * Workflows kept in the sv0-infra worker's cache. Demos and budget guards wake rarely, so a
   * small cache costs a short replay now and then, and bounds the workflow thread's heap however
   * many demos wait (the SDK's default sizes the cache from the V8 heap limit: thousands). The
   * heap's high-water mark stays resident, so this bound is what the worker's memory follows
   * (README, the worker's memory).
   * @default 250
   */
  maxCachedWorkflows: number;
  /**
   * V8's `--optimize-for-size` in every isolate of the process: a heap may grow less past its live
   * objects before the next full collection, so the high-water marks that stay resident are lower.
   * At 10,000 waiting demos it keeps the worker near 300 MiB, where without it the peak while they
   * deploy reached 500 to 660 MiB (bench/RESULTS.md, P2), for a little more CPU in collections.
   * Set in the process (Node refuses the flag in NODE_OPTIONS), before the workflow threads start.
   * SV0_OPTIMIZE_FOR_SIZE=false turns it off.
   * @default true
   */
  optimizeForSize: boolean;
  /** Prometheus metrics bind address (e.g. 0.0.0.0:9464); off when unset. */
  metricsAddress?: string;
}

function booleanFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`${name} must be true or false, not ${JSON.stringify(value)}`);
}

export function processOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerProcessOptions {
  return {
    maxConcurrentConnectors: Number(env.SV0_MAX_CONCURRENT_CONNECTORS ?? 4),
    maxCachedWorkflows: Number(env.SV0_MAX_CACHED_WORKFLOWS ?? 250),
    optimizeForSize: booleanFromEnv(env, 'SV0_OPTIMIZE_FOR_SIZE', true),
    shutdownGraceTime: (env.SV0_SHUTDOWN_GRACE ?? '2 minutes') as Duration,
    metricsAddress: env.SV0_METRICS_ADDRESS || undefined,
  };
}

/**
 * The prebuilt bundle when the image ships one (production), else bundle from source at start.
 * Compiled, this file is dist/workers/main.js and the bundle dist/workflow-bundle.js (written by
 * scripts/build-bundle.ts); run from source through tsx, the lookup misses on purpose, so a stale
 * bundle left in dist/ never replaces the workflows being edited.
 */
export type WorkflowSource = { workflowBundle: { codePath: string } } | { workflowsPath: string };

function workflowSource(): WorkflowSource {
  const prebuilt = path.resolve(__dirname, '..', 'workflow-bundle.js');
  if (existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: require.resolve('../workflows') };
}

/**
 * The worker of each task queue, with the production settings, on one connection: what a worker
 * process runs (the benchmarks run it too, with stand-in activities).
 */
export async function createWorkers(opts: {
  connection: NativeConnection;
  namespace: string;
  settings: WorkerProcessOptions;
  source: WorkflowSource;
  dataConverter?: DataConverter;
  activities: { infra: object; connectors: object };
  /** SDK options laid over both workers' (a benchmark measuring another setting); none in production. */
  overrides?: Partial<WorkerOptions>;
}): Promise<{ infra: Worker; connectors: Worker }> {
  const { connection, namespace, settings, source, dataConverter, activities, overrides } = opts;
  if (settings.optimizeForSize) v8.setFlagsFromString('--optimize-for-size');
  const infra = await Worker.create({
    connection,
    namespace,
    taskQueue: TaskQueues.infra,
    maxCachedWorkflows: settings.maxCachedWorkflows,
    ...source,
    dataConverter,
    activities: activities.infra,
    shutdownGraceTime: settings.shutdownGraceTime,
    ...overrides,
  });
  const connectors = await Worker.create({
    connection,
    namespace,
    taskQueue: TaskQueues.connectors,
    ...source,
    dataConverter,
    activities: activities.connectors,
    maxConcurrentActivityTaskExecutions: settings.maxConcurrentConnectors,
    shutdownGraceTime: settings.shutdownGraceTime,
    ...overrides,
  });
  return { infra, connectors };
}

/**
 * An Error's own fields are not enumerable, so the SDK's `error` would log as `{}`: log its type
 * and message (our failures never carry a secret in either; see lib/failure-converter.ts).
 */
function errorFields(error: unknown): { error?: { type: string; message: string } } {
  if (!(error instanceof Error)) return {};
  const type = (error as Error & { type?: string }).type ?? error.name;
  return { error: { type, message: error.message } };
}

/** A start-up failure the operator fixes from its message alone (no stack trace printed). */
class StartupError extends Error {
  override name = 'StartupError';
}

/** Runs a check of the worker's environment; its failure stops the worker with its message alone. */
function startupStep<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw new StartupError((err as Error).message, { cause: err });
  }
}

async function runWorkers(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = startupStep(() => processOptionsFromEnv(env));
  const logLevel = startupStep(() => logLevelFromEnv(env));
  // OP_SERVICE_ACCOUNT_TOKEN_FILE and the like, before anything reads the environment.
  const secretFileWarnings = loadSecretFiles(env);
  const deps = depsFromEnv(loadWorkerSettings(env), env);
  for (const warning of secretFileWarnings) deps.logger.warn(warning);
  // The SDK's own log lines (worker state, activity and workflow failures) go through the same
  // pino logger at the same level, so every line the worker writes is structured JSON. The SDK's
  // Rust core logs at WARN unless LOG_LEVEL asks for more detail than INFO.
  const sdkLevel = logLevel.toUpperCase() as Uppercase<LogLevel>;
  Runtime.install({
    logger: new DefaultLogger(sdkLevel, ({ level, message, meta }) => {
      const log = deps.logger[level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error'];
      log.call(deps.logger, { sdk: true, ...meta, ...errorFields(meta?.error) }, message);
    }),
    telemetryOptions: {
      logging: {
        filter: makeTelemetryFilterString({
          core: logLevel === 'trace' || logLevel === 'debug' ? sdkLevel : 'WARN',
        }),
        forward: {},
      },
      ...(settings.metricsAddress
        ? { metrics: { prometheus: { bindAddress: settings.metricsAddress } } }
        : {}),
    },
  });
  // Payload encryption when SV0_CODEC_KEY_FILE (or SV0_CODEC_KEYS) is set; a bad key file stops here.
  const dataConverter = dataConverterFromEnv(env);
  const { connection: connectionOptions, namespace } = resolveTemporalOptions();
  const connection = await NativeConnection.connect(connectionOptions).catch((err: unknown) => {
    throw new StartupError(
      `cannot connect to Temporal at ${connectionOptions.address} (namespace ${namespace}): ${(err as Error).message}`,
      { cause: err },
    );
  });
  const { infra, connectors } = await createWorkers({
    connection,
    namespace,
    settings,
    source: workflowSource(),
    dataConverter,
    activities: {
      infra: createInfraActivities(deps),
      connectors: createConnectorActivities(deps),
    },
  });
  deps.logger.info(
    {
      settings: workerSettingsFile(env).file,
      address: connectionOptions.address,
      namespace,
      taskQueues: [TaskQueues.infra, TaskQueues.connectors],
      payloadEncryption: dataConverter !== undefined,
    },
    'sv0 worker polling',
  );
  try {
    await Promise.all([infra.run(), connectors.run()]);
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorkers().catch((err: unknown) => {
    const known = err instanceof StartupError || err instanceof SecretFileError;
    process.stderr.write(
      `sv0 worker failed: ${known ? err.message : ((err as Error).stack ?? String(err))}\n`,
    );
    process.exit(1);
  });
}
