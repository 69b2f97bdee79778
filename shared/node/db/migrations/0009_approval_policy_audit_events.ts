import { type Kysely, sql } from 'kysely';

/**
 * Approver policy and audit events (README, "Approver policy" and "Audit"):
 * - `tenants.approvals`: the tenant profile's `approvals` section (role membership and the policy of the prod gate),
 *   validated by shared/contract/approval.ts; `{}` is the default (no tenant policy: the plan's `approval` decides).
 * - `audit_log.workflow_run_id`, `audit_log.history_event_id`: where in Temporal an entry was produced, so
 *   `ados audit` links each row to its workflow run and to the WorkflowTaskStarted event of the workflow task that
 *   wrote it. Null for entries written outside a workflow (tenant changes, admission) and for older entries.
 * The append-only triggers of 0001 keep covering the table (ADD COLUMN is DDL, not an UPDATE of a row).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('approvals', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.alterTable('audit_log').addColumn('workflow_run_id', 'text').addColumn('history_event_id', 'bigint').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_log').dropColumn('workflow_run_id').dropColumn('history_event_id').execute();
  await db.schema.alterTable('tenants').dropColumn('approvals').execute();
}
