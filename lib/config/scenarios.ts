import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../duration';
import { ConfigError, durationSchema as duration, isConfigDuration } from './validate';

/**
 * config/scenarios/*.yaml: the demo scenarios. Each names either a CDK v2 TypeScript app (`app:`,
 * synthesized without `cdk bootstrap`; its file assets go to a bucket the demo owns) or a
 * self-contained CloudFormation template (`template:`), the values of its parameters, a default
 * TTL and a maximum lifetime.
 */

export const SCENARIOS_DIR = 'scenarios';

/** The template parameter of a CDK app's stack that receives the demo's asset bucket (the worker fills it in). */
export const ASSET_BUCKET_PARAMETER = 'Sv0AssetBucket';

export const ScenarioSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a scenario name is lower case letters, digits and dashes'),
    description: z.string().min(1),
    /** CloudFormation template path, relative to the scenario file (or `app`). */
    template: z.string().min(1).optional(),
    /**
     * CDK v2 TypeScript app, relative to the scenario file (or `template`): a module whose default
     * export receives the App and defines exactly one stack.
     */
    app: z.string().regex(/\.ts$/, 'an app is a TypeScript file (.ts)').optional(),
    parameters: z.record(z.string(), z.string()).default({}),
    defaultTtl: duration,
    /** The longest a demo of this scenario may live, counted from its start; bounds `extend`. */
    maxTtl: duration,
  })
  .refine((s) => (s.template === undefined) !== (s.app === undefined), {
    path: ['template'],
    message: 'name either a template or an app, not both or neither',
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

/** A template read and checked: from the scenario's file, or synthesized from its app. */
export interface ScenarioTemplate {
  /** The template's file, or the app's. */
  templateFile: string;
  templateBody: string;
  /** Logical id -> resource type, as the template declares them. */
  resourceTypes: Record<string, string>;
}

/**
 * A scenario read and checked. A template scenario carries its template; an app scenario carries
 * the app's path, and its template exists only once the app is synthesized.
 */
export type Scenario = ScenarioConfig & {
  file: string;
  defaultTtlMs: number;
  maxTtlMs: number;
} & (({ kind: 'template'; appFile?: undefined } & ScenarioTemplate) | { kind: 'app'; appFile: string });

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
export function checkTemplate(
  scenarioFile: string,
  scenario: ScenarioConfig,
  templateFile: string,
  body: string,
  /** The scenario field that names the template's source: `template`, or `app` when synthesized. */
  field: 'template' | 'app' = 'template',
): ScenarioTemplate {
  const problems: { path: string; reason: string }[] = [];
  if (new TextEncoder().encode(body).byteLength > TEMPLATE_BODY_LIMIT) {
    problems.push({
      path: field,
      reason: `${templateFile} is over CloudFormation's ${TEMPLATE_BODY_LIMIT}-byte inline limit`,
    });
  }
  const doc = parseDocument(body, { uniqueKeys: true });
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    const first = [...doc.errors, ...doc.warnings][0]!.message.split('\n')[0];
    throw new ConfigError(scenarioFile, [
      {
        path: field,
        reason: `${templateFile}: ${first} (write intrinsics in long form: Ref:, Fn::Sub:)`,
      },
    ]);
  }
  const parsed = TemplateSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ConfigError(scenarioFile, [
      {
        path: field,
        reason: `${templateFile} is not a CloudFormation template: ${parsed.error.issues[0]?.message}`,
      },
    ]);
  }
  const declared = { ...parsed.data.Parameters };
  delete declared[ASSET_BUCKET_PARAMETER];
  for (const key of Object.keys(scenario.parameters)) {
    if (key === ASSET_BUCKET_PARAMETER)
      problems.push({
        path: `parameters.${key}`,
        reason: 'the worker sets this parameter to the demo asset bucket',
      });
    else if (!(key in declared))
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
  return { templateFile, templateBody: body, resourceTypes };
}

/**
 * The IAM role names a template fixes (a literal `RoleName`): a second stack of the template in
 * the same account would collide on them, so a scenario with any runs once per account.
 */
export function fixedRoleNames(templateBody: string): string[] {
  const doc = parseDocument(templateBody).toJS() as {
    Resources?: Record<string, { Type?: string; Properties?: { RoleName?: unknown } }>;
  };
  return Object.values(doc.Resources ?? {})
    .filter((r) => r.Type === 'AWS::IAM::Role' && typeof r.Properties?.RoleName === 'string')
    .map((r) => r.Properties!.RoleName as string);
}

/**
 * Check one scenario file's validated config and its template, and build the scenario. `file` is
 * the scenario file's path; `readTemplate` reads the template the config names (relative to that
 * file) or throws a {@link ConfigError}; `appPath` resolves the app's path (an app is checked when
 * it is synthesized).
 */
export function resolveScenario(
  file: string,
  config: ScenarioConfig,
  readTemplate: (template: string) => { templateFile: string; body: string },
  appPath: (app: string) => string,
): Scenario {
  const expectedName = file.slice(file.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');
  if (config.name !== expectedName) {
    throw new ConfigError(file, [
      { path: 'name', reason: `"${config.name}" must match the file name "${expectedName}"` },
    ]);
  }
  const common = {
    ...config,
    file,
    defaultTtlMs: parseDuration(config.defaultTtl),
    maxTtlMs: parseDuration(config.maxTtl),
  };
  if (config.app !== undefined) return { ...common, kind: 'app', appFile: appPath(config.app) };
  const { templateFile, body } = readTemplate(config.template!);
  return { ...common, kind: 'template', ...checkTemplate(file, config, templateFile, body) };
}
