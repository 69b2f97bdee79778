import { type Kysely, sql } from 'kysely';

/**
 * Capabilities as plugins (README, "Capabilities"):
 *
 * - `capability_registrations`: what each worker serves, written when it starts and refreshed while it runs: the
 *   capability's name, version, routing spec (timeouts, retry, fallback), and its input and output JSON Schemas
 *   (derived from the zod schemas). Clients validate plans against it, and `ados capabilities` lists it.
 * - `task_costs`: what a capability reported an attempt cost (`ctx.reportCost`), one row per report, unique per
 *   attempt and report so a retried write adds nothing. Tenant budgets add these up.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('capability_registrations')
    .addColumn('capability', 'text', (c) => c.notNull())
    .addColumn('worker', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('task_queue', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('spec', 'jsonb', (c) => c.notNull())
    .addColumn('input_schema', 'jsonb', (c) => c.notNull())
    .addColumn('output_schema', 'jsonb', (c) => c.notNull())
    .addColumn('registered_at', 'timestamptz', now)
    .addColumn('last_seen_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('capability_registrations_pk', ['capability', 'worker'])
    .execute();

  await db.schema
    .createTable('task_costs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('capability', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('amount', 'double precision', (c) => c.notNull())
    .addColumn('unit', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('task_costs_attempt_seq', ['workflow_id', 'environment', 'task_id', 'attempt', 'seq'])
    .execute();
  await db.schema.createIndex('task_costs_tenant').on('task_costs').columns(['tenant_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('task_costs').execute();
  await db.schema.dropTable('capability_registrations').execute();
}
