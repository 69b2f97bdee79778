import type { Db } from '../../shared/node/db';

/**
 * Control-plane activities of a delivery run: everything it writes to PostgreSQL. Each write is
 * idempotent (a unique key from the workflow), so a retried attempt writes nothing twice.
 */
export interface RunStartedRecord {
  workflowId: string;
  tenantId: string;
  runId: string;
  kind: string;
  requestedBy: string;
  input: unknown;
  auditKey: string;
}

export interface AuditRecord {
  workflowId: string;
  tenantId: string;
  /** Unique per workflow: built by the workflow from a deterministic sequence number. */
  auditKey: string;
  event: string;
  detail: Record<string, unknown>;
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

export interface ApprovalDecisionRecord extends AuditRecord {
  gate: string;
  seq: number;
  approver: string;
  decision: string;
  comment?: string;
  counted: boolean;
  reason?: string;
  via: string;
}

export interface RunFinishedRecord extends AuditRecord {
  status: string;
  result: unknown;
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

export function createDeliveryControlActivities(db: Db) {
  const appendAudit = (trx: Db, record: AuditRecord) =>
    trx
      .insertInto('audit_log')
      .values({
        workflow_id: record.workflowId,
        tenant_id: record.tenantId,
        event_key: record.auditKey,
        event: record.event,
        detail: json(record.detail),
      })
      .onConflict((oc) => oc.columns(['workflow_id', 'event_key']).doNothing())
      .execute();

  return {
    async recordRunStarted(record: RunStartedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('tenants').values({ id: record.tenantId }).onConflict((oc) => oc.column('id').doNothing()).execute();
        await trx
          .insertInto('runs')
          .values({
            workflow_id: record.workflowId,
            tenant_id: record.tenantId,
            run_id: record.runId,
            kind: record.kind,
            requested_by: record.requestedBy,
            status: 'running',
            input: json(record.input),
            result: null,
          })
          .onConflict((oc) => oc.column('workflow_id').doNothing())
          .execute();
        await appendAudit(trx, {
          workflowId: record.workflowId,
          tenantId: record.tenantId,
          auditKey: record.auditKey,
          event: 'run.started',
          detail: { runId: record.runId, kind: record.kind, requestedBy: record.requestedBy },
        });
      });
    },

    async recordAudit(record: AuditRecord): Promise<void> {
      await appendAudit(db, record);
    },

    async recordTaskEvent(record: TaskEventRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const row = {
          state: record.state,
          worker: record.worker ?? null,
          attempt: record.attempt ?? null,
          output: record.output === undefined ? null : json(record.output),
          error: record.error ?? null,
        };
        await trx
          .insertInto('tasks')
          .values({
            workflow_id: record.workflowId,
            environment: record.environment,
            task_id: record.taskId,
            capability: record.capability,
            ...row,
          })
          .onConflict((oc) =>
            oc.columns(['workflow_id', 'environment', 'task_id']).doUpdateSet({ ...row, updated_at: new Date() }),
          )
          .execute();
        await appendAudit(trx, record);
      });
    },

    async recordApprovalDecision(record: ApprovalDecisionRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('approvals')
          .values({
            workflow_id: record.workflowId,
            gate: record.gate,
            seq: record.seq,
            approver: record.approver,
            decision: record.decision,
            comment: record.comment ?? null,
            counted: record.counted,
            reason: record.reason ?? null,
            via: record.via,
          })
          .onConflict((oc) => oc.columns(['workflow_id', 'gate', 'seq']).doNothing())
          .execute();
        await appendAudit(trx, record);
      });
    },

    async recordRunFinished(record: RunFinishedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('runs')
          .set({ status: record.status, result: json(record.result), updated_at: new Date() })
          .where('workflow_id', '=', record.workflowId)
          .execute();
        await appendAudit(trx, record);
      });
    },
  };
}

export type DeliveryControlActivities = ReturnType<typeof createDeliveryControlActivities>;
