/**
 * The strategy meta-policy on PostgreSQL (PGlite over the wire) with the real `ados` CLI process: the meta tables
 * hold no tenant id (read from information_schema), opted-in tenants' rewarded runs add to the aggregates once, a
 * pattern is not served before k tenants and n runs are behind it, a tenant new to a served pattern is warm-started
 * from it, and `ados tenant opt-out` (audited) stops the tenant's later contributions.
 */
import { sql } from 'kysely';
import { isServable, metaSettingsSchema } from '../../shared/contract/learning/strategy/meta';
import { loadMetaPattern, loadMetaSettings, saveMetaSettings, setMetaOptIn } from '../../shared/node/learning/strategy/meta-store';
import { rewardRun, selectStrategy } from '../../shared/node/learning/strategy/service';
import { findDecision, listWarmStarts, loadArmStates, saveSettings } from '../../shared/node/learning/strategy/store';
import { createTenant } from '../../shared/node/tenancy/store';
import type { Db } from '../../shared/node/db';
import { startMigratedDatabase, type MigratedDatabase } from '../helpers/migrated-database';

let database: MigratedDatabase;
let db: Db;
const ARMS = ['as-planned', 'serial'];
const GOAL = { type: 'migrate', complexity: 'medium', risk: 'low', maxCost: 20 } as const;
const PLAN = { tasks: 3, environments: 1, includesProd: false, alternatesShare: 0 };

beforeAll(async () => {
  database = await startMigratedDatabase();
  db = database.database.db;
}, 60_000);

afterAll(async () => {
  await database?.stop();
});

/** One finished run of the tenant: the bandit chooses, the run earns `serial` 0.9, anything else 0.3. */
async function run(tenantId: string, index: number): Promise<string> {
  const workflowId = `meta-${tenantId}-${index}`;
  const decision = await selectStrategy(db, { tenantId, workflowId, goal: GOAL, plannedParallelism: 4, at: '2030-01-01T10:00:00Z', plan: PLAN });
  await rewardRun(db, { tenantId, workflowId, succeeded: true, durationSeconds: decision.arm === 'serial' ? 30 : 3000, escalations: 0 });
  return workflowId;
}

const pattern = { goalType: 'migrate', budgetBand: 'tight' } as const;

test('no meta table has a tenant (or run, or time) column', async () => {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select table_name, column_name from information_schema.columns
    where table_schema = current_schema() and table_name like 'strategy_meta_%' order by table_name, ordinal_position`.execute(db);
  const tables = [...new Set(columns.rows.map((c) => c.table_name))];
  expect(tables).toEqual(['strategy_meta_arms', 'strategy_meta_patterns', 'strategy_meta_settings']);
  const linking = columns.rows.filter((c) => /tenant_id|workflow|run_id|_at$|time|hash|member/i.test(c.column_name));
  expect(linking).toEqual([]);
});

test('opted-in tenants contribute once per run; served only from 3 tenants and 30 runs; a new tenant is warm-started; opt-out stops contributing', async () => {
  const tenants = ['meta_a', 'meta_b', 'meta_c'];
  for (const t of [...tenants, 'meta_new', 'meta_early']) {
    await createTenant(db, t, {}, 'test');
    await saveSettings(db, t, { arms: ARMS, alpha: 1, epsilon: 0.5 });
  }
  // The CLI for one tenant (a process start is slow on a loaded machine), the same store call for the others.
  const opted = await database.ados(['tenant', 'opt-in', 'meta_a', '--reason', 'share strategies']);
  expect(opted.stderr).toBe('');
  expect(opted.stdout).toContain('tenant meta_a: opted in');
  for (const t of tenants.slice(1)) await setMetaOptIn(db, t, true, 'test');

  // Two tenants, 20 runs: not served, so a tenant new to the pattern gets no warm start; not opted in, it adds nothing.
  for (let i = 0; i < 10; i++) for (const t of tenants.slice(0, 2)) await run(t, i);
  expect(await loadMetaPattern(db, pattern)).toMatchObject({ tenants: 2, runs: 20 });
  await run('meta_early', 0);
  expect(await listWarmStarts(db, 'meta_early')).toEqual([]);
  expect(await loadMetaPattern(db, pattern)).toMatchObject({ tenants: 2, runs: 20 });

  // A third tenant: 3 tenants, 30 runs; each counted once (a retried reward adds nothing).
  for (let i = 0; i < 10; i++) await run('meta_c', i);
  expect((await rewardRun(db, { tenantId: 'meta_c', workflowId: 'meta-meta_c-0', succeeded: true, durationSeconds: 1, escalations: 0 })).applied).toBe(false);
  const served = await loadMetaPattern(db, pattern);
  expect(served).toMatchObject({ tenants: 3, runs: 30 });
  expect(served!.arms.reduce((s, a) => s + a.runs, 0)).toBe(30);
  expect(isServable(served!, await loadMetaSettings(db))).toBe(true);

  // The new tenant's first selection in the pattern is warm-started: priors on its arms, no pulls of its own.
  const decision = await selectStrategy(db, { tenantId: 'meta_new', workflowId: 'meta-new-first', goal: GOAL, plannedParallelism: 4, at: '2030-01-01T10:00:00Z', plan: PLAN });
  const [warm] = await listWarmStarts(db, 'meta_new');
  expect(warm).toMatchObject({ goalType: 'migrate', budgetBand: 'tight', tenants: 3, runs: 30 });
  const serialPrior = warm.arms.find((a) => a.arm === 'serial')!;
  expect(serialPrior.meanReward).toBeGreaterThan(warm.arms.find((a) => a.arm === 'as-planned')!.meanReward);
  expect(serialPrior.weight).toBe(Math.min(10, serialPrior.runs));
  const { states } = await loadArmStates(db, 'meta_new', ARMS);
  expect(states.map((s) => s.pulls)).toEqual([0, 0]);
  expect(states.every((s) => s.b.some((v) => v !== 0))).toBe(true);
  expect(decision.scores.find((s) => s.arm === 'serial')!.estimate).toBeGreaterThan(decision.scores.find((s) => s.arm === 'as-planned')!.estimate);
  // Once per pattern.
  await selectStrategy(db, { tenantId: 'meta_new', workflowId: 'meta-new-second', goal: GOAL, plannedParallelism: 4, at: '2030-01-01T10:00:00Z', plan: PLAN });
  expect(await listWarmStarts(db, 'meta_new')).toHaveLength(1);

  // Opt-out (audited): the tenant's later runs add nothing; what it added stays.
  const out = await database.ados(['tenant', 'opt-out', 'meta_a', '--reason', 'legal review']);
  expect(out.stdout).toContain('tenant meta_a: opted out');
  const audit = await db.selectFrom('audit_log').select(['event', 'detail']).where('workflow_id', '=', 'tenant-meta_a').where('event', 'like', 'tenant.meta_%').orderBy('event_key').execute();
  expect(audit.map((a) => a.event)).toEqual(['tenant.meta_opted_in', 'tenant.meta_opted_out']);
  expect(audit[1].detail).toMatchObject({ reason: 'legal review', changes: expect.anything() });
  const later = await run('meta_a', 100);
  expect((await findDecision(db, later))!.reward).toBeDefined();
  expect(await loadMetaPattern(db, pattern)).toMatchObject({ tenants: 3, runs: 30 });
  const marked = await db.selectFrom('strategy_decisions').select('meta_pattern').where('workflow_id', '=', later).executeTakeFirstOrThrow();
  expect(marked.meta_pattern).toBeNull();

  // A higher threshold (the CLI refuses one under 2, naming the flag) stops serving the same aggregate.
  await saveMetaSettings(db, metaSettingsSchema.parse({ minTenants: 4 }));
  expect(isServable(served!, await loadMetaSettings(db))).toBe(false);
  const shown = await database.ados(['learn', 'meta', 'show', '--json']);
  expect(JSON.parse(shown.stdout)).toEqual({ settings: { minTenants: 4, minRuns: 30, maxPriorRuns: 10 }, patterns: [{ goalType: 'migrate', budgetBand: 'tight', tenants: 3, runs: 30, served: false }] });
  const refused = await database.ados(['learn', 'meta', 'configure', '--min-tenants', '1']);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('--min-tenants');
}, 120_000);
