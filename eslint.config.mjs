// Workflows (and the contract they import) must stay deterministic: no Node builtins, no I/O
// libraries. Temporal's bundler would also refuse most of them, but later and less clearly.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const banned = [
  ...builtinModules.flatMap((m) => [m, `node:${m}`]),
  'pg',
  'kysely',
  'pino',
  '@electric-sql/pglite',
  '@electric-sql/pglite-socket',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.ados/**'] },
  {
    files: ['workflows/**/*.ts', 'shared/contract/**/*.ts'],
    extends: [tseslint.configs.base],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: banned.map((name) => ({
            name,
            message: 'workflows/ and shared/contract/ are deterministic and bundle-safe: do I/O in an activity (activities/) and import it as a type only.',
            allowTypeImports: true,
          })),
          patterns: [
            { group: ['**/shared/node/**', '**/shared/node'], message: 'shared/node is Node-only; workflows may import its types only.', allowTypeImports: true },
            { group: ['**/activities/**', '**/activities'], message: 'workflows call activities through proxyActivities; import their types only.', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
