import { type Kysely, sql } from 'kysely';

/**
 * Checkpointing, fencing and exactly-once side effects for long activities (README, "Checkpointing, fencing and
 * failover").
 *
 * - `task_fences`: per task (workflow, environment, task) the latest attempt that started, as the fencing token
 *   (generation, attempt): generation is the workflow's activity sequence number (a task scheduled again, e.g. by
 *   the escalation ladder, gets a higher one and starts again at attempt 1), attempt is Temporal's attempt number.
 *   It only moves forward.
 * - `effects`: one row per item and task, unique, so that a redo after a crash writes nothing twice. A trigger
 *   refuses any effect whose token is not the task's current fence: a worker that was presumed dead (its heartbeat
 *   timed out, another attempt took over) cannot write after the takeover, even if it is still running.
 * - `checkpoints`: the durable checkpoint of a task (cursor + details, the same value the activity heartbeats), fenced
 *   the same way, only moving forward.
 * - `task_attempts`: one row per attempt: worker, start, where it resumed from, items written / redone / refused,
 *   outcome. What the tests, the chaos tool and the benchmark measure failover from.
 * - `fenced_writes`: every write the fence refused (also logged by the worker).
 *
 * The SQLSTATE of a refused write is AF001 (activities/effects.ts recognises it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  const key = (t: any) =>
    t
      .addColumn('workflow_id', 'text', (c: any) => c.notNull())
      .addColumn('environment', 'text', (c: any) => c.notNull())
      .addColumn('task_id', 'text', (c: any) => c.notNull());
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);

  await key(db.schema.createTable('task_fences'))
    .addColumn('generation', 'bigint', (c: any) => c.notNull())
    .addColumn('attempt', 'integer', (c: any) => c.notNull())
    .addColumn('worker', 'text', (c: any) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('task_fences_pk', ['workflow_id', 'environment', 'task_id'])
    .execute();

  await key(db.schema.createTable('effects').addColumn('id', 'bigserial', (c: any) => c.primaryKey()))
    .addColumn('item', 'integer', (c: any) => c.notNull())
    .addColumn('digest', 'text', (c: any) => c.notNull())
    .addColumn('generation', 'bigint', (c: any) => c.notNull())
    .addColumn('attempt', 'integer', (c: any) => c.notNull())
    .addColumn('worker', 'text', (c: any) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addUniqueConstraint('effects_once', ['workflow_id', 'environment', 'task_id', 'item'])
    .execute();

  await key(db.schema.createTable('checkpoints'))
    .addColumn('cursor', 'integer', (c: any) => c.notNull())
    .addColumn('details', 'jsonb', (c: any) => c.notNull())
    .addColumn('generation', 'bigint', (c: any) => c.notNull())
    .addColumn('attempt', 'integer', (c: any) => c.notNull())
    .addColumn('worker', 'text', (c: any) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('checkpoints_pk', ['workflow_id', 'environment', 'task_id'])
    .execute();

  await key(db.schema.createTable('task_attempts'))
    .addColumn('generation', 'bigint', (c: any) => c.notNull())
    .addColumn('attempt', 'integer', (c: any) => c.notNull())
    .addColumn('worker', 'text', (c: any) => c.notNull())
    .addColumn('started_at', 'timestamptz', now)
    .addColumn('resumed_from', 'integer', (c: any) => c.notNull())
    .addColumn('resume_source', 'text', (c: any) => c.notNull())
    .addColumn('cursor', 'integer', (c: any) => c.notNull())
    .addColumn('last_checkpoint_at', 'timestamptz')
    .addColumn('written', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('redone', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('refused', 'integer', (c: any) => c.notNull().defaultTo(0))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('task_attempts_pk', ['workflow_id', 'environment', 'task_id', 'generation', 'attempt'])
    .execute();
  await db.schema.createIndex('task_attempts_worker').on('task_attempts').columns(['worker', 'started_at']).execute();

  await key(db.schema.createTable('fenced_writes').addColumn('id', 'bigserial', (c: any) => c.primaryKey()))
    .addColumn('generation', 'bigint', (c: any) => c.notNull())
    .addColumn('attempt', 'integer', (c: any) => c.notNull())
    .addColumn('worker', 'text', (c: any) => c.notNull())
    .addColumn('fence_generation', 'bigint')
    .addColumn('fence_attempt', 'integer')
    .addColumn('fence_worker', 'text')
    .addColumn('write_kind', 'text', (c: any) => c.notNull())
    .addColumn('items', 'integer', (c: any) => c.notNull())
    .addColumn('first_item', 'integer')
    .addColumn('created_at', 'timestamptz', now)
    .execute();
  await db.schema.createIndex('fenced_writes_task').on('fenced_writes').columns(['workflow_id', 'environment', 'task_id']).execute();

  // The fence, enforced by the database. FOR SHARE: a takeover (UPDATE of the fence row) waits for a write that
  // already read the fence, and a write that starts after the takeover sees the new fence, so no write lands after
  // another attempt took over. Writes are single statements, so a paused writer never holds this lock for long.
  await sql`
    CREATE FUNCTION ados_check_fence() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      fence RECORD;
    BEGIN
      SELECT generation, attempt, worker INTO fence FROM task_fences
        WHERE workflow_id = NEW.workflow_id AND environment = NEW.environment AND task_id = NEW.task_id
        FOR SHARE;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'fenced: no attempt of task %/%/% has claimed the fence (claim it before writing %)',
          NEW.workflow_id, NEW.environment, NEW.task_id, TG_TABLE_NAME
          USING ERRCODE = 'AF001';
      END IF;
      IF fence.generation <> NEW.generation OR fence.attempt <> NEW.attempt THEN
        RAISE EXCEPTION 'fenced: write to % by generation % attempt % refused; task %/%/% is held by generation % attempt % (%)',
          TG_TABLE_NAME, NEW.generation, NEW.attempt, NEW.workflow_id, NEW.environment, NEW.task_id,
          fence.generation, fence.attempt, fence.worker
          USING ERRCODE = 'AF001';
      END IF;
      RETURN NEW;
    END
    $$`.execute(db);
  await sql`CREATE TRIGGER effects_fenced BEFORE INSERT OR UPDATE ON effects FOR EACH ROW EXECUTE FUNCTION ados_check_fence()`.execute(db);
  await sql`CREATE TRIGGER checkpoints_fenced BEFORE INSERT OR UPDATE ON checkpoints FOR EACH ROW EXECUTE FUNCTION ados_check_fence()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['fenced_writes', 'task_attempts', 'checkpoints', 'effects', 'task_fences']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`DROP FUNCTION IF EXISTS ados_check_fence()`.execute(db);
}
