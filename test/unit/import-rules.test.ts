import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The import graph of docs/architecture.md is enforced by `npm run lint` (eslint.config.mjs): each
 * case below is a file placed in a folder, importing across one forbidden direction, and must be
 * rejected by the project's own ESLint config. Removing or loosening a rule fails its case.
 */

const ROOT = path.resolve(__dirname, '../..');
const RULE = '@typescript-eslint/no-restricted-imports';

let eslint: ESLint;
beforeAll(() => {
  // Type-aware parsing needs files on disk; these cases exist only in memory, and the import
  // rules need no types.
  eslint = new ESLint({
    cwd: ROOT,
    overrideConfig: [
      { languageOptions: { parserOptions: { projectService: false } } },
      {
        rules: {
          '@typescript-eslint/no-floating-promises': 'off',
          '@typescript-eslint/no-misused-promises': 'off',
        },
      },
    ],
  });
});

/** The messages of the import rule for `code` placed at `file` (relative to the repository). */
async function importProblems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  const parsing = result!.messages.filter((m) => m.ruleId === null);
  if (parsing.length > 0) throw new Error(`${file}: ${parsing.map((m) => m.message).join('; ')}`);
  return result!.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('lint rejects every forbidden import direction', () => {
  it.each([
    [
      'workflows import activities as values',
      'workflows/demo/lint-case.ts',
      "import { createDemoLifecycleActivities } from '../../activities/demo/lifecycle';\nexport const a = createDemoLifecycleActivities;\n",
      /Workflows import activities as types only/,
    ],
    [
      'workflows import a Node built-in',
      'workflows/lint-case.ts',
      "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n",
      /Node built-ins are not allowed in workflow code/,
    ],
    [
      'workflows import a package that needs Node',
      'workflows/org/lint-case.ts',
      "import { Client } from '@temporalio/client';\nexport const a = Client;\n",
      /no package that needs Node or the network/,
    ],
    [
      'workflows import lib/runtime',
      'workflows/budget/lint-case.ts',
      "import { awsConfigFromEnv } from '../../lib/runtime/aws';\nexport const a = awsConfigFromEnv;\n",
      /Workflows never import lib\/runtime/,
    ],
    [
      'workflows import clients',
      'workflows/demo/lint-case.ts',
      "import { listDemos } from '../../clients/demo/lifecycle';\nexport const a = listDemos;\n",
      /Workflows never import clients or workers/,
    ],
    [
      'workflows import workers',
      'workflows/lint-case.ts',
      "import { depsFromEnv } from '../workers/deps';\nexport const a = depsFromEnv;\n",
      /Workflows never import clients or workers/,
    ],
    [
      'activities import workflows',
      'activities/connectors/lint-case.ts',
      "import { connectorSyncWorkflow } from '../../workflows/connectors/sync';\nexport const a = connectorSyncWorkflow;\n",
      /Activities never import workflows, clients or workers/,
    ],
    [
      'activities import workflows, even as types',
      'activities/lint-case.ts',
      "import type { connectorSyncWorkflow } from '../workflows/connectors/sync';\nexport type A = typeof connectorSyncWorkflow;\n",
      /Activities never import workflows, clients or workers/,
    ],
    [
      'activities import clients',
      'activities/demo/lint-case.ts',
      "import { listDemos } from '../../clients/demo/lifecycle';\nexport const a = listDemos;\n",
      /Activities never import workflows, clients or workers/,
    ],
    [
      'activities import workers',
      'activities/lint-case.ts',
      "import { depsFromEnv } from '../workers/deps';\nexport const a = depsFromEnv;\n",
      /Activities never import workflows, clients or workers/,
    ],
    [
      'lib imports activities',
      'lib/lint-case.ts',
      "import { createNotifyActivities } from '../activities/notify';\nexport const a = createNotifyActivities;\n",
      /lib\/ imports only lib\//,
    ],
    [
      'lib imports clients',
      'lib/config/lint-case.ts',
      "import { say } from '../../clients/output';\nexport const a = say;\n",
      /lib\/ imports only lib\//,
    ],
    [
      'lib imports a Node built-in',
      'lib/org/lint-case.ts',
      "import path from 'node:path';\nexport const a = path;\n",
      /Node code belongs in lib\/runtime/,
    ],
    [
      'lib imports lib/runtime as a value',
      'lib/config/lint-case.ts',
      "import { loadOrgConfig } from '../runtime/config';\nexport const a = loadOrgConfig;\n",
      /imports lib\/runtime as types only/,
    ],
    [
      'lib/runtime imports workers',
      'lib/runtime/lint-case.ts',
      "import { depsFromEnv } from '../../workers/deps';\nexport const a = depsFromEnv;\n",
      /lib\/ imports only lib\//,
    ],
    [
      'workflows import zod',
      'workflows/demo/lint-case.ts',
      "import { z } from 'zod';\nexport const a = z;\n",
      /No zod values: workflows and the lib modules they import stay free of zod/,
    ],
    [
      'workflows import an activity input schema',
      'workflows/demo/lint-case.ts',
      "import { DemoStackInputSchema } from '../../lib/contracts/demo-inputs';\nexport const a = DemoStackInputSchema;\n",
      /activity input schemas \(lib\/contracts\/\*inputs\.ts\) as types only/,
    ],
    [
      'a contract imports a config schema as a value',
      'lib/contracts/lint-case.ts',
      "import { SecretRefSchema } from '../config/secret-refs';\nexport const a = SecretRefSchema;\n",
      /lib\/config as types only/,
    ],
    [
      'lib outside the validation modules imports yaml',
      'lib/org/lint-case.ts',
      "import { parseDocument } from 'yaml';\nexport const a = parseDocument;\n",
      /No yaml values/,
    ],
    [
      'workers import clients',
      'workers/lint-case.ts',
      "import { say } from '../clients/output';\nexport const a = say;\n",
      /Workers never import clients/,
    ],
    [
      'scripts import tests',
      'scripts/lint-case.ts',
      "import { stack } from '../test/harness/stack';\nexport const a = stack;\n",
      /Scripts never import tests/,
    ],
    [
      'production code imports scripts',
      'clients/lint-case.ts',
      "import { startMoto } from '../scripts/local-stack';\nexport const a = startMoto;\n",
      /never imports scripts, tests or benchmarks/,
    ],
  ])('%s', async (_name, file, code, expected) => {
    const problems = await importProblems(file, code);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });
});

describe('lint allows the directions the layers rely on', () => {
  it.each([
    [
      'workflows import activities as types, and lib',
      'workflows/demo/lint-case.ts',
      "import type { createDemoLifecycleActivities } from '../../activities/demo/lifecycle';\nimport { parseDuration } from '../../lib/duration';\nexport type A = typeof createDemoLifecycleActivities;\nexport const b = parseDuration;\n",
    ],
    [
      'workflows and contracts import config and input schema types',
      'lib/contracts/lint-case.ts',
      "import type { SinkConfig } from '../config/notifications';\nimport type { RunConnectorInput } from './connectors-inputs';\nimport { type ZodType } from 'zod';\nexport type A = [SinkConfig, RunConnectorInput, ZodType];\n",
    ],
    [
      'the validation modules import zod, yaml and config',
      'lib/contracts/lint-case-inputs.ts',
      "import { z } from 'zod';\nimport { parseDocument } from 'yaml';\nimport { SecretRefSchema } from '../config/secret-refs';\nimport { accountIdSchema } from './inputs';\nexport const a = [z, parseDocument, SecretRefSchema, accountIdSchema];\n",
    ],
    [
      'lib/runtime imports Node and lib',
      'lib/runtime/lint-case.ts',
      "import { readFileSync } from 'node:fs';\nimport { OrgSchema } from '../config/org';\nexport const a = [readFileSync, OrgSchema];\n",
    ],
    [
      'lib imports lib/runtime as types',
      'lib/lint-case.ts',
      "import type { AwsClientConfig } from './runtime/aws';\nexport type A = AwsClientConfig;\n",
    ],
    [
      'clients import workflows, activities and lib/runtime',
      'clients/demo/lint-case.ts',
      "import type { demoSweepWorkflow } from '../../workflows/demo/sweep';\nimport { createNotifyActivities } from '../../activities/notify';\nimport { connectClient } from '../../lib/runtime/temporal';\nexport type A = typeof demoSweepWorkflow;\nexport const b = [createNotifyActivities, connectClient];\n",
    ],
    [
      'workers import activities and lib/runtime',
      'workers/lint-case.ts',
      "import { createSmokeActivities } from '../activities/smoke';\nimport { connectClient } from '../lib/runtime/temporal';\nexport const a = [createSmokeActivities, connectClient];\n",
    ],
  ])('%s', async (_name, file, code) => {
    expect(await importProblems(file, code)).toEqual([]);
  });
});
