/**
 * Exactly-once side effects for long activities, fenced by attempt (tables from migration 0003_effects).
 *
 *   const effects = await TaskEffects.claim(db, key, token, logger);  // moves the task's fence to this attempt
 *   await effects.write([{ item: 0, digest }, ...]);                  // once per item, refused once superseded
 *   await effects.saveCheckpoint(cursor, details);                   // durable checkpoint, fenced the same way
 *
 * Every write is one SQL statement (never a transaction held open across awaits), so a worker that is paused or
 * killed mid-write never holds a lock that the attempt taking over would wait on.
 */
import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../../shared/node/db';
import type { Logger } from '../../shared/node/logger';
import { parseCheckpointDetails, type CheckpointStore } from './checkpoint';

/** Which task the effects belong to. The same task id runs once per environment. */
export interface TaskKey {
  workflowId: string;
  environment: string;
  taskId: string;
}

/**
 * The fencing token of one attempt: (generation, attempt), compared in that order. generation is the workflow's
 * activity sequence number (a task the workflow schedules again gets a higher one and restarts at attempt 1).
 */
export interface FenceToken {
  generation: number;
  attempt: number;
  worker: string;
}

export interface EffectRow {
  item: number;
  digest: string;
}

export type WriteKind = 'claim' | 'effects' | 'checkpoint';

/** SQLSTATE raised by the fence trigger (ados_check_fence). */
export const FENCE_SQLSTATE = 'AF001';

/** Thrown when the fence refuses a write: a later attempt of the task has taken over. The activity must stop. */
export class FencedOutError extends Error {
  constructor(
    readonly key: TaskKey,
    readonly token: FenceToken,
    readonly writeKind: WriteKind,
    readonly fence: { generation: number; attempt: number; worker: string } | undefined,
  ) {
    super(
      `fenced out: ${writeKind} by attempt ${token.attempt} (generation ${token.generation}, worker ${token.worker}) of task ` +
        `${key.workflowId}/${key.environment}/${key.taskId} refused; ` +
        (fence ? `attempt ${fence.attempt} (generation ${fence.generation}, worker ${fence.worker}) has taken over` : 'no fence'),
    );
    this.name = 'FencedOutError';
  }
}

export function isFenceViolation(error: unknown): boolean {
  return (error as { code?: unknown })?.code === FENCE_SQLSTATE;
}

/** Parses an activity ID into a generation: the SDK numbers activities 1, 2, … per workflow; anything else is 0. */
export function generationFromActivityId(activityId: string): number {
  return /^\d{1,15}$/.test(activityId) ? Number(activityId) : 0;
}

export interface StoredCheckpoint<D> {
  cursor: number;
  details: D;
  generation: number;
  attempt: number;
  worker: string;
}

export interface AttemptTotals {
  written: number;
  redone: number;
  refused: number;
}

export type AttemptOutcome = 'completed' | 'fenced' | 'cancelled' | 'failed';

export class TaskEffects {
  private readonly totals: AttemptTotals = { written: 0, redone: 0, refused: 0 };

  private constructor(
    private readonly db: Db,
    readonly key: TaskKey,
    readonly token: FenceToken,
    private readonly logger: Logger,
  ) {}

  /**
   * Moves the task's fence to this attempt (it never moves back). Throws FencedOutError, after recording it, when a
   * later attempt already holds it: this attempt was superseded before it started.
   */
  static async claim(db: Db, key: TaskKey, token: FenceToken, logger: Logger): Promise<TaskEffects> {
    const effects = new TaskEffects(db, key, token, logger);
    const { rows } = await sql<{ attempt: number }>`
      INSERT INTO task_fences (workflow_id, environment, task_id, generation, attempt, worker)
      VALUES (${key.workflowId}, ${key.environment}, ${key.taskId}, ${token.generation}, ${token.attempt}, ${token.worker})
      ON CONFLICT (workflow_id, environment, task_id) DO UPDATE
        SET generation = EXCLUDED.generation, attempt = EXCLUDED.attempt, worker = EXCLUDED.worker, updated_at = clock_timestamp()
        WHERE (task_fences.generation, task_fences.attempt) <= (EXCLUDED.generation, EXCLUDED.attempt)
      RETURNING attempt`.execute(db);
    if (rows.length === 0) throw await effects.refused('claim', 0, null);
    return effects;
  }

  get attemptTotals(): AttemptTotals {
    return { ...this.totals };
  }

  /** The task's current fence (who may write), if any. */
  async currentFence(): Promise<{ generation: number; attempt: number; worker: string } | undefined> {
    const row = await this.db
      .selectFrom('task_fences')
      .select(['generation', 'attempt', 'worker'])
      .where('workflow_id', '=', this.key.workflowId)
      .where('environment', '=', this.key.environment)
      .where('task_id', '=', this.key.taskId)
      .executeTakeFirst();
    return row ? { generation: Number(row.generation), attempt: row.attempt, worker: row.worker } : undefined;
  }

  /** Records the start of this attempt in task_attempts (where it resumed from, and from which source). */
  async startAttempt(resumedFrom: number, source: string): Promise<void> {
    const { key, token } = this;
    await sql`
      INSERT INTO task_attempts (workflow_id, environment, task_id, generation, attempt, worker, resumed_from, resume_source, cursor)
      VALUES (${key.workflowId}, ${key.environment}, ${key.taskId}, ${token.generation}, ${token.attempt}, ${token.worker},
              ${resumedFrom}, ${source}, ${resumedFrom})
      ON CONFLICT (workflow_id, environment, task_id, generation, attempt) DO UPDATE
        SET worker = EXCLUDED.worker, started_at = clock_timestamp(), resumed_from = EXCLUDED.resumed_from,
            resume_source = EXCLUDED.resume_source, cursor = EXCLUDED.cursor, finished_at = NULL, outcome = NULL, error = NULL`.execute(this.db);
  }

  /**
   * Writes one effect row per item, each at most once per task: items already written (by an earlier attempt that
   * got this far before it died) are skipped and counted as redone. One statement; refused by the database once a
   * later attempt holds the fence (FencedOutError).
   */
  async write(rows: EffectRow[]): Promise<{ written: number; redone: number }> {
    if (rows.length === 0) return { written: 0, redone: 0 };
    const { key, token } = this;
    let inserted: number;
    try {
      const result = await this.db
        .insertInto('effects')
        .values(
          rows.map((row) => ({
            workflow_id: key.workflowId,
            environment: key.environment,
            task_id: key.taskId,
            item: row.item,
            digest: row.digest,
            generation: token.generation,
            attempt: token.attempt,
            worker: token.worker,
          })),
        )
        .onConflict((oc) => oc.columns(['workflow_id', 'environment', 'task_id', 'item']).doNothing())
        .returning('item')
        .execute();
      inserted = result.length;
    } catch (error) {
      if (isFenceViolation(error)) throw await this.refused('effects', rows.length, rows[0].item);
      throw error;
    }
    const outcome = { written: inserted, redone: rows.length - inserted };
    this.totals.written += outcome.written;
    this.totals.redone += outcome.redone;
    return outcome;
  }

  /** The task's durable checkpoint, whoever wrote it. */
  async loadCheckpoint<D>(): Promise<StoredCheckpoint<D> | undefined> {
    const row = await this.db
      .selectFrom('checkpoints')
      .select(['cursor', 'details', 'generation', 'attempt', 'worker'])
      .where('workflow_id', '=', this.key.workflowId)
      .where('environment', '=', this.key.environment)
      .where('task_id', '=', this.key.taskId)
      .executeTakeFirst();
    if (!row) return undefined;
    return { cursor: row.cursor, details: row.details as D, generation: Number(row.generation), attempt: row.attempt, worker: row.worker };
  }

  /**
   * Saves the durable checkpoint (only ever forward) and this attempt's progress. Fenced like effects: a superseded
   * attempt's checkpoint is refused (FencedOutError).
   */
  async saveCheckpoint(cursor: number, details: unknown): Promise<void> {
    const { key, token } = this;
    try {
      await sql`
        INSERT INTO checkpoints (workflow_id, environment, task_id, cursor, details, generation, attempt, worker)
        VALUES (${key.workflowId}, ${key.environment}, ${key.taskId}, ${cursor}, ${JSON.stringify(details)}::jsonb,
                ${token.generation}, ${token.attempt}, ${token.worker})
        ON CONFLICT (workflow_id, environment, task_id) DO UPDATE
          SET cursor = EXCLUDED.cursor, details = EXCLUDED.details, generation = EXCLUDED.generation,
              attempt = EXCLUDED.attempt, worker = EXCLUDED.worker, updated_at = clock_timestamp()
          WHERE checkpoints.cursor < EXCLUDED.cursor`.execute(this.db);
    } catch (error) {
      if (isFenceViolation(error)) throw await this.refused('checkpoint', 0, null);
      throw error;
    }
    await this.updateAttempt(sql`cursor = ${cursor}, last_checkpoint_at = clock_timestamp()`);
  }

  /** The durable checkpoint as a Checkpointer store (activities/checkpoint.ts). */
  checkpointStore<P>(): CheckpointStore<P> {
    return {
      load: async () => parseCheckpointDetails<P>((await this.loadCheckpoint())?.details),
      save: (details) => this.saveCheckpoint(details.cursor, details),
    };
  }

  /** Closes this attempt's task_attempts row. Bookkeeping, not an effect: allowed after being fenced out. */
  async finish(outcome: AttemptOutcome, error?: string): Promise<void> {
    await this.updateAttempt(sql`finished_at = clock_timestamp(), outcome = ${outcome}, error = ${error ?? null}`);
  }

  private async updateAttempt(set: RawBuilder<unknown>): Promise<void> {
    const { key, token, totals } = this;
    await sql`
      UPDATE task_attempts SET ${set}, written = ${totals.written}, redone = ${totals.redone}, refused = ${totals.refused}
      WHERE workflow_id = ${key.workflowId} AND environment = ${key.environment} AND task_id = ${key.taskId}
        AND generation = ${token.generation} AND attempt = ${token.attempt}`.execute(this.db);
  }

  /** Records and logs a refused write, and returns the error to throw. */
  private async refused(writeKind: WriteKind, items: number, firstItem: number | null): Promise<FencedOutError> {
    const { key, token } = this;
    this.totals.refused += items;
    let fence: Awaited<ReturnType<TaskEffects['currentFence']>> = undefined;
    try {
      fence = await this.currentFence();
      await this.db
        .insertInto('fenced_writes')
        .values({
          workflow_id: key.workflowId,
          environment: key.environment,
          task_id: key.taskId,
          generation: token.generation,
          attempt: token.attempt,
          worker: token.worker,
          fence_generation: fence?.generation ?? null,
          fence_attempt: fence?.attempt ?? null,
          fence_worker: fence?.worker ?? null,
          write_kind: writeKind,
          items,
          first_item: firstItem,
        })
        .execute();
    } catch (error) {
      // The refusal stands whether or not it could be recorded; the log line below still reports it.
      this.logger.error({ err: error, ...key }, 'could not record a fenced write');
    }
    const refusal = new FencedOutError(key, token, writeKind, fence);
    this.logger.warn(
      {
        ...key,
        generation: token.generation,
        attempt: token.attempt,
        worker: token.worker,
        writeKind,
        items,
        firstItem,
        fence,
      },
      'fenced write refused',
    );
    return refusal;
  }
}
