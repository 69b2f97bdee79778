/** A run's audit trail from the client's side (README, "Audit"): the rows of `audit_log`, tenant-scoped, each linked. */
import { tenantAuditId } from '../shared/contract/tenancy/profile';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { Db } from '../shared/node/db';
import { TenantRefusedError } from '../shared/node/tenancy/admission';
import { RunNotFoundError } from './common/run-errors';
import { assertIdOfTenant } from './common/tenant-scope';

/** One audit entry as `ados audit` prints it. */
export interface AuditRow {
  /** When the database wrote it (ISO). */
  at: string;
  event: string;
  /** The workflow's key for the entry (`00012:approval.granted`): its place in the workflow's own numbering. */
  key: string;
  /** The Temporal run and the WorkflowTaskStarted event of the workflow task that made it (null: not made by a workflow). */
  workflowRunId: string | null;
  eventId: number | null;
  /** The Web UI page of that event (or of the workflow, when the entry has no event id). */
  link: string;
  detail: unknown;
}

/** The Web UI page of an event of a workflow run; the workflow's page when either is unknown. */
export function auditLink(config: Pick<AdosConfig, 'webUiUrl' | 'temporalNamespace'>, workflowId: string, workflowRunId: string | null, eventId: number | null): string {
  const workflow = webUiWorkflowUrl(config, workflowId);
  return workflowRunId && eventId !== null ? `${workflow}/${encodeURIComponent(workflowRunId)}/history/events/${eventId}` : workflow;
}

/** Refuses (TenantRefusedError, exit 6) a workflow ID that is neither a run of `tenantId` nor its own trail; needs no server. */
export function assertAuditScope(workflowId: string, tenantId: string): void {
  if (workflowId !== tenantAuditId(tenantId)) assertIdOfTenant(workflowId, tenantId);
}

/**
 * The audit trail of one workflow of `tenantId`, oldest first: a run (`delivery-<tenant>-…`, `extraction-<tenant>-…`)
 * or the tenant's own trail (`tenant-<tenant>`). Refused (TenantRefusedError, exit 6) when the ID names another
 * tenant, before anything is read, or when the rows were written for another tenant; no rows is RunNotFoundError.
 */
export async function auditTrail(db: Db, config: Pick<AdosConfig, 'webUiUrl' | 'temporalNamespace'>, workflowId: string, tenantId: string): Promise<AuditRow[]> {
  assertAuditScope(workflowId, tenantId);
  const rows = await db.selectFrom('audit_log').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
  if (rows.length === 0) throw new RunNotFoundError(workflowId);
  const foreign = rows.find((row) => row.tenant_id !== tenantId);
  if (foreign) throw new TenantRefusedError(`the audit trail of ${workflowId} belongs to tenant ${foreign.tenant_id}, not to ${tenantId}; refused`);
  return rows.map((row) => {
    const eventId = row.history_event_id === null ? null : Number(row.history_event_id);
    return {
      at: row.created_at.toISOString(),
      event: row.event,
      key: row.event_key,
      workflowRunId: row.workflow_run_id,
      eventId,
      link: auditLink(config, workflowId, row.workflow_run_id, eventId),
      detail: row.detail,
    };
  });
}

/** The trail as text: one line per entry (time, event, event id, the detail's gist), then its link. */
export function formatAuditTrail(workflowId: string, rows: readonly AuditRow[]): string {
  const lines = [`audit trail of ${workflowId} (${rows.length} entr${rows.length === 1 ? 'y' : 'ies'})`];
  for (const row of rows) {
    lines.push(`${row.at}  ${row.event.padEnd(22)} event ${row.eventId ?? '-'}  ${gist(row.detail)}`, `  ${row.link}`);
  }
  return lines.join('\n');
}

/** The detail on one line, cut at 160 characters. */
function gist(detail: unknown): string {
  const text = JSON.stringify(detail) ?? '';
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}
