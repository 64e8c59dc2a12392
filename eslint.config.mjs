// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox: a Node built-in, a clock or a random
// number there breaks replay, so these are lint errors rather than something to remember.
const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];
const deterministicPaths = [
  'src/workflows/**/*.ts',
  'src/runbook-lang/**/*.ts',
  'src/steps/**/*.ts',
  // Code runbooks and their API run in the workflow sandbox too.
  'src/runbook-api/**/*.ts',
  'runbooks/**/*.ts',
  'test/fixtures/code-runbooks/**/*.ts',
  'test/fixtures/changed-code-runbook/**/*.ts',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.rebound/**', 'test/.tmp/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
    },
  },
  {
    // The console's one script runs in the browser.
    files: ['src/console/static/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: deterministicPaths,
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
          patterns: [
            {
              group: ['**/activities', '**/activities/*', '!**/activities/types'],
              allowTypeImports: true,
              message: 'Workflows import activities as types only (import type ...).',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message:
            'Use workflow time (Date in the sandbox is replay-safe) via Temporal APIs, not Date.now().',
        },
        {
          object: 'Math',
          property: 'random',
          message: 'Use uuid4() / Temporal random from @temporalio/workflow.',
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop from @temporalio/workflow.' },
        { name: 'setImmediate', message: 'Not deterministic.' },
        { name: 'process', message: 'No process access in workflow code.' },
        { name: 'require', message: 'No dynamic requires in workflow code.' },
        { name: 'fetch', message: 'No I/O in workflow code: call an activity.' },
        { name: 'crypto', message: 'Not deterministic: use uuid4() from @temporalio/workflow.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'new Date() reads the clock: pass time in or use workflow time explicitly.',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
