/**
 * A task runtime's tables (migration 0010_task_runtimes), shared by its activities and the `ados runtime` CLI: work
 * items (loaded from NDJSON, claimed by range from a cursor), checkpoints per chain index, dead letters.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { workItemLineSchema, type TaskRuntimeInput, type WorkItemLine } from '../../contract/task-runtime/input';
import { blockTaskId, TASK_RUNTIME_ENVIRONMENT, type TaskRuntimeState, type WorkItem } from '../../contract/task-runtime/messages';
import { formatIssues, issuesFromZod, InputValidationError, type ValidationIssue } from '../../contract/validation';
import type { Db } from '../db';

/** Which task's tables. */
export interface TaskRef {
  tenantId: string;
  taskId: string;
}

/** How many bad lines a refused load lists (the rest are counted). */
const LISTED_BAD_LINES = 20;
/** Items per insert statement (and per transaction) of a load. */
const LOAD_CHUNK = 1000;

/** A line of an NDJSON file, parsed: the item, or what is wrong with it. */
export function parseWorkItemLine(text: string): { item: WorkItemLine } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = workItemLineSchema.safeParse(value);
  return parsed.success ? { item: parsed.data } : { problem: formatIssues(issuesFromZod(parsed.error)).replace(/\n/g, '; ') };
}

/** Non-empty lines of a file with their line numbers, read as a stream (a 1M-line file never sits in memory). */
async function* fileLines(path: string): AsyncGenerator<{ line: number; text: string }> {
  const reader = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of reader) {
    line += 1;
    if (text.trim() !== '') yield { line, text };
  }
}

export interface LoadReport {
  /** Item lines read (blank lines aside). */
  lines: number;
  /** Items added by this load. */
  added: number;
  /** Items whose key the task already had (or that repeated a key earlier in the file): left as they were. */
  alreadyLoaded: number;
  /** The task's items after the load. */
  itemCount: number;
}

/**
 * Loads an NDJSON file of work items into a task, all or nothing: a first streaming pass checks every line, and a
 * file with any bad line loads nothing (InputValidationError listing each bad line by number). The second pass
 * inserts chunks of 1000, each in a transaction that holds the task's row, so items are numbered densely in file
 * order. Idempotent by item key: loading the file again (also after an interrupted load) adds only what is missing.
 */
export async function loadWorkItems(db: Db, task: TaskRef, path: string): Promise<LoadReport> {
  const bad: ValidationIssue[] = [];
  let badCount = 0;
  let lines = 0;
  try {
    for await (const { line, text } of fileLines(path)) {
      lines += 1;
      const parsed = parseWorkItemLine(text);
      if ('problem' in parsed) {
        badCount += 1;
        if (bad.length < LISTED_BAD_LINES) bad.push({ path: `line ${line}`, message: parsed.problem });
      }
    }
  } catch (error) {
    throw new InputValidationError(`work-item file ${path}`, [{ path: '--file', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  if (badCount > 0) {
    if (badCount > bad.length) bad.push({ path: 'and', message: `${badCount - bad.length} more bad line(s)` });
    bad.push({ path: 'nothing loaded', message: `fix the ${badCount} bad line(s) (each line is {"key": "...", "payload": …}) and load the file again` });
    throw new InputValidationError(`work-item file ${path}`, bad);
  }
  await db.insertInto('task_runtime_tasks').values({ tenant_id: task.tenantId, task_id: task.taskId }).onConflict((oc) => oc.columns(['tenant_id', 'task_id']).doNothing()).execute();
  let added = 0;
  let chunk: WorkItemLine[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    added += await insertChunk(db, task, chunk);
    chunk = [];
  };
  for await (const { text } of fileLines(path)) {
    chunk.push((parseWorkItemLine(text) as { item: WorkItemLine }).item);
    if (chunk.length >= LOAD_CHUNK) await flush();
  }
  await flush();
  return { lines, added, alreadyLoaded: lines - added, itemCount: await itemCount(db, task) };
}

/** Inserts the chunk's new keys after the task's last item, in one transaction holding the task's row. */
async function insertChunk(db: Db, task: TaskRef, items: readonly WorkItemLine[]): Promise<number> {
  const rows = JSON.stringify(items.map((item, ord) => ({ ord, key: item.key, payload: item.payload ?? null })));
  return db.transaction().execute(async (trx) => {
    const { rows: locked } = await sql<{ item_count: number }>`
      SELECT item_count FROM task_runtime_tasks WHERE tenant_id = ${task.tenantId} AND task_id = ${task.taskId} FOR UPDATE`.execute(trx);
    const base = locked[0].item_count;
    const { rows: inserted } = await sql<{ n: number }>`
      WITH input AS (
        SELECT DISTINCT ON (r.key) r.ord, r.key, r.payload
        FROM jsonb_to_recordset(${rows}::jsonb) AS r(ord integer, key text, payload jsonb)
        ORDER BY r.key, r.ord
      ), fresh AS (
        SELECT input.* FROM input
        WHERE NOT EXISTS (
          SELECT 1 FROM task_runtime_items i WHERE i.tenant_id = ${task.tenantId} AND i.task_id = ${task.taskId} AND i.item_key = input.key)
      ), ins AS (
        INSERT INTO task_runtime_items (tenant_id, task_id, seq, item_key, payload)
        SELECT ${task.tenantId}, ${task.taskId}, ${base}::integer + row_number() OVER (ORDER BY ord), key, coalesce(payload, 'null'::jsonb)
        FROM fresh
        RETURNING 1
      )
      SELECT count(*)::integer AS n FROM ins`.execute(trx);
    const n = inserted[0].n;
    if (n > 0) {
      await trx
        .updateTable('task_runtime_tasks')
        .set({ item_count: base + n, updated_at: new Date() })
        .where('tenant_id', '=', task.tenantId)
        .where('task_id', '=', task.taskId)
        .execute();
    }
    return n;
  });
}

/** How many items the task has (0 when nothing was loaded). */
export async function itemCount(db: Db, task: TaskRef): Promise<number> {
  const row = await db
    .selectFrom('task_runtime_tasks')
    .select('item_count')
    .where('tenant_id', '=', task.tenantId)
    .where('task_id', '=', task.taskId)
    .executeTakeFirst();
  return row?.item_count ?? 0;
}

/** Items `fromSeq` … `toSeq` of the task, in order: one range read on the primary key. */
export async function readWorkItems(db: Db, task: TaskRef, fromSeq: number, toSeq: number): Promise<WorkItem[]> {
  const rows = await db
    .selectFrom('task_runtime_items')
    .select(['seq', 'item_key', 'payload'])
    .where('tenant_id', '=', task.tenantId)
    .where('task_id', '=', task.taskId)
    .where('seq', '>=', fromSeq)
    .where('seq', '<=', toSeq)
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({ seq: row.seq, key: row.item_key, payload: row.payload }));
}

export interface StoredRuntimeCheckpoint {
  chainIndex: number;
  workflowId: string;
  runId: string;
  reason: string;
  state: TaskRuntimeState;
  input: TaskRuntimeInput;
  updatedAt: Date;
}

/** Upserts the checkpoint of one run of the chain (a run records several; the last one stands). */
export async function saveRuntimeCheckpoint(
  db: Db,
  task: TaskRef,
  checkpoint: { workflowId: string; runId: string; reason: string; state: TaskRuntimeState; input: TaskRuntimeInput },
): Promise<void> {
  const state = JSON.stringify(checkpoint.state);
  await db
    .insertInto('task_runtime_checkpoints')
    .values({
      tenant_id: task.tenantId,
      task_id: task.taskId,
      chain_index: checkpoint.state.chainIndex,
      workflow_id: checkpoint.workflowId,
      run_id: checkpoint.runId,
      reason: checkpoint.reason,
      state,
      input: JSON.stringify(checkpoint.input),
    })
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'task_id', 'chain_index']).doUpdateSet({ run_id: checkpoint.runId, reason: checkpoint.reason, state, updated_at: new Date() }),
    )
    .execute();
}

/** The task's latest checkpoint (highest chain index), if any. */
export async function latestRuntimeCheckpoint(db: Db, task: TaskRef): Promise<StoredRuntimeCheckpoint | undefined> {
  const row = await db
    .selectFrom('task_runtime_checkpoints')
    .selectAll()
    .where('tenant_id', '=', task.tenantId)
    .where('task_id', '=', task.taskId)
    .orderBy('chain_index', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    chainIndex: row.chain_index,
    workflowId: row.workflow_id,
    runId: row.run_id,
    reason: row.reason,
    state: row.state as TaskRuntimeState,
    input: row.input as TaskRuntimeInput,
    updatedAt: row.updated_at,
  };
}

/** Items `fromSeq` … `toSeq` of one block of a runtime, and the block's size (what maps a sub-batch's keys to items). */
export interface BlockRange {
  workflowId: string;
  block: number;
  blockSize: number;
  fromSeq: number;
  toSeq: number;
}

/** Settling a range of a block whose batch failed: which keys to fence off, and whether its open items are dead letters. */
export interface SettleRequest extends BlockRange {
  /** The sub-batch keys (by offset) to fence off, or `all`: every key that can hold an item of the range. */
  seal: number[] | 'all';
  /** The generation the fences move to: above any attempt of the sealed keys, below every sub-batch scheduled after. */
  generation: number;
  /** Dead-letter the range's open items (the workflow asks it of a single item that failed past its retries). */
  deadLetter?: { attempts: number; error: string };
}

export interface SettledRange {
  /** Items of the range with no effect under any key of the block and not dead letters: still to process. */
  open: number[];
  /** Items of the range that are dead letters. */
  deadLettered: number[];
}

/** Who holds a fence moved by settleBlockRange: not an attempt, so nothing writes under it. */
const SEAL_WORKER = 'task-runtime settle';

/**
 * Settles a range of a block after a sub-batch failed past its retries: first moves the fences of the sealed keys to
 * `(generation, 0)`, which no attempt holds, so no attempt of them (a zombie of a crashed worker included) writes from
 * here on; then reads which items of the range have no effect under any of the block's keys (effect `i` under
 * `block-<n>+<offset>` is item `offset + i`) and, when asked, dead-letters those, each once, unless a newer session
 * has moved a sealed fence past this generation meanwhile (the settle of a terminated run, still running, writes no
 * dead letter for an item the resumed run may effect). After the fence moved, the answer is final: the workflow runs
 * the open items again under keys no earlier attempt holds.
 */
export async function settleBlockRange(db: Db, task: TaskRef, request: SettleRequest): Promise<SettledRange> {
  const blockStart = request.block * request.blockSize + 1;
  // Every key that can hold an item of the range: the whole block's (offset 0) and each sub-batch's up to its last item.
  const offsets = Array.from({ length: request.toSeq - blockStart + 1 }, (_, offset) => offset);
  const sealed = request.seal === 'all' ? offsets : request.seal;
  const keys = (list: number[]) => list.map((offset) => blockTaskId(request.block, offset));
  await sql`
    INSERT INTO task_fences (workflow_id, environment, task_id, generation, attempt, worker)
    SELECT ${request.workflowId}, ${TASK_RUNTIME_ENVIRONMENT}, k.task_id, ${request.generation}, 0, ${SEAL_WORKER}
    FROM unnest(${keys(sealed)}::text[]) AS k(task_id)
    ON CONFLICT (workflow_id, environment, task_id) DO UPDATE
      SET generation = EXCLUDED.generation, attempt = 0, worker = EXCLUDED.worker, updated_at = clock_timestamp()
      WHERE (task_fences.generation, task_fences.attempt) < (EXCLUDED.generation, 0)`.execute(db);
  const { rows: open } = await sql<{ seq: number }>`
    WITH done AS (
      SELECT k.off + e.item + ${blockStart}::integer AS seq
      FROM unnest(${keys(offsets)}::text[], ${offsets}::integer[]) AS k(task_id, off)
      JOIN effects e ON e.workflow_id = ${request.workflowId} AND e.environment = ${TASK_RUNTIME_ENVIRONMENT} AND e.task_id = k.task_id
    )
    SELECT s.seq FROM generate_series(${request.fromSeq}::integer, ${request.toSeq}::integer) AS s(seq)
    WHERE s.seq NOT IN (SELECT seq FROM done)
      AND NOT EXISTS (SELECT 1 FROM task_runtime_dead_letters d WHERE d.tenant_id = ${task.tenantId} AND d.task_id = ${task.taskId} AND d.seq = s.seq)
    ORDER BY s.seq`.execute(db);
  if (request.deadLetter && open.length > 0) {
    await sql`
      INSERT INTO task_runtime_dead_letters (tenant_id, task_id, seq, item_key, block, workflow_id, attempts, error)
      SELECT ${task.tenantId}, ${task.taskId}, s.seq, coalesce(i.item_key, 'item-' || s.seq), ${request.block}, ${request.workflowId},
             ${request.deadLetter.attempts}, ${request.deadLetter.error.slice(0, 2000)}
      FROM unnest(${open.map((row) => row.seq)}::integer[]) AS s(seq)
      LEFT JOIN task_runtime_items i ON i.tenant_id = ${task.tenantId} AND i.task_id = ${task.taskId} AND i.seq = s.seq
      -- A newer session (a resume after a termination) moved a fence past this settle's: its answer is stale.
      WHERE NOT EXISTS (
        SELECT 1 FROM task_fences f
        WHERE f.workflow_id = ${request.workflowId} AND f.environment = ${TASK_RUNTIME_ENVIRONMENT}
          AND f.task_id = ANY(${keys(sealed)}::text[]) AND (f.generation, f.attempt) > (${request.generation}::integer, 0))
      ON CONFLICT (tenant_id, task_id, seq) DO NOTHING`.execute(db);
  }
  const { rows: letters } = await sql<{ seq: number }>`
    SELECT seq FROM task_runtime_dead_letters
    WHERE tenant_id = ${task.tenantId} AND task_id = ${task.taskId} AND seq BETWEEN ${request.fromSeq} AND ${request.toSeq}
    ORDER BY seq`.execute(db);
  const dead = new Set(letters.map((row) => row.seq));
  return { open: open.map((row) => row.seq).filter((seq) => !dead.has(seq)), deadLettered: [...dead] };
}

/**
 * Blocks of a runtime from `fromBlock` on that hold a fence under any of their keys (`block-<n>` or a sub-batch's
 * `block-<n>+<offset>`): an attempt or a settle reached them. A session resumed from the database settles these instead
 * of running them whole, because a terminated run may have split one of them: the settle moved `block-<n>`'s fence
 * before scheduling any sub-batch, so that fence is there even when no sub-batch has claimed its own yet, and settling
 * moves the fence of every key of the block, so an attempt of the terminated run that claims or writes later is refused.
 */
export async function fencedBlocksOf(db: Db, workflowId: string, fromBlock: number): Promise<number[]> {
  const { rows } = await sql<{ block: number }>`
    SELECT DISTINCT substring(task_id from '^block-([0-9]+)')::integer AS block FROM task_fences
    WHERE workflow_id = ${workflowId} AND environment = ${TASK_RUNTIME_ENVIRONMENT} AND task_id LIKE 'block-%'`.execute(db);
  return rows.map((row) => row.block).filter((block) => block >= fromBlock).sort((a, b) => a - b);
}

export interface DeadLetter {
  seq: number;
  key: string;
  block: number;
  attempts: number;
  error: string;
  at: Date;
}

/** The task's dead letters in item order, `limit` at most. */
export async function listDeadLetters(db: Db, task: TaskRef, limit = 1000): Promise<DeadLetter[]> {
  const rows = await db
    .selectFrom('task_runtime_dead_letters')
    .selectAll()
    .where('tenant_id', '=', task.tenantId)
    .where('task_id', '=', task.taskId)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ seq: row.seq, key: row.item_key, block: row.block, attempts: row.attempts, error: row.error, at: row.created_at }));
}
