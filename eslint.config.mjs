// Two checks over the whole tree (`npm run lint` = `eslint .`):
// - ados/layers (lint/layers.mjs): the import arrows between layers and kinds of ../shared/DESIGN.md.
// - Workflows (and the contract they import) stay deterministic: no Node builtins, no I/O libraries. Temporal's
//   bundler would also refuse most of them, but later and less clearly.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import layers from './lint/layers.mjs';

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
  { ignores: ['node_modules/**', 'dist/**', '.ados/**', 'bench/results/**', 'test/histories/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    plugins: { ados: layers },
    rules: { 'ados/layers': 'error' },
  },
  {
    files: ['workflows/**/*.ts', 'shared/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: banned.map((name) => ({
            name,
            message: 'workflows/ and shared/contract/ are deterministic and bundle-safe: do I/O in an activity (activities/) and import it as a type only.',
            allowTypeImports: true,
          })),
        },
      ],
    },
  },
);
