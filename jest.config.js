/**
 * Files that spend minutes waiting on the wall clock (real-time crash and failover runs): `npm test`
 * (deploy/run-tests.mjs) runs them in a second in-band jest beside the rest, which leaves them out.
 */
const WALL_CLOCK_SUITES = require('./test/wall-clock-suites.json');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // examples/plugin is a package of its own with its own tests, importing `ados/capability` as a plugin does.
  roots: ['<rootDir>/test', '<rootDir>/examples/plugin'],
  moduleNameMapper: { '^ados/capability$': '<rootDir>/activities/capabilities/define.ts' },
  testMatch: ['**/*.test.ts'],
  // test/cluster brings up a multi-service Temporal cluster (deploy/cluster.ts): only with ADOS_TEST_CLUSTER=1 (.ci/run).
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(process.env.ADOS_TEST_CLUSTER === '1' ? [] : ['<rootDir>/test/cluster/']),
    ...(process.env.ADOS_JEST_PART === 'rest' ? WALL_CLOCK_SUITES.map((file) => `<rootDir>/${file}`) : []),
  ],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  testTimeout: 120_000,
  // Temporal's native runtime keeps handles open between files; one worker process keeps memory flat.
  maxWorkers: 1,
};
