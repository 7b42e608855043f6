// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/**
 * The one-way import graph (docs/architecture.md), as `no-restricted-imports` per folder:
 * workflows import lib and, as types only, activities; activities never import workflows,
 * clients or workers; lib imports only lib, and only lib/runtime may use Node; workers never
 * import clients; scripts never import tests; production code never imports scripts, tests or
 * benchmarks. test/unit/import-rules.test.ts holds one case per forbidden direction.
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

const notProduction = {
  regex: folder('scripts', 'test', 'bench'),
  message: 'Production code never imports scripts, tests or benchmarks.',
};

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
    ],
    patterns: [
      {
        regex: folder('activities'),
        message: 'Workflows import activities as types only.',
        allowTypeImports: true,
      },
      { regex: 'lib/runtime(?:/|$)', message: 'Workflows never import lib/runtime (Node and network code).' },
      { regex: folder('clients', 'workers'), message: 'Workflows never import clients or workers.' },
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
  // lib/ is safe for workflows: no Node, nothing outside lib/, lib/runtime for types only.
  restrict(
    ['lib/**/*.ts'],
    {
      paths: [
        ...builtinPaths('lib/ is safe for workflows: Node code belongs in lib/runtime.'),
        ...packagePaths('lib/ is safe for workflows: Node and network code belongs in lib/runtime.'),
      ],
      patterns: [
        {
          regex: folder('activities', 'clients', 'workers', 'workflows'),
          message: 'lib/ imports only lib/.',
        },
        {
          regex: '(?:^|/)runtime(?:/|$)',
          message: 'lib/ outside lib/runtime imports lib/runtime as types only.',
          allowTypeImports: true,
        },
        notProduction,
      ],
    },
    ['lib/runtime/**'],
  ),
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
