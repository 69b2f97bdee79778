/**
 * The writes every kind of run shares: its row in `runs` (and its tenant), its result, and its
 * entries in the append-only audit log. Each is idempotent, so a retried activity writes once.
 */
import type { Db } from '../../shared/node/db';

/** A value as the text of a JSON column (`undefined` is stored as `null`). */
export const toJson = (value: unknown): string => JSON.stringify(value ?? null);

export interface AuditEntry {
  workflowId: string;
  tenantId: string;
  /** Unique per workflow: built by the workflow from a deterministic sequence number. */
  auditKey: string;
  event: string;
  detail: unknown;
  /** The Temporal run and workflow task that made the entry (workflows/common/audit-trail.ts); absent outside a workflow. */
  workflowRunId?: string;
  historyEventId?: number;
}

/** Appends entries; one already recorded (same workflow and key) is left as it is. Returns the keys written. */
export async function appendAudit(db: Db, entries: AuditEntry | AuditEntry[]): Promise<{ workflow_id: string; event_key: string }[]> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return [];
  return db
    .insertInto('audit_log')
    .values(
      list.map((entry) => ({
        workflow_id: entry.workflowId,
        tenant_id: entry.tenantId,
        event_key: entry.auditKey,
        event: entry.event,
        detail: toJson(entry.detail),
        workflow_run_id: entry.workflowRunId ?? null,
        history_event_id: entry.historyEventId ?? null,
      })),
    )
    .onConflict((oc) => oc.columns(['workflow_id', 'event_key']).doNothing())
    .returning(['workflow_id', 'event_key'])
    .execute();
}

export interface RunRow {
  workflowId: string;
  tenantId: string;
  runId: string;
  kind: string;
  requestedBy: string;
  input: unknown;
}

/** Records the tenant (once) and the run (once), with status `running`. */
export async function insertRun(db: Db, run: RunRow): Promise<void> {
  await db.insertInto('tenants').values({ id: run.tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
  await db
    .insertInto('runs')
    .values({
      workflow_id: run.workflowId,
      tenant_id: run.tenantId,
      run_id: run.runId,
      kind: run.kind,
      requested_by: run.requestedBy,
      status: 'running',
      input: toJson(run.input),
      result: null,
    })
    .onConflict((oc) => oc.column('workflow_id').doNothing())
    .execute();
}

export async function finishRun(db: Db, workflowId: string, status: string, result: unknown): Promise<void> {
  await db
    .updateTable('runs')
    .set({ status, result: toJson(result), updated_at: new Date() })
    .where('workflow_id', '=', workflowId)
    .execute();
}
