/**
 * Loading the worker's settings (config/worker.yaml, see lib/config/worker.ts) from its own disk
 * and environment at start. Bad settings stop the worker with the file, the field and the reason.
 */
import { existsSync } from 'node:fs';
import {
  resolveWorkerSettings,
  WORKER_SETTINGS_FILE,
  WorkerSettingsSchema,
  type AgeKeySource,
  type WorkerSettings,
} from '../config/worker';
import { CONNECTORS_FILE, type ConnectorsConfig } from '../config/connectors';
import { ORG_FILE } from '../config/org';
import { connectorsConfigRefusals } from '../contracts/connectors-inputs';
import { ConfigError } from '../config/validate';
import { configFile, loadOrgConfig, loadYamlFile, resolveConfigDir } from './config';

/** The variable that names the settings file, when it is not `<config dir>/worker.yaml`. */
export const WORKER_SETTINGS_ENV = 'SV0_WORKER_SETTINGS';

/**
 * Where the age key comes from: exactly one of SOPS_AGE_KEY_FILE (a path) or SOPS_AGE_KEY (the
 * key itself). Both set is an error; neither means sops sources cannot be decrypted. No default
 * path is searched, and no command is run.
 */
export function ageKeySourceFromEnv(env: NodeJS.ProcessEnv): AgeKeySource {
  const file = env.SOPS_AGE_KEY_FILE;
  const key = env.SOPS_AGE_KEY;
  if (file && key)
    throw new ConfigError('environment', [
      {
        path: 'SOPS_AGE_KEY_FILE, SOPS_AGE_KEY',
        reason: 'both are set: give the worker its age key one way only',
      },
    ]);
  if (file) {
    if (!file.startsWith('/'))
      throw new ConfigError('environment', [{ path: 'SOPS_AGE_KEY_FILE', reason: 'write an absolute path' }]);
    return { kind: 'file', path: file };
  }
  return key ? { kind: 'env' } : { kind: 'none' };
}

/** The settings file the worker reads: SV0_WORKER_SETTINGS, else `<config dir>/worker.yaml`. */
export function workerSettingsFile(
  env: NodeJS.ProcessEnv = process.env,
  configDir?: string,
): {
  file: string;
  explicit: boolean;
} {
  const named = env[WORKER_SETTINGS_ENV];
  if (named) return { file: named, explicit: true };
  return {
    file: configFile(configDir ?? resolveConfigDir(undefined, env), WORKER_SETTINGS_FILE),
    explicit: false,
  };
}

/**
 * Read the worker's settings: the file (absent: the defaults; a file named by SV0_WORKER_SETTINGS
 * must exist), the sandbox accounts of `<config dir>/org.yaml` when the file names none, and the
 * age key's source from the environment. Throws a {@link ConfigError} naming the file and field.
 */
export function loadWorkerSettings(
  env: NodeJS.ProcessEnv = process.env,
  opts: { configDir?: string } = {},
): WorkerSettings {
  const configDir = opts.configDir ?? resolveConfigDir(undefined, env);
  const { file, explicit } = workerSettingsFile(env, configDir);
  const parsed =
    explicit || existsSync(file) ? loadYamlFile(file, WorkerSettingsSchema) : WorkerSettingsSchema.parse({});
  let orgSandboxAccounts: string[] = [];
  if (parsed.sandbox.accounts === undefined && existsSync(configFile(configDir, ORG_FILE))) {
    orgSandboxAccounts = loadOrgConfig(configDir)
      .accounts.filter((a) => a.sandbox)
      .map((a) => a.name);
  }
  return resolveWorkerSettings(parsed, { orgSandboxAccounts, ageKey: ageKeySourceFromEnv(env) });
}

/**
 * connectors.yaml as the worker will judge it: every refusal its settings would give a run (the
 * settings of the same config folder, see {@link loadWorkerSettings}), as a {@link ConfigError}
 * on connectors.yaml that names the connector and the setting to change. For the CLI, so an
 * operator hears of it before a run. The age key is judged only when this environment names one.
 */
export function checkConnectorsForWorker(
  configDir: string,
  config: ConnectorsConfig,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const settings = loadWorkerSettings(env, { configDir });
  const judged = settings.ageKey.kind === 'none' ? withoutAgeKeyCheck(config) : config;
  const problems = connectorsConfigRefusals(settings, judged);
  if (problems.length > 0) throw new ConfigError(configFile(configDir, CONNECTORS_FILE), problems);
}

/** The config with sops sources' `ageKeyFile` left out: judged by the worker, which knows its key. */
function withoutAgeKeyCheck(config: ConnectorsConfig): ConnectorsConfig {
  return {
    ...config,
    connectors: config.connectors.map((c) => ({
      ...c,
      secrets: c.secrets.map((s) => (s.type === 'sops' ? { ...s, ageKeyFile: undefined } : s)),
    })),
  };
}
