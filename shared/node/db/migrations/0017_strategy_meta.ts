import { type Kysely, sql } from 'kysely';

/**
 * The strategy meta-policy across tenants and scheduled shadow training (README, "Strategy learning").
 *
 * Meta tables (aggregates only: no tenant id, no run id, no timestamp in any of them; a test reads their columns
 * from information_schema):
 * - `strategy_meta_patterns`: per (goal type, budget band, context layout) the runs and the distinct tenants behind it.
 * - `strategy_meta_arms`: per pattern and arm the runs, the sum of rewards and the sum of their squares.
 * - `strategy_meta_settings`: one row: the serving thresholds (k tenants, n runs) and the warm start's weight cap.
 *
 * Tenant-owned (the tenant's own data, beside its decisions):
 * - `strategy_decisions.meta_pattern`: the pattern the run's reward was added to (null: not contributed). It is how
 *   a tenant's first contribution to a pattern is told from a later one (the distinct-tenant count) without the meta
 *   tables knowing who contributed.
 * - `strategy_warm_starts`: the warm start a tenant got for a pattern (once per pattern), with the priors given.
 * - `strategy_offline_models.training_key`: the training request that produced a model (a retried training
 *   activity finds its model instead of training another).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('strategy_meta_patterns')
    .addColumn('goal_type', 'text', (c) => c.notNull())
    .addColumn('budget_band', 'text', (c) => c.notNull())
    .addColumn('context_version', 'integer', (c) => c.notNull())
    .addColumn('tenants', 'integer', (c) => c.notNull())
    .addColumn('runs', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('strategy_meta_patterns_pk', ['goal_type', 'budget_band', 'context_version'])
    .execute();
  await db.schema
    .createTable('strategy_meta_arms')
    .addColumn('goal_type', 'text', (c) => c.notNull())
    .addColumn('budget_band', 'text', (c) => c.notNull())
    .addColumn('context_version', 'integer', (c) => c.notNull())
    .addColumn('arm', 'text', (c) => c.notNull())
    .addColumn('runs', 'integer', (c) => c.notNull())
    .addColumn('reward_sum', 'double precision', (c) => c.notNull())
    .addColumn('reward_square_sum', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('strategy_meta_arms_pk', ['goal_type', 'budget_band', 'context_version', 'arm'])
    .execute();
  await db.schema
    .createTable('strategy_meta_settings')
    .addColumn('singleton', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`singleton`))
    .addColumn('min_tenants', 'integer', (c) => c.notNull())
    .addColumn('min_runs', 'integer', (c) => c.notNull())
    .addColumn('max_prior_runs', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('strategy_decisions').addColumn('meta_pattern', 'text').execute();
  await db.schema
    .createTable('strategy_warm_starts')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('context_version', 'integer', (c) => c.notNull())
    .addColumn('goal_type', 'text', (c) => c.notNull())
    .addColumn('budget_band', 'text', (c) => c.notNull())
    .addColumn('prior', 'jsonb', (c) => c.notNull())
    .addColumn('applied_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addPrimaryKeyConstraint('strategy_warm_starts_pk', ['tenant_id', 'context_version', 'goal_type', 'budget_band'])
    .execute();
  await db.schema.alterTable('strategy_offline_models').addColumn('training_key', 'text').execute();
  await db.schema.createIndex('strategy_offline_models_training_key').on('strategy_offline_models').column('training_key').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('strategy_offline_models_training_key').ifExists().execute();
  await db.schema.alterTable('strategy_offline_models').dropColumn('training_key').execute();
  await db.schema.dropTable('strategy_warm_starts').ifExists().execute();
  await db.schema.alterTable('strategy_decisions').dropColumn('meta_pattern').execute();
  for (const table of ['strategy_meta_settings', 'strategy_meta_arms', 'strategy_meta_patterns']) await db.schema.dropTable(table).ifExists().execute();
}
