import { createHash } from 'node:crypto';
import type { ApprovalSubject } from '../../shared/contract/approval';
import { canonicalJson } from '../../shared/contract/canonical';
import type { Db } from '../../shared/node/db';
import type { AuditRecord } from '../common/audit-activities';
import { appendAudit, finishRun, insertRun, toJson, type AuditEntry, type RunRow } from '../common/run-records';

/** A delivery run's row in `runs` and its `run.started` audit entry. */
export interface RunStartedRecord extends RunRow, Pick<AuditEntry, 'workflowRunId' | 'historyEventId'> {
  auditKey: string;
}

export interface TaskEventRecord extends AuditRecord {
  environment: string;
  taskId: string;
  capability: string;
  state: string;
  worker?: string;
  attempt?: number;
  output?: unknown;
  error?: string;
}

/** One entry of recordEvents: a task event (tasks row + audit entry) or a plain audit entry. */
export type BatchedEvent = (TaskEventRecord & { kind: 'task' }) | (AuditRecord & { kind: 'audit' });

export interface RunFinishedRecord extends AuditRecord {
  status: string;
  result: unknown;
  /** Entries of the run still unwritten, recorded before the end. */
  events: BatchedEvent[];
}

/**
 * Writes task events and audit entries in order, in two statements. Idempotent: an entry whose audit key is already
 * recorded changes nothing, so a retried or late attempt never moves a task row back to an older state; of the new
 * entries, each task row takes the last state in the batch.
 */
async function writeEvents(trx: Db, events: BatchedEvent[]): Promise<{ inserted: number }> {
  const inserted = await appendAudit(trx, events);
  const fresh = new Set(inserted.map((row) => `${row.workflow_id}\u0000${row.event_key}`));
  const latest = new Map<string, TaskEventRecord>();
  for (const event of events) {
    if (event.kind !== 'task' || !fresh.has(`${event.workflowId}\u0000${event.auditKey}`)) continue;
    latest.set(`${event.workflowId}\u0000${event.environment}\u0000${event.taskId}`, event);
  }
  if (latest.size > 0) {
    await trx
      .insertInto('tasks')
      .values(
        [...latest.values()].map((record) => ({
          workflow_id: record.workflowId,
          environment: record.environment,
          task_id: record.taskId,
          capability: record.capability,
          state: record.state,
          worker: record.worker ?? null,
          attempt: record.attempt ?? null,
          output: record.output === undefined ? null : toJson(record.output),
          error: record.error ?? null,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['workflow_id', 'environment', 'task_id']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          worker: eb.ref('excluded.worker'),
          attempt: eb.ref('excluded.attempt'),
          output: eb.ref('excluded.output'),
          error: eb.ref('excluded.error'),
          updated_at: new Date(),
        })),
      )
      .execute();
  }
  return { inserted: inserted.length };
}

/**
 * Control-plane activities of a delivery run: what it writes to PostgreSQL besides the audit and approval entries
 * every kind shares (activities/common/audit-activities.ts). Each write is idempotent (a unique key from the
 * workflow), so a retried attempt writes nothing twice.
 */
export function createDeliveryControlActivities(db: Db) {
  return {
    async recordRunStarted(record: RunStartedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await insertRun(trx, record);
        await appendAudit(trx, {
          workflowId: record.workflowId,
          tenantId: record.tenantId,
          auditKey: record.auditKey,
          event: 'run.started',
          detail: { runId: record.runId, kind: record.kind, requestedBy: record.requestedBy },
          workflowRunId: record.workflowRunId,
          historyEventId: record.historyEventId,
        });
      });
    },

    /**
     * A batch of task events and audit entries, in order, in one transaction and two statements (the delivery run
     * sends them while its tasks run, so that auditing is off the tasks' critical path). Idempotent: see writeEvents.
     */
    async recordEvents(events: BatchedEvent[]): Promise<{ inserted: number }> {
      if (events.length === 0) return { inserted: 0 };
      return db.transaction().execute((trx) => writeEvents(trx, events));
    },

    /** The run's end, after the entries it had not written yet (`events`, as recordEvents writes them), in one transaction. */
    /**
     * What the prod gate asks to approve: the plan as validated and the artifacts released so far by this run, per
     * environment (the latest release of each), read now. The gate takes it when it opens and again before it lets
     * prod run: a release that changed in between voids the approvals given for the old one.
     */
    async deliveryApprovalSubject(input: { workflowId: string; gate: string; target: string; plan: unknown }): Promise<ApprovalSubject> {
      const rows = await db
        .selectFrom('releases')
        .select(['environment', 'artifact', 'artifact_sha256'])
        .where('workflow_id', '=', input.workflowId)
        .orderBy('id')
        .execute();
      const artifacts: Record<string, string> = {};
      for (const row of rows) artifacts[`${row.environment}/${row.artifact}`] = row.artifact_sha256;
      return {
        kind: 'delivery',
        workflowId: input.workflowId,
        gate: input.gate,
        target: input.target,
        planSha256: createHash('sha256').update(canonicalJson(input.plan)).digest('hex'),
        artifacts,
      };
    },

    async recordRunFinished({ events, ...record }: RunFinishedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (events.length > 0) await writeEvents(trx, events);
        await finishRun(trx, record.workflowId, record.status, record.result);
        await appendAudit(trx, record);
      });
    },
  };
}

export type DeliveryControlActivities = ReturnType<typeof createDeliveryControlActivities>;
