import { type Kysely, sql } from 'kysely';

/**
 * Tenant profiles (README, "Tenants"): the `tenants` row of 0001 gains its budget (per day and per month, in one
 * unit; null is no limit), concurrency limits, priority and fairness weight, policy space, active flag and
 * meta-learning opt-in, each with the default a tenant has when nobody set it (rows that exist get the defaults).
 * `version` counts changes: each change is audited in `audit_log` under the workflow ID `tenant-<id>` with the key
 * `v<version>:<event>`, so the history of a profile is as append-only as every run's.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('display_name', 'text')
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('budget_per_day', 'double precision', (c) => c.check(sql`budget_per_day >= 0`))
    .addColumn('budget_per_month', 'double precision', (c) => c.check(sql`budget_per_month >= 0`))
    .addColumn('budget_unit', 'text', (c) => c.notNull().defaultTo('usd'))
    .addColumn('max_concurrent_runs', 'integer', (c) => c.notNull().defaultTo(5).check(sql`max_concurrent_runs >= 1`))
    .addColumn('max_concurrent_tasks_per_agent', 'integer', (c) => c.notNull().defaultTo(2).check(sql`max_concurrent_tasks_per_agent >= 1`))
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(5).check(sql`priority BETWEEN 1 AND 10`))
    .addColumn('fairness_weight', 'double precision', (c) => c.notNull().defaultTo(1).check(sql`fairness_weight > 0`))
    .addColumn('planner_policy', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('tool_policy', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('agent_policy', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('generation_policy', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('meta_learning', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  let alter = db.schema.alterTable('tenants').dropColumn('display_name');
  for (const column of [
    'active', 'budget_per_day', 'budget_per_month', 'budget_unit', 'max_concurrent_runs', 'max_concurrent_tasks_per_agent', 'priority',
    'fairness_weight', 'planner_policy', 'tool_policy', 'agent_policy', 'generation_policy', 'meta_learning', 'version', 'updated_at',
  ]) {
    alter = alter.dropColumn(column);
  }
  await alter.execute();
}
