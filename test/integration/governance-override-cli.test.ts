/**
 * `ados governance override show|set|clear` through the real CLI process on PGlite served over the wire: values laid
 * over the tenant's overrides, the rules in force with them (what the remediation gates read), `clear`, and a bad
 * flag refused with the flag named, exit 2, nothing stored. `--replace` and every refusal: the unit test
 * test/unit/governance-override-flags.test.ts.
 */
import type { DatabaseHandle } from '../../shared/node/db';
import { governanceOverrides } from '../../shared/node/governance/store';
import { startMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database';

let server: MigratedDatabase;
let database: DatabaseHandle;
const ados = (args: string[]) => server.ados(args);

beforeAll(async () => {
  server = await startMigratedDatabase();
  database = server.database;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

test('set lays values over the overrides, show reads them with the rules in force, clear drops them', async () => {
  const first = await ados(['governance', 'override', 'set', '--cooldown', 'restart=30', '--cooldown', 'scale=0', '--allow', 'stage=restart,noop', '--json']);
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ tenantId: 'acme', overrides: { cooldownSeconds: { restart: 30, scale: 0 }, allowlists: { stage: ['restart', 'noop'] } } });

  const second = await ados(['governance', 'override', 'set', '--cooldown', 'rollback=600', '--confidence', '0.7', '--repetition-max', '5']);
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('confidence below 0.7 → noop');
  expect(await governanceOverrides(database.db, 'acme')).toEqual({
    cooldownSeconds: { restart: 30, scale: 0, rollback: 600 },
    allowlists: { stage: ['restart', 'noop'] },
    confidenceThreshold: 0.7,
    repetition: { max: 5 },
  });

  const shown = JSON.parse((await ados(['governance', 'override', 'show', '--json'])).stdout);
  expect(shown.policy).toMatchObject({ cooldownSeconds: { restart: 30, scale: 0, rollback: 600 }, repetition: { max: 5, windowSeconds: 300 }, confidenceThreshold: 0.7 });

  expect((await ados(['governance', 'override', 'clear'])).code).toBe(0);
  expect(await governanceOverrides(database.db, 'acme')).toEqual({});
}, 180_000);

test('a bad flag is refused with the flag named, exit 2, and nothing is stored', async () => {
  const run = await ados(['governance', 'override', 'set', '--tenant', 'beta', '--cooldown', 'scale=45', '--cooldown', 'restart=999999']);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('--cooldown restart: at most a day (86400)');
  expect(await governanceOverrides(database.db, 'beta')).toEqual({});
}, 60_000);
