import { type Kysely, sql } from 'kysely';

/**
 * Strategy learning (README, "Strategy learning").
 *
 * - `strategy_settings`: a tenant's arm set and exploration (alpha, epsilon); no row: every arm, the defaults.
 * - `strategy_arm_state`: the LinUCB statistics of one arm of one tenant (A, its inverse, b, pulls, reward sum) for one context
 *   layout (`context_version`); `version` counts the rewards applied to it.
 * - `strategy_decisions`: one row per delivery run that chose a strategy: the arm, its context, the scores and the
 *   propensity, what the shadow policy would have chosen, and, once applied, the reward. The reward is set exactly
 *   once (`reward IS NULL` guards the update, in the same transaction as the arm's statistics).
 * - `strategy_offline_models`: the conservative Q-learning models trained on a tenant's finished runs, by version;
 *   `status` is `shadow` (recorded next to the live decision, never acted on), `live` (promoted: it chooses) or
 *   `retired` (rolled back).
 * - `strategy_promotions`: one per promoted model: the promotion workflow, the live mean reward before it (the
 *   rollback threshold), when it went live, and how its watch ended (`watching`, `kept`, `rolled_back`).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('strategy_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('arms', 'jsonb', (c) => c.notNull())
    .addColumn('alpha', 'double precision', (c) => c.notNull())
    .addColumn('epsilon', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .execute();
  await db.schema
    .createTable('strategy_arm_state')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('context_version', 'integer', (c) => c.notNull())
    .addColumn('arm', 'text', (c) => c.notNull())
    .addColumn('a', 'jsonb', (c) => c.notNull())
    .addColumn('a_inverse', 'jsonb', (c) => c.notNull())
    .addColumn('b', 'jsonb', (c) => c.notNull())
    .addColumn('pulls', 'integer', (c) => c.notNull())
    .addColumn('reward_sum', 'double precision', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('strategy_arm_state_pk', ['tenant_id', 'context_version', 'arm'])
    .execute();
  await db.schema
    .createTable('strategy_decisions')
    .addColumn('workflow_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('arm', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('arms', 'jsonb', (c) => c.notNull())
    .addColumn('strategy', 'jsonb', (c) => c.notNull())
    .addColumn('context_version', 'integer', (c) => c.notNull())
    .addColumn('context', 'jsonb', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('goal', 'jsonb', (c) => c.notNull())
    .addColumn('scores', 'jsonb', (c) => c.notNull())
    .addColumn('propensity', 'double precision', (c) => c.notNull())
    .addColumn('state_version', 'integer', (c) => c.notNull())
    .addColumn('shadow', 'jsonb')
    .addColumn('reward', 'double precision')
    .addColumn('reward_detail', 'jsonb')
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('rewarded_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('strategy_decisions_tenant').on('strategy_decisions').columns(['tenant_id', 'created_at']).execute();
  await db.schema
    .createTable('strategy_offline_models')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('weights', 'jsonb', (c) => c.notNull())
    .addColumn('runs', 'integer', (c) => c.notNull())
    .addColumn('trained_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('strategy_offline_models_pk', ['tenant_id', 'version'])
    .execute();
  await db.schema
    .createTable('strategy_promotions')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('model_version', 'integer', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('baseline', 'double precision', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('watched', 'jsonb')
    .addColumn('promoted_at', 'timestamptz', now)
    .addColumn('closed_at', 'timestamptz')
    .addPrimaryKeyConstraint('strategy_promotions_pk', ['tenant_id', 'model_version'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['strategy_promotions', 'strategy_offline_models', 'strategy_decisions', 'strategy_arm_state', 'strategy_settings']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
