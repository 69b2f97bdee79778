/** The typed client API for metrics and their anomaly monitors; `ados metrics` is a thin layer over it. */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  anomalyMonitorStatusQuery,
  METRIC_NAME_RULE,
  metricNameSchema,
  stopMonitorSignal,
  validateAnomalyMonitorInput,
  type AnomalyMonitorInput,
  type AnomalyMonitorStatus,
} from '../shared/contract/anomaly/monitor';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError } from '../shared/contract/validation';
import { anomalyMonitorWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import { messageFailure, RunNotFoundError } from './common/run-errors';

export interface StartedMonitor {
  workflowId: string;
  runId: string;
  webUrl: string;
  /** The monitor was running already: nothing was started (starting is idempotent). */
  alreadyRunning: boolean;
}

/** A metric name from `--metric`, or a usage error naming the flag and the rule. */
export function checkedMetric(name: string): string {
  const parsed = metricNameSchema.safeParse(name);
  if (!parsed.success) throw new InputValidationError('option', [{ path: '--metric', message: `${METRIC_NAME_RULE} (got "${name}")` }]);
  return parsed.data;
}

/** A request made ready to start: validated, every issue naming its field (InputValidationError). */
export function prepareAnomalyMonitor(raw: unknown): AnomalyMonitorInput {
  const checked = validateAnomalyMonitorInput(raw);
  if (!checked.ok) throw new InputValidationError('anomaly monitor', checked.issues);
  return checked.value;
}

/**
 * Starts `anomalyMonitor` with ID `anomaly-monitor-<tenant>-<metric>`, its search attributes and its summary. A monitor
 * of the metric already running is left as it is and answered (idempotent start).
 */
export async function startAnomalyMonitor(client: Client, config: AdosConfig, input: AnomalyMonitorInput): Promise<StartedMonitor> {
  const workflowId = anomalyMonitorWorkflowId(input.tenantId, input.metric);
  const webUrl = webUiWorkflowUrl(config, workflowId);
  const source = input.source.kind === 'scrape' ? `${input.source.series} scraped from ${input.source.url}` : 'its ingested samples';
  try {
    const handle = await client.workflow.start('anomalyMonitor', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [input],
      staticSummary: `${input.tenantId}: watch ${input.metric} (${source}) every ${input.interval}`,
      staticDetails: `Requested by ${input.requestedBy}. Unknown anomalies lasting ${input.persistThreshold} start a handler pipeline${input.approvers.length > 0 ? ` (approvers ${input.approvers.join(', ')})` : ' (no approvers given: none starts)'}; a signature seen more than ${input.novelAfter} times in ${input.novelWindow} is investigated.`,
      typedSearchAttributes: [
        { key: AdosTenant, value: input.tenantId },
        { key: AdosKind, value: 'anomaly-monitor' },
        { key: AdosStage, value: 'starting' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl, alreadyRunning: false };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const description = await client.workflow.getHandle(workflowId).describe();
    return { workflowId, runId: description.runId, webUrl, alreadyRunning: true };
  }
}

/** Where a monitor stands: Temporal's status of its latest run and, when it answers, its status query. */
export interface MonitorStatus {
  workflowId: string;
  execution: string;
  status?: AnomalyMonitorStatus;
}

export async function getMonitorStatus(client: Client, workflowId: string): Promise<MonitorStatus> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const execution = (await handle.describe()).status.name;
    if (execution === 'COMPLETED') return { workflowId, execution, status: (await handle.result()) as AnomalyMonitorStatus };
    if (execution !== 'RUNNING') return { workflowId, execution };
    return { workflowId, execution, status: await handle.query(anomalyMonitorStatusQuery) };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

/** Asks a running monitor to stop after its current interval; a closed one is refused with its status (exit 4). */
export async function stopAnomalyMonitor(client: Client, workflowId: string, by: string, reason?: string): Promise<void> {
  try {
    await client.workflow.getHandle(workflowId).signal(stopMonitorSignal, { by, ...(reason ? { reason } : {}) });
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}
