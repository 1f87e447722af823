// Flat config. The workflow rule is the important one: workflow code must stay deterministic,
// so it may import only type information from anything that touches the outside world.
import tseslint from 'typescript-eslint';

const outsideWorld = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'http',
  'https',
  'net',
  'crypto',
  'events',
  'stream',
  'util',
  '@kubernetes/client-node',
  'execa',
  'pino',
  'prom-client',
  '@temporalio/activity',
  '@temporalio/worker',
  '@temporalio/client',
];

const roles = ['workflows', 'activities', 'client', 'worker', 'scripts', 'test', 'bench'];
/** Which of our top-level folders each role may import from, besides itself and contract/. */
const allowedRoles = { activities: [], client: [], worker: ['activities'], contract: [] };

function roleImportRules() {
  return Object.entries(allowedRoles).map(([role, allowed]) => {
    const forbidden = roles.filter((r) => r !== role && !allowed.includes(r));
    return {
      files: [`${role}/**/*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                // Our folders only: `**/client` would also match the package @temporalio/client.
                group: [...forbidden.flatMap((r) => [`**/${r}`, `**/${r}/**`]), '!@temporalio/**'],
                message: `${role}/ may import only from ${['contract', ...allowed].join(', ')}/ (the roles meet in contract/).`,
              },
            ],
          },
        ],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'charts/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The roles meet only in contract/ (input schemas, report types, failure types, messages):
  // activities and the client never import workflow code or each other; the worker is the
  // composition root that wires activities in; contract/ imports nothing of ours.
  ...roleImportRules(),
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: outsideWorld,
              message:
                'Workflow code must be deterministic: no Node, Kubernetes, Helm, logging or activity-side imports.',
              allowTypeImports: true,
            },
            {
              group: ['**/activities', '**/activities/**'],
              message: 'Workflows import activities as types only (import type).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
