/**
 * Reading the config folder: each file read from disk, parsed and validated by its schema in
 * lib/config/. Every problem is a ConfigError that names the file, the field and the reason,
 * raised before anything changes.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { BUDGETS_FILE, BudgetsFileSchema, resolveBudgets, type BudgetsConfig } from '../config/budgets';
import {
  CONNECTORS_FILE,
  ConnectorsFileSchema,
  resolveConnectors,
  type ConnectorsConfig,
} from '../config/connectors';
import {
  DEFAULT_NOTIFICATIONS,
  NOTIFICATIONS_FILE,
  NotificationsSchema,
  type NotificationsConfig,
} from '../config/notifications';
import { ORG_FILE, OrgSchema, type OrgConfig } from '../config/org';
import { declaredOwners } from '../config/tag-policy';
import type { FileAsset } from './cdk/assembly';
import { synthesizeApp, SynthError } from './cdk/synth';
import {
  checkTemplate,
  resolveScenario,
  ScenarioSchema,
  SCENARIOS_DIR,
  type Scenario,
  type ScenarioTemplate,
} from '../config/scenarios';
import { ConfigError, parseYamlConfig } from '../config/validate';

/** The config folder: `--config-dir` > `SV0_CONFIG_DIR` > `./config`. */
export function resolveConfigDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.SV0_CONFIG_DIR ?? 'config');
}

/** Path of a named file in the config folder, as the operator would type it in an error message. */
export function configFile(configDir: string, name: string): string {
  const relative = path.relative(process.cwd(), path.join(configDir, name));
  return relative.startsWith('..') ? path.join(configDir, name) : relative;
}

/**
 * Read a YAML file and validate it. A missing file, a YAML syntax error and a schema violation
 * all become a {@link ConfigError} that names the file (as given, relative paths stay relative).
 */
export function loadYamlFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      {
        path: '',
        reason: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})`,
      },
    ]);
  }
  return parseYamlConfig(text, schema, file);
}

/** Read and validate config/org.yaml from `configDir`. */
export function loadOrgConfig(configDir: string): OrgConfig {
  return loadYamlFile(configFile(configDir, ORG_FILE), OrgSchema);
}

/**
 * The owners `sv0:owner` may name, as config/org.yaml's tag policy declares them; undefined when the
 * folder holds no org.yaml or it declares no tag policy (then any owner is accepted). A file that
 * exists but is invalid throws a {@link ConfigError}.
 */
export function loadDeclaredOwners(configDir: string): string[] | undefined {
  try {
    return declaredOwners(loadOrgConfig(configDir));
  } catch (err) {
    if (err instanceof ConfigError && err.problems.some((p) => p.reason === 'file not found'))
      return undefined;
    throw err;
  }
}

/**
 * Read config/budgets.yaml and check it against config/org.yaml (read from the same folder unless
 * given). Throws a {@link ConfigError} before anything changes.
 */
export function loadBudgetsConfig(
  configDir: string,
  org: OrgConfig = loadOrgConfig(configDir),
): BudgetsConfig {
  const file = configFile(configDir, BUDGETS_FILE);
  return resolveBudgets(loadYamlFile(file, BudgetsFileSchema), org, file);
}

/** Read and validate config/connectors.yaml, defaults applied. */
export function loadConnectorsConfig(configDir: string): ConnectorsConfig {
  return resolveConnectors(loadYamlFile(configFile(configDir, CONNECTORS_FILE), ConnectorsFileSchema));
}

/** Read config/notifications.yaml; when the file does not exist, notifications go to the log. */
export function loadNotificationsConfig(configDir: string): NotificationsConfig {
  const file = configFile(configDir, NOTIFICATIONS_FILE);
  try {
    return loadYamlFile(file, NotificationsSchema);
  } catch (err) {
    if (err instanceof Error && /file not found/.test(err.message)) return DEFAULT_NOTIFICATIONS;
    throw err;
  }
}

/** Load and check one scenario file and its template (an app is only found, not synthesized). */
export function loadScenarioFile(file: string): Scenario {
  return resolveScenario(
    file,
    loadYamlFile(file, ScenarioSchema),
    (template) => {
      const templateFile = path.join(path.dirname(file), template);
      try {
        return { templateFile, body: readFileSync(templateFile, 'utf8') };
      } catch {
        throw new ConfigError(file, [
          { path: 'template', reason: `template file ${templateFile} not found` },
        ]);
      }
    },
    (app) => {
      const appFile = path.join(path.dirname(file), app);
      if (!existsSync(appFile))
        throw new ConfigError(file, [{ path: 'app', reason: `app file ${appFile} not found` }]);
      return appFile;
    },
  );
}

/** A scenario's template, ready to deploy, with the file assets it needs uploaded first. */
export interface ResolvedTemplate extends ScenarioTemplate {
  assets: FileAsset[];
  /** Remove what synthesis left on disk. */
  dispose(): void;
}

/**
 * The scenario's template: read for a template scenario; for an app, synthesized in a child process
 * (see {@link synthesizeApp}) and checked as a template file is. A broken app is a
 * {@link ConfigError} naming the scenario file, the field `app`, the app's file and its error.
 */
export async function scenarioTemplate(scenario: Scenario): Promise<ResolvedTemplate> {
  if (scenario.kind === 'template') return { ...scenario, assets: [], dispose: () => undefined };
  let synth;
  try {
    synth = await synthesizeApp(path.resolve(scenario.appFile));
  } catch (err) {
    if (!(err instanceof SynthError)) throw err;
    throw new ConfigError(scenario.file, [
      { path: 'app', reason: `${scenario.appFile} does not synthesize: ${err.message}` },
    ]);
  }
  try {
    const t = checkTemplate(scenario.file, scenario, scenario.appFile, synth.templateBody, 'app');
    return { ...t, assets: synth.assets, dispose: synth.dispose };
  } catch (err) {
    synth.dispose();
    throw err;
  }
}

/** Every scenario in `<configDir>/scenarios/`, by name. */
export function loadScenarios(configDir: string): Map<string, Scenario> {
  const dir = configFile(configDir, SCENARIOS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n));
  } catch {
    throw new ConfigError(dir, [{ path: '', reason: 'scenario folder not found' }]);
  }
  const scenarios = new Map<string, Scenario>();
  for (const name of names.sort()) {
    const s = loadScenarioFile(path.join(dir, name));
    scenarios.set(s.name, s);
  }
  return scenarios;
}

/** One scenario by name; an unknown name lists the known ones. */
export function loadScenario(configDir: string, name: string): Scenario {
  const all = loadScenarios(configDir);
  const s = all.get(name);
  if (!s) {
    throw new ConfigError(configFile(configDir, SCENARIOS_DIR), [
      { path: '', reason: `no scenario "${name}"; known: ${[...all.keys()].join(', ') || 'none'}` },
    ]);
  }
  return s;
}
