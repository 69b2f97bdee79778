import { type Kysely, sql } from 'kysely';

/**
 * Task runtimes (README, "Task runtimes").
 *
 * - `task_runtime_tasks`: per (tenant, task) the number of work items loaded; the loader numbers new items after it,
 *   holding the row's lock, so item numbers (seq) are dense 1 … N and a batch is a range of them.
 * - `task_runtime_items`: the work items, primary key (tenant, task, seq): a batch is claimed by a range read from
 *   the cursor on that key, never by scanning for unprocessed rows. Unique by (tenant, task, item_key), so loading
 *   the same file again adds nothing.
 * - `task_runtime_checkpoints`: the runtime's checkpoint, upserted per (tenant, task, chain_index): its plain-JSON
 *   state and its input, so a runtime terminated by hand resumes from the database.
 * - `task_runtime_dead_letters`: items a failing batch left unprocessed after its retries, once per item.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('task_runtime_tasks')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('task_runtime_tasks_pk', ['tenant_id', 'task_id'])
    .execute();
  await db.schema
    .createTable('task_runtime_items')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('item_key', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('loaded_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('task_runtime_items_pk', ['tenant_id', 'task_id', 'seq'])
    .addUniqueConstraint('task_runtime_items_key', ['tenant_id', 'task_id', 'item_key'])
    .execute();
  await db.schema
    .createTable('task_runtime_checkpoints')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('chain_index', 'integer', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('input', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('task_runtime_checkpoints_pk', ['tenant_id', 'task_id', 'chain_index'])
    .execute();
  await db.schema
    .createTable('task_runtime_dead_letters')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('item_key', 'text', (c) => c.notNull())
    .addColumn('block', 'integer', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('error', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('task_runtime_dead_letters_pk', ['tenant_id', 'task_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['task_runtime_dead_letters', 'task_runtime_checkpoints', 'task_runtime_items', 'task_runtime_tasks']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
