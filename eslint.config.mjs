// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/**
 * The one-way import graph (docs/architecture.md), as `no-restricted-imports` per folder:
 * workflows import lib and, as types only, activities; activities never import workflows,
 * clients or workers; lib imports only lib, and only lib/runtime may use Node; workflows and the
 * lib modules they import use zod, yaml, lib/config and the activity input schemas as types only;
 * workers never import clients; scripts never import tests; production code never imports
 * scripts, tests or benchmarks. test/unit/import-rules.test.ts holds one case per forbidden
 * direction.
 */

/** A relative import of one of the project's top-level folders (at any depth of `../`). */
const folder = (...names) => `^\\.{1,2}/(?:\\.\\./)*(?:${names.join('|')})(?:/|$)`;

/** Packages that need Node or the network: never in workflow code or lib outside lib/runtime. */
const nodeOnlyPackages = [
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/envconfig',
  '@temporalio/testing',
  '@temporalio/worker',
  '@1password/sdk',
  'dockerode',
  'pino',
];

const builtinPaths = (message) => nodeBuiltins.map((name) => ({ name, message }));
const packagePaths = (message) => nodeOnlyPackages.map((name) => ({ name, message, allowTypeImports: true }));

/**
 * Workflows, and the lib modules they import, stay free of zod, yaml and the config schemas: the
 * SDK evaluates every module of the workflow bundle again for each workflow run it keeps cached,
 * so a schema library there costs its heap once per cached workflow. Schemas live in the
 * validation modules below; the contracts the workflows import keep types and the workflow-facing
 * definitions, and take schema types with `import type`.
 */
const validationModules = [
  'lib/config/**/*.ts',
  'lib/contracts/inputs.ts',
  'lib/contracts/*-inputs.ts',
  // Builds the desired organization from config/org.yaml and budgets.yaml, for the CLI and sv0 up.
  'lib/org/desired.ts',
  // A budget's forecastAction from budgets.yaml, for `sv0 demo start` and the forecast activities.
  'lib/budget-forecast.ts',
];
const schemaFreeMessage = (what) =>
  `${what}: workflows and the lib modules they import stay free of zod, yaml and the config schemas (each cached workflow evaluates its own copy of every module); use \`import type\`, or move the code to lib/config or lib/contracts/<family>-inputs.ts.`;
const schemaFreePaths = ['zod', 'yaml'].map((name) => ({
  name,
  message: schemaFreeMessage(`No ${name} values`),
  allowTypeImports: true,
}));
const schemaFreePatterns = [
  {
    regex: '(?:^|/)config/[^/]+$',
    message: schemaFreeMessage('lib/config as types only'),
    allowTypeImports: true,
  },
  {
    regex: '(?:^|/)(?:[a-z]+-)?inputs$',
    message: schemaFreeMessage('The activity input schemas (lib/contracts/*inputs.ts) as types only'),
    allowTypeImports: true,
  },
];

const notProduction = {
  regex: folder('scripts', 'test', 'bench'),
  message: 'Production code never imports scripts, tests or benchmarks.',
};

const libPaths = [
  ...builtinPaths('lib/ is safe for workflows: Node code belongs in lib/runtime.'),
  ...packagePaths('lib/ is safe for workflows: Node and network code belongs in lib/runtime.'),
];
const libPatterns = [
  { regex: folder('activities', 'clients', 'workers', 'workflows'), message: 'lib/ imports only lib/.' },
  {
    regex: '(?:^|/)runtime(?:/|$)',
    message: 'lib/ outside lib/runtime imports lib/runtime as types only.',
    allowTypeImports: true,
  },
  notProduction,
];

/** One rule per folder: ESLint replaces (does not merge) a rule's options set twice for a file. */
const restrict = (files, { paths = [], patterns = [] }, ignores = []) => ({
  files,
  ignores,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
});

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.venv/', '.sv0/', 'bin/', 'eslint.config.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Lambda code shipped as a plain asset (a folder zipped as it is): JavaScript for the Lambda
  // Node.js runtime, outside the TypeScript project.
  {
    files: ['config/scenarios/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly' },
    },
  },
  // Workflow code runs in Temporal's deterministic sandbox.
  restrict(['workflows/**/*.ts'], {
    paths: [
      ...builtinPaths('Node built-ins are not allowed in workflow code.'),
      ...packagePaths('Workflow code runs in the sandbox: no package that needs Node or the network.'),
      ...schemaFreePaths,
    ],
    patterns: [
      {
        regex: folder('activities'),
        message: 'Workflows import activities as types only.',
        allowTypeImports: true,
      },
      { regex: 'lib/runtime(?:/|$)', message: 'Workflows never import lib/runtime (Node and network code).' },
      { regex: folder('clients', 'workers'), message: 'Workflows never import clients or workers.' },
      ...schemaFreePatterns,
      notProduction,
    ],
  }),
  restrict(['activities/**/*.ts'], {
    patterns: [
      {
        regex: folder('workflows', 'clients', 'workers'),
        message: 'Activities never import workflows, clients or workers.',
      },
      notProduction,
    ],
  }),
  // lib/ is safe for workflows: no Node, nothing outside lib/, lib/runtime for types only; and
  // outside the validation modules, no zod, yaml or config schema.
  restrict(
    ['lib/**/*.ts'],
    {
      paths: [...libPaths, ...schemaFreePaths],
      patterns: [...libPatterns, ...schemaFreePatterns],
    },
    ['lib/runtime/**', ...validationModules],
  ),
  restrict(validationModules, { paths: libPaths, patterns: libPatterns }),
  restrict(['lib/runtime/**/*.ts'], {
    patterns: [
      { regex: folder('activities', 'clients', 'workers', 'workflows'), message: 'lib/ imports only lib/.' },
      notProduction,
    ],
  }),
  restrict(['workers/**/*.ts'], {
    patterns: [{ regex: folder('clients'), message: 'Workers never import clients.' }, notProduction],
  }),
  restrict(['clients/**/*.ts'], { patterns: [notProduction] }),
  restrict(['scripts/**/*.ts'], {
    patterns: [{ regex: folder('test'), message: 'Scripts never import tests.' }],
  }),
);
