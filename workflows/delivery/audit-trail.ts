import { workflowInfo } from '@temporalio/workflow';

/**
 * Numbers a workflow's audit entries. The sequence is part of workflow state, so a replay or a
 * retried activity produces the same key and the database writes each entry once.
 */
export class AuditTrail {
  private seq = 0;

  constructor(readonly tenantId: string) {}

  next(event: string): { workflowId: string; tenantId: string; auditKey: string; event: string } {
    this.seq += 1;
    return {
      workflowId: workflowInfo().workflowId,
      tenantId: this.tenantId,
      auditKey: `${String(this.seq).padStart(5, '0')}:${event}`,
      event,
    };
  }
}
