import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../duration';
import { ConfigError, configFile, durationSchema as duration, isConfigDuration, loadYamlFile } from './load';

/**
 * config/scenarios/*.yaml: the demo scenarios. Each names a self-contained CloudFormation template
 * (inline code, no CDK bootstrap assets, so it deploys into a fresh sandbox account), the values
 * of its parameters, a default TTL and a maximum lifetime.
 */

const SCENARIOS_DIR = 'scenarios';

const ScenarioSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a scenario name is lower case letters, digits and dashes'),
    description: z.string().min(1),
    /** Template path, relative to the scenario file. */
    template: z.string().min(1),
    parameters: z.record(z.string(), z.string()).default({}),
    defaultTtl: duration,
    /** The longest a demo of this scenario may live, counted from its start; bounds `extend`. */
    maxTtl: duration,
  })
  .refine(
    (s) =>
      !isConfigDuration(s.defaultTtl) ||
      !isConfigDuration(s.maxTtl) ||
      parseDuration(s.defaultTtl) <= parseDuration(s.maxTtl),
    {
      path: ['defaultTtl'],
      message: 'defaultTtl must not exceed maxTtl',
    },
  );
export type ScenarioConfig = z.infer<typeof ScenarioSchema>;

/** A scenario with its template read and checked. */
export interface Scenario extends ScenarioConfig {
  file: string;
  templateFile: string;
  templateBody: string;
  defaultTtlMs: number;
  maxTtlMs: number;
  /** Logical id -> resource type, as the template declares them. */
  resourceTypes: Record<string, string>;
}

/** CloudFormation's limit for a template passed inline (TemplateBody). */
const TEMPLATE_BODY_LIMIT = 51_200;

const TemplateSchema = z.looseObject({
  Parameters: z
    .record(z.string(), z.looseObject({ Type: z.string(), Default: z.unknown().optional() }))
    .optional(),
  Resources: z.record(
    z.string(),
    z.looseObject({ Type: z.string().regex(/^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$/) }),
  ),
});

/**
 * Read a template and check what a deploy would otherwise find out late: size, YAML (long-form
 * intrinsics only, so every tool parses it), and that the scenario gives every parameter without a
 * default and none the template lacks.
 */
function readTemplate(scenarioFile: string, scenario: ScenarioConfig) {
  const templateFile = path.join(path.dirname(scenarioFile), scenario.template);
  let body: string;
  try {
    body = readFileSync(templateFile, 'utf8');
  } catch {
    throw new ConfigError(scenarioFile, [
      { path: 'template', reason: `template file ${templateFile} not found` },
    ]);
  }
  const problems: { path: string; reason: string }[] = [];
  if (Buffer.byteLength(body) > TEMPLATE_BODY_LIMIT) {
    problems.push({
      path: 'template',
      reason: `${templateFile} is over CloudFormation's ${TEMPLATE_BODY_LIMIT}-byte inline limit`,
    });
  }
  const doc = parseDocument(body, { uniqueKeys: true });
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    const first = [...doc.errors, ...doc.warnings][0]!.message.split('\n')[0];
    throw new ConfigError(scenarioFile, [
      {
        path: 'template',
        reason: `${templateFile}: ${first} (write intrinsics in long form: Ref:, Fn::Sub:)`,
      },
    ]);
  }
  const parsed = TemplateSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ConfigError(scenarioFile, [
      {
        path: 'template',
        reason: `${templateFile} is not a CloudFormation template: ${parsed.error.issues[0]?.message}`,
      },
    ]);
  }
  const declared = parsed.data.Parameters ?? {};
  for (const key of Object.keys(scenario.parameters)) {
    if (!(key in declared))
      problems.push({ path: `parameters.${key}`, reason: `the template declares no parameter ${key}` });
  }
  for (const [key, p] of Object.entries(declared)) {
    if (p.Default === undefined && !(key in scenario.parameters)) {
      problems.push({
        path: 'parameters',
        reason: `the template's parameter ${key} has no default: give it a value`,
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(scenarioFile, problems);
  const resourceTypes = Object.fromEntries(
    Object.entries(parsed.data.Resources).map(([id, r]) => [id, r.Type]),
  );
  return { templateFile, body, resourceTypes };
}

/** Load and check one scenario file. */
function loadScenarioFile(file: string): Scenario {
  const config = loadYamlFile(file, ScenarioSchema);
  const expectedName = path.basename(file).replace(/\.ya?ml$/, '');
  if (config.name !== expectedName) {
    throw new ConfigError(file, [
      { path: 'name', reason: `"${config.name}" must match the file name "${expectedName}"` },
    ]);
  }
  const t = readTemplate(file, config);
  return {
    ...config,
    file,
    templateFile: t.templateFile,
    templateBody: t.body,
    defaultTtlMs: parseDuration(config.defaultTtl),
    maxTtlMs: parseDuration(config.maxTtl),
    resourceTypes: t.resourceTypes,
  };
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
