/**
 * Readable workflow IDs (`delivery-<tenant>-<run>`), so that the Web UI and the CLI work with IDs a
 * person can type. The ID is also the idempotency key of a run: Temporal refuses a second running
 * workflow with the same ID. Tenant IDs carry no dash, which keeps every ID parseable.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_]{0,62}$/;
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function deliveryWorkflowId(tenantId: string, runId: string): string {
  return `delivery-${tenantId}-${runId}`;
}

export interface DeliveryWorkflowIdParts {
  tenantId: string;
  runId: string;
}

export function parseDeliveryWorkflowId(workflowId: string): DeliveryWorkflowIdParts | undefined {
  const match = /^delivery-([^-]+)-(.+)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, runId] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !RUN_ID_PATTERN.test(runId)) return undefined;
  return { tenantId, runId };
}

/** A tenant's gate (its durable semaphore and rate limits): `tenant-gate-<tenant>`, one per tenant. */
export function tenantGateWorkflowId(tenantId: string): string {
  return `tenant-gate-${tenantId}`;
}

/** Schema extraction runs: `extraction-<tenant>-<set>-<hash8>`, hash8 from the set's canonical content. */
export const EXTRACTION_SET_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function extractionWorkflowId(tenantId: string, setName: string, hash8: string): string {
  return `extraction-${tenantId}-${setName}-${hash8}`;
}

export interface ExtractionWorkflowIdParts {
  tenantId: string;
  setName: string;
  hash8: string;
}

export function parseExtractionWorkflowId(workflowId: string): ExtractionWorkflowIdParts | undefined {
  const match = /^extraction-([^-]+)-(.+)-([0-9a-f]{8})$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, setName, hash8] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !EXTRACTION_SET_PATTERN.test(setName)) return undefined;
  return { tenantId, setName, hash8 };
}

/** Remediation runs: `remediation-<tenant>-<service>-<ts>`, ts the incident's opening time in UTC (`20300101T120000123Z`). */
export const REMEDIATION_TS_PATTERN = /^\d{8}T\d{9}Z$/;

/** The `<ts>` of a remediation ID from an ISO-8601 time (to the millisecond). */
export function remediationTimestamp(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:.]/g, '');
}

export function remediationWorkflowId(tenantId: string, service: string, openedAt: string): string {
  return `remediation-${tenantId}-${service}-${remediationTimestamp(openedAt)}`;
}

export interface RemediationWorkflowIdParts {
  tenantId: string;
  service: string;
  ts: string;
}

export function parseRemediationWorkflowId(workflowId: string): RemediationWorkflowIdParts | undefined {
  const match = /^remediation-([^-]+)-(.+)-(\d{8}T\d{9}Z)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, service, ts] = match;
  if (!TENANT_ID_PATTERN.test(tenantId)) return undefined;
  return { tenantId, service, ts };
}

/** Health watches: `health-watch-<tenant>-<service>-<env>`, one per service and environment; its chain keeps the ID. */
export function healthWatchWorkflowId(tenantId: string, service: string, environment: string): string {
  return `health-watch-${tenantId}-${service}-${environment}`;
}

export function parseHealthWatchWorkflowId(workflowId: string): { tenantId: string; service: string; environment: string } | undefined {
  const match = /^health-watch-([^-]+)-(.+)-(dev|stage|prod)$/.exec(workflowId);
  if (!match || !TENANT_ID_PATTERN.test(match[1])) return undefined;
  return { tenantId: match[1], service: match[2], environment: match[3] };
}

/** Task runtimes: `runtime-<tenant>-<task>`, one per tenant and task; every run of its chain keeps the ID. */
export function taskRuntimeWorkflowId(tenantId: string, taskId: string): string {
  return `runtime-${tenantId}-${taskId}`;
}

export interface TaskRuntimeWorkflowIdParts {
  tenantId: string;
  taskId: string;
}

export function parseTaskRuntimeWorkflowId(workflowId: string): TaskRuntimeWorkflowIdParts | undefined {
  const match = /^runtime-([^-]+)-(.+)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, taskId] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !RUN_ID_PATTERN.test(taskId)) return undefined;
  return { tenantId, taskId };
}

/** A metric's name as `ados metrics ingest --metric` takes it (part of the anomaly workflows' IDs). */
export const METRIC_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Anomaly pipelines: `anomaly-<tenant>-<metric>-<start>`, start the anomaly's first sample in UTC, written like a
 * remediation's `<ts>` (`20140219T002200000Z`). One pipeline per anomaly: the monitor starting it twice is refused.
 */
export function anomalyPipelineWorkflowId(tenantId: string, metric: string, start: string): string {
  return `anomaly-${tenantId}-${metric}-${remediationTimestamp(start)}`;
}

export interface AnomalyPipelineWorkflowIdParts {
  tenantId: string;
  metric: string;
  start: string;
}

export function parseAnomalyPipelineWorkflowId(workflowId: string): AnomalyPipelineWorkflowIdParts | undefined {
  const match = /^anomaly-([^-]+)-(.+)-(\d{8}T\d{9}Z)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, metric, start] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !METRIC_NAME_PATTERN.test(metric)) return undefined;
  return { tenantId, metric, start };
}

/** Anomaly monitors: `anomaly-monitor-<tenant>-<metric>`, one per tenant and metric; every run of its chain keeps the ID. */
export function anomalyMonitorWorkflowId(tenantId: string, metric: string): string {
  return `anomaly-monitor-${tenantId}-${metric}`;
}

export function parseAnomalyMonitorWorkflowId(workflowId: string): { tenantId: string; metric: string } | undefined {
  const match = /^anomaly-monitor-([^-]+)-(.+)$/.exec(workflowId);
  if (!match) return undefined;
  const [, tenantId, metric] = match;
  if (!TENANT_ID_PATTERN.test(tenantId) || !METRIC_NAME_PATTERN.test(metric)) return undefined;
  return { tenantId, metric };
}

/** The investigator of a novel anomaly: `anomaly-investigation-<anomaly ID without "anomaly-">`, one per anomaly. */
export function anomalyInvestigationWorkflowId(anomalyId: string): string {
  return `anomaly-investigation-${anomalyId.replace(/^anomaly-/, '')}`;
}

/** What a transfer-learning schedule names its action's workflow: Temporal appends `-<scheduled time>` (RFC 3339, UTC). */
export const TRANSFER_CYCLE_ID_PREFIX = 'learning-transfer';

/** Transfer-learning cycles: `learning-transfer-<scheduled time>`, e.g. `learning-transfer-2030-01-01T12:00:00Z`. */
export function transferCycleWorkflowId(scheduledAt: string | Date): string {
  return `${TRANSFER_CYCLE_ID_PREFIX}-${new Date(scheduledAt).toISOString().replace(/\.000Z$/, 'Z')}`;
}

/** The scheduled time (ISO-8601) of a cycle's ID, or undefined for an ID of another shape. */
export function parseTransferCycleWorkflowId(workflowId: string): string | undefined {
  const match = /^learning-transfer-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))$/.exec(workflowId);
  if (!match) return undefined;
  const at = new Date(match[1]);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}
