import { type Kysely, sql } from 'kysely';

/**
 * Governance (README, "Governance gates"): the actions carried out on each target, which cooldowns and repetition
 * suppression read across runs (unique per workflow and action key, so a retried activity records once); the
 * change-freeze calendars per tenant and environment (`*`: all), unique per window so adding one twice adds it once,
 * removed by marking `removed_at`; and each tenant's overrides of the default rules.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('governance_actions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('action_key', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('governance_actions_key', ['workflow_id', 'action_key'])
    .execute();
  await db.schema.createIndex('governance_actions_target').on('governance_actions').columns(['tenant_id', 'service', 'environment', 'at']).execute();

  await db.schema
    .createTable('change_freezes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull().check(sql`policy IN ('wait', 'refuse')`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('removed_at', 'timestamptz')
    .addCheckConstraint('change_freezes_window', sql`ends_at > starts_at`)
    .execute();
  await db.schema.createIndex('change_freezes_window_key').on('change_freezes').columns(['tenant_id', 'environment', 'starts_at', 'ends_at']).unique().execute();

  await db.schema
    .createTable('governance_policies')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('overrides', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('governance_policies').execute();
  await db.schema.dropTable('change_freezes').execute();
  await db.schema.dropTable('governance_actions').execute();
}
