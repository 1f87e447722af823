// Flat config. The workflow rule is the important one: workflow code must stay deterministic,
// so it may import only type information from anything that touches the outside world.
import tseslint from 'typescript-eslint';

const outsideWorld = [
  'node:*', 'fs', 'fs/*', 'path', 'os', 'child_process', 'http', 'https', 'net', 'crypto', 'events', 'stream', 'util',
  '@kubernetes/client-node', 'execa', 'pino', 'prom-client', '@temporalio/activity', '@temporalio/worker', '@temporalio/client',
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'charts/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: outsideWorld, message: 'Workflow code must be deterministic: no Node, Kubernetes, Helm, logging or activity-side imports.', allowTypeImports: true },
          { group: ['**/activities', '**/activities/**'], message: 'Workflows import activities as types only (import type).', allowTypeImports: true },
        ],
      }],
    },
  },
);
