import type { ApproverKey } from '../../shared/contract/approval';
import { activeKeys } from '../../shared/node/approvals/keys';
import type { Db } from '../../shared/node/db';
import { appendAudit, type AuditEntry } from './run-records';

/** One audit entry as a workflow sends it: its key is numbered by the workflow (workflows/common/audit-trail.ts). */
export interface AuditRecord extends AuditEntry {
  detail: Record<string, unknown>;
}

/** One decision at an approval gate, counted or not, and its audit entry. */
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

/**
 * The control activities every kind of run uses: plain audit entries, approval-gate decisions and the approvers'
 * keys. The writes are idempotent on the
 * workflow's keys (audit key; gate + sequence number), so a retried attempt writes nothing twice.
 */
export function createAuditActivities(db: Db) {
  return {
    async recordAudit(record: AuditRecord): Promise<void> {
      await appendAudit(db, record);
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

    /** The registered, unrevoked public keys of a gate's approvers in the run's tenant (read-only). */
    async loadApproverKeys(input: { tenantId: string; approvers: string[] }): Promise<ApproverKey[]> {
      return activeKeys(db, input.tenantId, input.approvers);
    },
  };
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
