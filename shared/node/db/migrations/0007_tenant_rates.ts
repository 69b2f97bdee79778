import { type Kysely, sql } from 'kysely';

/**
 * Rate limits of the tenant gate (README, "Tenant gate"): two token buckets per tenant, run starts and task starts per
 * agent, each a sustained rate per minute and a largest burst. The defaults do not limit ordinary use; rows that exist
 * get them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('run_starts_per_minute', 'integer', (c) => c.notNull().defaultTo(600).check(sql`run_starts_per_minute >= 1`))
    .addColumn('run_start_burst', 'integer', (c) => c.notNull().defaultTo(100).check(sql`run_start_burst >= 1`))
    .addColumn('agent_task_starts_per_minute', 'integer', (c) => c.notNull().defaultTo(6000).check(sql`agent_task_starts_per_minute >= 1`))
    .addColumn('agent_task_start_burst', 'integer', (c) => c.notNull().defaultTo(1000).check(sql`agent_task_start_burst >= 1`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .dropColumn('run_starts_per_minute')
    .dropColumn('run_start_burst')
    .dropColumn('agent_task_starts_per_minute')
    .dropColumn('agent_task_start_burst')
    .execute();
}
