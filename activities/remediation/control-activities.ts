import type { Db } from '../../shared/node/db';
import type { AuditRecord } from '../common/audit-activities';
import { appendAudit, finishRun, insertRun } from '../common/run-records';

/** A remediation's row in `runs` (kind `remediation`) and its `run.started` entry. */
export interface RemediationStartedRecord extends AuditRecord {
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
        await insertRun(trx, { ...record, kind: 'remediation' });
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
