import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import { tenantOfWorkflowId } from '../../contract/workflow-tenant';

/** The fields every log line written for an activity or a workflow carries (README, "Observe"). */
export interface RunLogFields {
  workflowId: string;
  runId?: string;
  tenant?: string;
  activityType?: string;
}

/**
 * The run fields of a Temporal Runtime log entry's meta: workflow lines carry workflowId and runId, activity lines
 * (the SDK's activity logger) workflowId, workflowRunId and activityType. Adds the tenant; empty for SDK lines.
 */
export function runLogFieldsOf(meta: Record<string, unknown> | undefined): Partial<RunLogFields> {
  const workflowId = typeof meta?.workflowId === 'string' ? meta.workflowId : undefined;
  if (!workflowId) return {};
  const runId = meta?.runId ?? meta?.workflowRunId;
  const tenant = tenantOfWorkflowId(workflowId);
  return {
    workflowId,
    ...(typeof runId === 'string' ? { runId } : {}),
    ...(tenant ? { tenant } : {}),
    ...(typeof meta?.activityType === 'string' ? { activityType: meta.activityType } : {}),
  };
}

/** The activity an async call chain runs for; the activity interceptor (workers/metrics-interceptor.ts) sets it. */
export const activityLogContext = new AsyncLocalStorage<RunLogFields>();

/**
 * pino's `mixin` (shared/node/logger.ts): the running activity's fields on every line logged inside it, whichever
 * logger the activity code holds. Fields a child logger already binds are left to it, so no line repeats a key.
 */
export function activityLogMixin(_merge: object, _level: number, logger: Logger): Record<string, unknown> {
  const fields = activityLogContext.getStore();
  if (!fields) return {};
  const bound = logger.bindings();
  return Object.fromEntries(Object.entries(fields).filter(([key, value]) => value !== undefined && !(key in bound)));
}
