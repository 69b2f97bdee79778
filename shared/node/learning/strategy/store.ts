/**
 * The strategy bandit's tables (migration 0013_strategy_learning): settings, per-arm LinUCB statistics, decisions
 * with their rewards, and shadow models. Every write that must happen once is guarded in SQL.
 */
import { sql, type Selectable } from 'kysely';
import { CONTEXT_DIMENSION, CONTEXT_VERSION, type ArmScore, type Goal, type Reward, type RunMeasurement } from '../../../contract/learning/strategy/bandit';
import { strategySettingsSchema, type AppliedStrategy, type StrategySettings } from '../../../contract/learning/strategy/strategy';
import type { Db } from '../../db';
import type { StrategyArmStateTable, StrategyDecisionsTable } from '../../db/schema';
import { budgetBandRange, warmStartOf, type WarmStart } from '../../../contract/learning/strategy/meta';
import { addPrior, initialArm, updateArm, type ArmState } from './linucb';
import { contributeToMeta, loadMetaPattern, loadMetaSettings, lockTenantStrategy, patternOf } from './meta-store';

/** A tenant's settings (the defaults when it has none). */
export async function loadSettings(db: Db, tenantId: string): Promise<StrategySettings> {
  const row = await db.selectFrom('strategy_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return strategySettingsSchema.parse(row ? { arms: row.arms, alpha: row.alpha, epsilon: row.epsilon } : {});
}

/** Replaces a tenant's settings. */
export async function saveSettings(db: Db, tenantId: string, settings: StrategySettings): Promise<void> {
  const values = { arms: JSON.stringify(settings.arms), alpha: settings.alpha, epsilon: settings.epsilon };
  await db
    .insertInto('strategy_settings')
    .values({ tenant_id: tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

function armOfRow(row: Selectable<StrategyArmStateTable>): ArmState {
  return { arm: row.arm, a: row.a as number[][], aInverse: row.a_inverse as number[][], b: row.b as number[], pulls: row.pulls, rewardSum: row.reward_sum };
}

/** The tenant's statistics of these arms (fresh ones for arms never rewarded), in the order given. */
export async function loadArmStates(db: Db, tenantId: string, arms: readonly string[]): Promise<{ states: ArmState[]; version: number }> {
  const rows = arms.length === 0 ? [] : await db
    .selectFrom('strategy_arm_state')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('context_version', '=', CONTEXT_VERSION)
    .where('arm', 'in', [...arms])
    .execute();
  const byArm = new Map(rows.map((row) => [row.arm, row]));
  const states = arms.map((arm) => {
    const row = byArm.get(arm);
    return row ? armOfRow(row) : initialArm(arm, CONTEXT_DIMENSION);
  });
  return { states, version: rows.reduce((sum, row) => sum + row.version, 0) };
}

/** Laplace-smoothed share of the tenant's last 100 finished delivery runs that succeeded ((s + 1) / (n + 2)). */
export async function tenantSuccessRate(db: Db, tenantId: string): Promise<number> {
  const recent = db
    .selectFrom('runs')
    .select('status')
    .where('tenant_id', '=', tenantId)
    .where('kind', '=', 'delivery')
    .where('status', '!=', 'running')
    .orderBy('updated_at', 'desc')
    .limit(100)
    .as('recent');
  const row = await db
    .selectFrom(recent)
    .select([sql<number>`count(*)::int`.as('n'), sql<number>`count(*) filter (where status = 'succeeded')::int`.as('s')])
    .executeTakeFirstOrThrow();
  return (row.s + 1) / (row.n + 2);
}

/** Sum of the cost the run's tasks reported. */
export async function reportedCost(db: Db, workflowId: string): Promise<number> {
  const row = await db.selectFrom('task_costs').select(sql<number>`coalesce(sum(amount), 0)::float8`.as('total')).where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
  return Number(row.total);
}

/** A decision as stored. */
export interface StoredDecision {
  workflowId: string;
  tenantId: string;
  arm: string;
  /** `linucb`, or `cql-v<version>` while a promoted model chooses. */
  policy: string;
  arms: string[];
  strategy: AppliedStrategy;
  context: number[];
  state: number[];
  goal: Goal;
  scores: ArmScore[];
  propensity: number;
  stateVersion: number;
  shadow?: { arm: string; q: Record<string, number>; modelVersion: number };
  reward?: number;
  rewardDetail?: Reward & { measurement: RunMeasurement };
  createdAt: Date;
}

function toDecision(row: Selectable<StrategyDecisionsTable>): StoredDecision {
  return {
    workflowId: row.workflow_id,
    tenantId: row.tenant_id,
    arm: row.arm,
    policy: row.policy,
    arms: row.arms as string[],
    strategy: row.strategy as AppliedStrategy,
    context: row.context as number[],
    state: row.state as number[],
    goal: row.goal as Goal,
    scores: row.scores as ArmScore[],
    propensity: row.propensity,
    stateVersion: row.state_version,
    ...(row.shadow ? { shadow: row.shadow as StoredDecision['shadow'] } : {}),
    ...(row.reward !== null ? { reward: row.reward, rewardDetail: row.reward_detail as StoredDecision['rewardDetail'] } : {}),
    createdAt: row.created_at,
  };
}

/**
 * Records a run's decision once; a retried selection gets the decision stored first (so the run's history and the
 * table agree whichever attempt's result the workflow saw).
 */
export async function recordDecision(db: Db, decision: Omit<StoredDecision, 'createdAt' | 'reward' | 'rewardDetail'>): Promise<StoredDecision> {
  await db
    .insertInto('strategy_decisions')
    .values({
      workflow_id: decision.workflowId,
      tenant_id: decision.tenantId,
      arm: decision.arm,
      policy: decision.policy,
      arms: JSON.stringify(decision.arms),
      strategy: JSON.stringify(decision.strategy),
      context_version: CONTEXT_VERSION,
      context: JSON.stringify(decision.context),
      state: JSON.stringify(decision.state),
      goal: JSON.stringify(decision.goal),
      scores: JSON.stringify(decision.scores),
      propensity: decision.propensity,
      state_version: decision.stateVersion,
      shadow: decision.shadow ? JSON.stringify(decision.shadow) : null,
    })
    .onConflict((oc) => oc.column('workflow_id').doNothing())
    .execute();
  const row = await db.selectFrom('strategy_decisions').selectAll().where('workflow_id', '=', decision.workflowId).executeTakeFirstOrThrow();
  return toDecision(row);
}

/** The decision of a run, if it made one. */
export async function findDecision(db: Db, workflowId: string): Promise<StoredDecision | undefined> {
  const row = await db.selectFrom('strategy_decisions').selectAll().where('workflow_id', '=', workflowId).executeTakeFirst();
  return row ? toDecision(row) : undefined;
}

/** A tenant's decisions, oldest first; `rewarded`: only those whose reward is applied. */
export async function listDecisions(db: Db, tenantId: string, options: { rewarded?: boolean } = {}): Promise<StoredDecision[]> {
  let query = db.selectFrom('strategy_decisions').selectAll().where('tenant_id', '=', tenantId);
  if (options.rewarded) query = query.where('reward', 'is not', null);
  const rows = await query.orderBy('created_at').orderBy('workflow_id').execute();
  return rows.map(toDecision);
}

/**
 * Applies a run's reward exactly once: in one transaction the decision's reward is set where it is still null and,
 * only if that row changed, the arm's statistics are locked, updated (A += xxᵀ, b += r·x) and their version bumped,
 * and (the tenant opted in) the reward is added to the meta-policy's aggregates. Returns false when the reward was
 * already applied (a retried activity).
 */
export async function applyReward(db: Db, workflowId: string, detail: Reward & { measurement: RunMeasurement }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('strategy_decisions')
      .set({ reward: detail.reward, reward_detail: JSON.stringify(detail), rewarded_at: new Date() })
      .where('workflow_id', '=', workflowId)
      .where('reward', 'is', null)
      .returning(['tenant_id', 'arm', 'context', 'context_version', 'goal'])
      .executeTakeFirst();
    if (!claimed) return false;
    await lockTenantStrategy(trx, claimed.tenant_id);
    const key = { tenant_id: claimed.tenant_id, context_version: claimed.context_version, arm: claimed.arm };
    const row = await trx
      .selectFrom('strategy_arm_state')
      .selectAll()
      .where('tenant_id', '=', key.tenant_id)
      .where('context_version', '=', key.context_version)
      .where('arm', '=', key.arm)
      .forUpdate()
      .executeTakeFirst();
    const before = row ? armOfRow(row) : initialArm(claimed.arm, CONTEXT_DIMENSION);
    const after = updateArm(before, claimed.context as number[], detail.reward);
    const values = { a: JSON.stringify(after.a), a_inverse: JSON.stringify(after.aInverse), b: JSON.stringify(after.b), pulls: after.pulls, reward_sum: after.rewardSum, version: (row?.version ?? 0) + 1 };
    await trx
      .insertInto('strategy_arm_state')
      .values({ ...key, ...values })
      .onConflict((oc) => oc.columns(['tenant_id', 'context_version', 'arm']).doUpdateSet({ ...values, updated_at: new Date() }))
      .execute();
    await contributeToMeta(trx, { tenantId: claimed.tenant_id, workflowId, goal: claimed.goal as Goal, arm: claimed.arm, reward: detail.reward });
    return true;
  });
}

/**
 * Warm-starts a tenant new to the goal's pattern (no rewarded run of its own there, no warm start there before) from
 * the meta-policy, when the pattern is servable: each arm with a prior gets min(runs, maxPriorRuns) pseudo-runs of
 * the crowd's mean reward at this context (addPrior). Once per tenant and pattern (strategy_warm_starts' key, in the
 * same transaction as the arms). Returns the warm start applied, or undefined.
 */
export async function applyWarmStart(db: Db, tenantId: string, goal: Goal, context: readonly number[], arms: readonly string[]): Promise<WarmStart | undefined> {
  const pattern = patternOf(goal);
  const key = { tenant_id: tenantId, context_version: CONTEXT_VERSION, goal_type: pattern.goalType, budget_band: pattern.budgetBand };
  const given = await db.selectFrom('strategy_warm_starts').select('tenant_id').where('tenant_id', '=', tenantId).where('context_version', '=', CONTEXT_VERSION).where('goal_type', '=', pattern.goalType).where('budget_band', '=', pattern.budgetBand).executeTakeFirst();
  if (given) return undefined;
  const range = budgetBandRange(pattern.budgetBand);
  const own = await db
    .selectFrom('strategy_decisions')
    .select('workflow_id')
    .where('tenant_id', '=', tenantId)
    .where('reward', 'is not', null)
    .where(sql<boolean>`goal->>'type' = ${pattern.goalType} and (goal->>'maxCost')::float8 >= ${range.low} and (goal->>'maxCost')::float8 < ${range.high ?? 'Infinity'}::float8`)
    .limit(1)
    .executeTakeFirst();
  if (own) return undefined;
  const warm = warmStartOf(await loadMetaPattern(db, pattern), arms, await loadMetaSettings(db));
  if (!warm) return undefined;
  return db.transaction().execute(async (trx) => {
    await lockTenantStrategy(trx, tenantId);
    const marked = await trx.insertInto('strategy_warm_starts').values({ ...key, prior: JSON.stringify(warm) }).onConflict((oc) => oc.columns(['tenant_id', 'context_version', 'goal_type', 'budget_band']).doNothing()).returning('tenant_id').executeTakeFirst();
    if (!marked) return undefined;
    for (const prior of warm.arms) {
      const armKey = { tenant_id: tenantId, context_version: CONTEXT_VERSION, arm: prior.arm };
      const row = await trx.selectFrom('strategy_arm_state').selectAll().where('tenant_id', '=', tenantId).where('context_version', '=', CONTEXT_VERSION).where('arm', '=', prior.arm).forUpdate().executeTakeFirst();
      const after = addPrior(row ? armOfRow(row) : initialArm(prior.arm, CONTEXT_DIMENSION), context, prior.meanReward, prior.weight);
      // The version counts rewards applied: a prior is none.
      const values = { a: JSON.stringify(after.a), a_inverse: JSON.stringify(after.aInverse), b: JSON.stringify(after.b), pulls: after.pulls, reward_sum: after.rewardSum, version: row?.version ?? 0 };
      await trx.insertInto('strategy_arm_state').values({ ...armKey, ...values }).onConflict((oc) => oc.columns(['tenant_id', 'context_version', 'arm']).doUpdateSet({ ...values, updated_at: new Date() })).execute();
    }
    return warm;
  });
}

/** The warm starts a tenant got, by pattern. */
export async function listWarmStarts(db: Db, tenantId: string): Promise<WarmStart[]> {
  const rows = await db.selectFrom('strategy_warm_starts').select('prior').where('tenant_id', '=', tenantId).where('context_version', '=', CONTEXT_VERSION).orderBy('applied_at').execute();
  return rows.map((r) => r.prior as WarmStart);
}

/** A tenant's shadow model. */
export interface StoredModel {
  version: number;
  weights: Record<string, number[]>;
  runs: number;
  trainedAt: Date;
}

/** The tenant's newest model of this status (`shadow`: the one recorded beside decisions; `live`: the one choosing). */
export async function latestModel(db: Db, tenantId: string, status: 'shadow' | 'live'): Promise<StoredModel | undefined> {
  const row = await db.selectFrom('strategy_offline_models').selectAll().where('tenant_id', '=', tenantId).where('status', '=', status).orderBy('version', 'desc').executeTakeFirst();
  return row ? { version: row.version, weights: row.weights as Record<string, number[]>, runs: row.runs, trainedAt: row.trained_at } : undefined;
}

/** A model by version, whatever its status. */
export async function findModel(db: Db, tenantId: string, version: number): Promise<(StoredModel & { status: string }) | undefined> {
  const row = await db.selectFrom('strategy_offline_models').selectAll().where('tenant_id', '=', tenantId).where('version', '=', version).executeTakeFirst();
  return row ? { version: row.version, weights: row.weights as Record<string, number[]>, runs: row.runs, trainedAt: row.trained_at, status: row.status } : undefined;
}

/**
 * Makes a model the tenant's live policy (a model live before it goes back to shadow) and records its promotion with
 * the rollback threshold. Idempotent: promoting the same version again changes nothing.
 */
export async function promoteModel(db: Db, request: { tenantId: string; modelVersion: number; workflowId: string; baseline: number }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('strategy_promotions')
      .values({ tenant_id: request.tenantId, model_version: request.modelVersion, workflow_id: request.workflowId, baseline: request.baseline, status: 'watching' })
      .onConflict((oc) => oc.columns(['tenant_id', 'model_version']).doNothing())
      .returning('model_version')
      .executeTakeFirst();
    if (!inserted) return;
    await trx.updateTable('strategy_offline_models').set({ status: 'shadow' }).where('tenant_id', '=', request.tenantId).where('status', '=', 'live').execute();
    await trx.updateTable('strategy_offline_models').set({ status: 'live' }).where('tenant_id', '=', request.tenantId).where('version', '=', request.modelVersion).execute();
  });
}

/** The rewarded runs the live model chose since its promotion: how many, and their mean reward. */
export async function countModelRuns(db: Db, tenantId: string, modelVersion: number): Promise<{ runs: number; meanReward?: number }> {
  const row = await db
    .selectFrom('strategy_decisions')
    .select([sql<number>`count(*)::int`.as('runs'), sql<number | null>`avg(reward)::float8`.as('mean')])
    .where('tenant_id', '=', tenantId)
    .where('policy', '=', modelPolicy(modelVersion))
    .where('reward', 'is not', null)
    .executeTakeFirstOrThrow();
  return { runs: row.runs, ...(row.mean !== null ? { meanReward: Number(row.mean) } : {}) };
}

/** Ends a promotion's watch: kept (the model stays live) or rolled back (it is retired; the bandit chooses again). */
export async function closePromotion(db: Db, request: { tenantId: string; modelVersion: number; status: 'kept' | 'rolled_back'; watched: unknown }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const closed = await trx
      .updateTable('strategy_promotions')
      .set({ status: request.status, watched: JSON.stringify(request.watched), closed_at: new Date() })
      .where('tenant_id', '=', request.tenantId)
      .where('model_version', '=', request.modelVersion)
      .where('status', '=', 'watching')
      .returning('model_version')
      .executeTakeFirst();
    if (closed && request.status === 'rolled_back') {
      await trx.updateTable('strategy_offline_models').set({ status: 'retired' }).where('tenant_id', '=', request.tenantId).where('version', '=', request.modelVersion).execute();
    }
  });
}

/** The policy name of decisions a promoted model made. */
export function modelPolicy(version: number): string {
  return `cql-v${version}`;
}

/** Stores a newly trained shadow model as the tenant's next version (under its training key, when given, once). */
export async function saveShadowModel(db: Db, tenantId: string, weights: Record<string, number[]>, runs: number, trainingKey?: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`strategy_offline_models:${tenantId}`}))`.execute(trx);
    if (trainingKey) {
      const earlier = await trx.selectFrom('strategy_offline_models').select('version').where('training_key', '=', trainingKey).executeTakeFirst();
      if (earlier) return earlier.version;
    }
    const last = await trx.selectFrom('strategy_offline_models').select(sql<number>`coalesce(max(version), 0)::int`.as('v')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    const version = last.v + 1;
    await trx.insertInto('strategy_offline_models').values({ tenant_id: tenantId, version, status: 'shadow', weights: JSON.stringify(weights), runs, training_key: trainingKey ?? null }).execute();
    return version;
  });
}

/** The model a training request stored, if any. */
export async function findModelByTrainingKey(db: Db, trainingKey: string): Promise<{ version: number; runs: number } | undefined> {
  return db.selectFrom('strategy_offline_models').select(['version', 'runs']).where('training_key', '=', trainingKey).executeTakeFirst();
}

/** The tenant's newest model, whatever its status. */
export async function newestModel(db: Db, tenantId: string): Promise<{ version: number; runs: number } | undefined> {
  return db.selectFrom('strategy_offline_models').select(['version', 'runs']).where('tenant_id', '=', tenantId).orderBy('version', 'desc').executeTakeFirst();
}
