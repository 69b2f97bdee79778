/**
 * `ados approver grant` made at the same time, on PGlite served over the wire (each call on a connection of its own):
 * every grant holds (none lost, none refused as "changed meanwhile"), each is audited once with its own version, and
 * a concurrent prod policy change keeps what the other set.
 */
import { setProdPolicy, setRoleMember } from '../../client/approvers';
import type { DatabaseHandle } from '../../shared/node/db';
import { createTenant, getTenant, tenantEvents } from '../../shared/node/tenancy/store';
import { startMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database';

const APPROVERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

let server: MigratedDatabase;
let database: DatabaseHandle;

beforeAll(async () => {
  // A connection for each call made at once.
  server = await startMigratedDatabase(APPROVERS.length + 2);
  database = server.database;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

test('grants made at once all hold, each audited with its own version', async () => {
  await createTenant(database.db, 'race', {}, 'admin');
  await Promise.all([
    ...APPROVERS.map((approver) => setRoleMember(database, 'race', 'release', approver, true)),
    setRoleMember(database, 'race', 'sre', 'ivan', true),
    setRoleMember(database, 'race', 'sre', 'judy', true),
  ]);
  const tenant = await getTenant(database.db, 'race');
  expect([...(tenant?.profile.approvals.roles.release ?? [])].sort()).toEqual([...APPROVERS].sort());
  expect([...(tenant?.profile.approvals.roles.sre ?? [])].sort()).toEqual(['ivan', 'judy']);
  expect(tenant?.version).toBe(1 + APPROVERS.length + 2);
  const keys = (await tenantEvents(database.db, 'race', { events: ['tenant.updated'], limit: 100 })).map((e) => e.key);
  expect(new Set(keys).size).toBe(APPROVERS.length + 2);
});

test('an ungrant and prod policy changes made at once with grants: each applies over the others', async () => {
  await createTenant(database.db, 'race2', { approvals: { roles: { release: ['alice'] }, prod: { approvers: ['carol', 'dave'] } } }, 'admin');
  await Promise.all([
    setRoleMember(database, 'race2', 'release', 'alice', false),
    setRoleMember(database, 'race2', 'release', 'bob', true),
    setProdPolicy(database, 'race2', { quorum: 2 }),
    setProdPolicy(database, 'race2', { requireAuthors: true }),
  ]);
  const tenant = await getTenant(database.db, 'race2');
  expect(tenant?.profile.approvals.roles.release).toEqual(['bob']);
  expect(tenant?.profile.approvals.prod).toMatchObject({ approvers: ['carol', 'dave'], quorum: 2, requireAuthors: true });
});
