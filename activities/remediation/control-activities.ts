import type { Db } from '../../shared/node/db';
import type { AuditRecord } from '../common/audit-activities';
import { appendAudit, finishRun, insertRun } from '../common/run-records';

/** A remediation's (or a health watch's) row in `runs` and its first audit entry. */
export interface RemediationStartedRecord extends AuditRecord {
  /** `remediation` (the default) or `health-watch`. */
  kind?: 'remediation' | 'health-watch';
  runId: string;
  requestedBy: string;
  input: unknown;
}

/** The run's end: its status and result, and its `run.finished` entry. */
export interface RemediationFinishedRecord extends AuditRecord {
  status: string;
  result: unknown;
}

/** The control activities of remediation runs: their row in `runs`, idempotent like every run's (run-records.ts). */
export function createRemediationControlActivities(db: Db) {
  return {
    async recordRemediationStarted(record: RemediationStartedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await insertRun(trx, { ...record, kind: record.kind ?? 'remediation' });
        // A health watch started again under its ID runs again.
        if (record.kind === 'health-watch') await trx.updateTable('runs').set({ status: 'running', updated_at: new Date() }).where('workflow_id', '=', record.workflowId).execute();
        await appendAudit(trx, record);
      });
    },

    async recordRemediationFinished(record: RemediationFinishedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await finishRun(trx, record.workflowId, record.status, record.result);
        await appendAudit(trx, record);
      });
    },
  };
}

export type RemediationControlActivities = ReturnType<typeof createRemediationControlActivities>;
