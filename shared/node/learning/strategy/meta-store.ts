/**
 * The meta-policy's tables (migration 0017_strategy_meta): its settings, the aggregates opted-in tenants' rewarded
 * runs add to, and the opt-in itself (the tenant profile's `metaLearning`, changed through the audited tenant store).
 * The meta tables never receive a tenant id: a contribution adds to sums, and whether it is the tenant's first in its
 * pattern (the distinct-tenant count) is read from the tenant's own decisions (`strategy_decisions.meta_pattern`).
 */
import { sql } from 'kysely';
import { CONTEXT_VERSION, type Goal } from '../../../contract/learning/strategy/bandit';
import { budgetBand, metaSettingsSchema, type MetaPattern, type MetaPatternAggregate, type MetaSettings } from '../../../contract/learning/strategy/meta';
import type { Db } from '../../db';
import { updateTenant, type TenantRecord } from '../../tenancy/store';

/** `<goal type>/<budget band>`: how a decision names the pattern it contributed to. */
export function patternKey(pattern: MetaPattern): string {
  return `${pattern.goalType}/${pattern.budgetBand}`;
}

export function patternOf(goal: Pick<Goal, 'type' | 'maxCost'>): MetaPattern {
  return { goalType: goal.type, budgetBand: budgetBand(goal.maxCost) };
}

/** The advisory lock serialising a tenant's contributions and warm starts (always taken before its arm rows). */
export async function lockTenantStrategy(db: Db, tenantId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`strategy_tenant:${tenantId}`}))`.execute(db);
}

/** The installation's meta settings (the defaults when none were configured). */
export async function loadMetaSettings(db: Db): Promise<MetaSettings> {
  const row = await db.selectFrom('strategy_meta_settings').selectAll().executeTakeFirst();
  return metaSettingsSchema.parse(row ? { minTenants: row.min_tenants, minRuns: row.min_runs, maxPriorRuns: row.max_prior_runs } : {});
}

export async function saveMetaSettings(db: Db, settings: MetaSettings): Promise<void> {
  const values = { min_tenants: settings.minTenants, min_runs: settings.minRuns, max_prior_runs: settings.maxPriorRuns };
  await db.insertInto('strategy_meta_settings').values(values).onConflict((oc) => oc.column('singleton').doUpdateSet(values)).execute();
}

/** A pattern's aggregate (undefined: no contribution yet), whatever its size: callers decide with isServable. */
export async function loadMetaPattern(db: Db, pattern: MetaPattern): Promise<MetaPatternAggregate | undefined> {
  const key = { goal_type: pattern.goalType, budget_band: pattern.budgetBand, context_version: CONTEXT_VERSION };
  const row = await db.selectFrom('strategy_meta_patterns').selectAll().where((eb) => eb.and(key)).executeTakeFirst();
  if (!row) return undefined;
  const arms = await db.selectFrom('strategy_meta_arms').selectAll().where((eb) => eb.and(key)).orderBy('arm').execute();
  return {
    ...pattern,
    tenants: row.tenants,
    runs: row.runs,
    arms: arms.map((a) => ({ arm: a.arm, runs: a.runs, rewardSum: a.reward_sum, rewardSquareSum: a.reward_square_sum })),
  };
}

/** Every pattern's size (tenants, runs), for `ados learn meta show`. */
export async function listMetaPatterns(db: Db): Promise<{ goalType: string; budgetBand: string; tenants: number; runs: number }[]> {
  const rows = await db.selectFrom('strategy_meta_patterns').selectAll().where('context_version', '=', CONTEXT_VERSION).orderBy('goal_type').orderBy('budget_band').execute();
  return rows.map((r) => ({ goalType: r.goal_type, budgetBand: r.budget_band, tenants: r.tenants, runs: r.runs }));
}

/**
 * Adds a run's reward to the meta aggregates when its tenant is opted in now (an opted-out tenant's later runs add
 * nothing). Runs inside the reward's transaction (applyReward), after lockTenantStrategy, so it happens once per run
 * and a tenant's first contribution to a pattern is counted once. Returns whether it contributed.
 */
export async function contributeToMeta(trx: Db, contribution: { tenantId: string; workflowId: string; goal: Goal; arm: string; reward: number }): Promise<boolean> {
  const tenant = await trx.selectFrom('tenants').select('meta_learning').where('id', '=', contribution.tenantId).executeTakeFirst();
  if (!tenant?.meta_learning) return false;
  const pattern = patternOf(contribution.goal);
  const key = patternKey(pattern);
  const earlier = await trx
    .selectFrom('strategy_decisions')
    .select('workflow_id')
    .where('tenant_id', '=', contribution.tenantId)
    .where('meta_pattern', '=', key)
    .limit(1)
    .executeTakeFirst();
  await trx.updateTable('strategy_decisions').set({ meta_pattern: key }).where('workflow_id', '=', contribution.workflowId).execute();
  const where = { goal_type: pattern.goalType, budget_band: pattern.budgetBand, context_version: CONTEXT_VERSION };
  const newTenant = earlier ? 0 : 1;
  await trx
    .insertInto('strategy_meta_patterns')
    .values({ ...where, tenants: newTenant, runs: 1 })
    .onConflict((oc) =>
      oc.columns(['goal_type', 'budget_band', 'context_version']).doUpdateSet({
        tenants: sql`strategy_meta_patterns.tenants + ${newTenant}`,
        runs: sql`strategy_meta_patterns.runs + 1`,
      }),
    )
    .execute();
  const r = contribution.reward;
  await trx
    .insertInto('strategy_meta_arms')
    .values({ ...where, arm: contribution.arm, runs: 1, reward_sum: r, reward_square_sum: r * r })
    .onConflict((oc) =>
      oc.columns(['goal_type', 'budget_band', 'context_version', 'arm']).doUpdateSet({
        runs: sql`strategy_meta_arms.runs + 1`,
        reward_sum: sql`strategy_meta_arms.reward_sum + ${r}`,
        reward_square_sum: sql`strategy_meta_arms.reward_square_sum + ${r * r}`,
      }),
    )
    .execute();
  return true;
}

/**
 * Opts a tenant in or out of the meta-policy (its profile's `metaLearning`), audited in the tenant's trail as
 * `tenant.meta_opted_in` / `tenant.meta_opted_out`. Opting out stops its later runs from contributing; what it
 * contributed before stays in the sums (they cannot tell whose it was).
 */
export function setMetaOptIn(db: Db, tenantId: string, optedIn: boolean, by: string, reason?: string): Promise<TenantRecord> {
  return updateTenant(db, tenantId, { metaLearning: optedIn }, by, optedIn ? 'tenant.meta_opted_in' : 'tenant.meta_opted_out', reason ? { reason } : {});
}
