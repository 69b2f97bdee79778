/**
 * What the checkpointed `batch` tasks of some runs wrote, for the chaos tool and the failover benchmark. A duplicate
 * effect row cannot exist (the `effects_once` unique constraint), so what is counted instead is what can go wrong or
 * says how much was redone: items missing from finished tasks, writes of items already written (skipped by the
 * constraint: INSERT … ON CONFLICT DO NOTHING, recorded per attempt as task_attempts.redone) and writes the fence
 * refused (fenced_writes). Tables from migration 0003_effects; the accounting is activities/effects.ts's.
 */
import { sql } from 'kysely';
import type { Db } from '../../shared/node/db';

export interface EffectsAccount {
  /** Succeeded batch tasks. */
  batchTasksFinished: number;
  /** Items a succeeded batch task reports that have no effect row (a task with none at all included). */
  missingEffects: number;
  /** Batch attempts recorded, how many ended with an error, how many never ended (killed). */
  attempts: number;
  attemptsFailed: number;
  attemptsOpen: number;
  /** Item writes skipped by the unique constraint because an earlier attempt had written them (sum of redone). */
  duplicateWritesRefused: number;
  /** The most one attempt redid. */
  maxRedoneByOneAttempt: number;
  /** Writes the fence refused (fenced_writes rows: claims, effects, checkpoints), and the effect items they carried. */
  fencedWrites: number;
  fencedItems: number;
}

export async function effectsAccount(db: Db, workflowIds: readonly string[]): Promise<EffectsAccount> {
  if (workflowIds.length === 0) {
    return { batchTasksFinished: 0, missingEffects: 0, attempts: 0, attemptsFailed: 0, attemptsOpen: 0, duplicateWritesRefused: 0, maxRedoneByOneAttempt: 0, fencedWrites: 0, fencedItems: 0 };
  }
  const ids = [...workflowIds];
  const missing = await sql<{ tasks: string; missing: string }>`
    SELECT count(*) AS tasks, coalesce(sum((t.output->>'items')::int - coalesce(e.n, 0)), 0) AS missing
    FROM tasks t
    LEFT JOIN (SELECT workflow_id, environment, task_id, count(*) AS n FROM effects GROUP BY 1, 2, 3) e
      ON e.workflow_id = t.workflow_id AND e.environment = t.environment AND e.task_id = t.task_id
    WHERE t.capability = 'batch' AND t.state = 'succeeded' AND t.workflow_id IN (${sql.join(ids)})`.execute(db);
  const attempts = await db.selectFrom('task_attempts').select(['redone', 'outcome']).where('workflow_id', 'in', ids).execute();
  // Claims and checkpoints carry no items (0), so the sum is the effect items refused.
  const fenced = await db
    .selectFrom('fenced_writes')
    .select((eb) => [eb.fn.countAll<string>().as('writes'), eb.fn.coalesce(eb.fn.sum<string>('items'), sql<string>`0`).as('items')])
    .where('workflow_id', 'in', ids)
    .executeTakeFirstOrThrow();
  return {
    batchTasksFinished: Number(missing.rows[0].tasks),
    missingEffects: Number(missing.rows[0].missing),
    attempts: attempts.length,
    attemptsFailed: attempts.filter((a) => a.outcome === 'failed').length,
    attemptsOpen: attempts.filter((a) => a.outcome === null).length,
    duplicateWritesRefused: attempts.reduce((sum, a) => sum + a.redone, 0),
    maxRedoneByOneAttempt: Math.max(0, ...attempts.map((a) => a.redone)),
    fencedWrites: Number(fenced.writes),
    fencedItems: Number(fenced.items),
  };
}
