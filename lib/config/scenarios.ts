import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../duration';
import { ConfigError, durationSchema as duration, isConfigDuration } from './validate';

/**
 * config/scenarios/*.yaml: the demo scenarios. Each names a self-contained CloudFormation template
 * (inline code, no CDK bootstrap assets, so it deploys into a fresh sandbox account), the values
 * of its parameters, a default TTL and a maximum lifetime.
 */

export const SCENARIOS_DIR = 'scenarios';

export const ScenarioSchema = z
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
 * Check a template as a deploy would otherwise find out late: size, YAML (long-form intrinsics
 * only, so every tool parses it), and that the scenario gives every parameter without a default
 * and none the template lacks.
 */
function checkTemplate(scenarioFile: string, scenario: ScenarioConfig, templateFile: string, body: string) {
  const problems: { path: string; reason: string }[] = [];
  if (new TextEncoder().encode(body).byteLength > TEMPLATE_BODY_LIMIT) {
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

/**
 * Check one scenario file's validated config and its template, and build the scenario. `file` is
 * the scenario file's path; `readTemplate` reads the template the config names (relative to that
 * file) or throws a {@link ConfigError}.
 */
export function resolveScenario(
  file: string,
  config: ScenarioConfig,
  readTemplate: (template: string) => { templateFile: string; body: string },
): Scenario {
  const expectedName = file.slice(file.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');
  if (config.name !== expectedName) {
    throw new ConfigError(file, [
      { path: 'name', reason: `"${config.name}" must match the file name "${expectedName}"` },
    ]);
  }
  const { templateFile, body } = readTemplate(config.template);
  const t = checkTemplate(file, config, templateFile, body);
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
