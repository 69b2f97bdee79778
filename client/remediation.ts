/** The typed client API for remediation runs (README, "Remediation"); `ados incident` is a thin layer over it. */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  remediationStatusQuery,
  remediationSummary,
  validateRemediationInput,
  type Remediation,
  type RemediationResult,
  type RemediationStatus,
} from '../shared/contract/remediation/input';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError } from '../shared/contract/validation';
import {
  healthWatchStatusQuery,
  stopHealthWatchSignal,
  validateHealthWatchInput,
  type HealthWatchStatus,
} from '../shared/contract/remediation/health-watch';
import { healthWatchWorkflowId, remediationWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { healthWatch, remediationRun } from '../workflows/remediation';
import { RunNotFoundError } from './common/run-errors';

/** A remediation just started: its workflow ID, first run ID and Web UI link. */
export interface StartedRemediation {
  workflowId: string;
  runId: string;
  webUrl: string;
}

/**
 * Opens an incident: validates it (refused before anything starts, naming the field), then starts its remediationRun
 * (`remediation-<tenant>-<service>-<ts>`) with its search attributes and summary. `openedAt` defaults to now.
 */
export async function openIncident(client: Client, config: AdosConfig, raw: Record<string, unknown>): Promise<StartedRemediation> {
  const checked = validateRemediationInput({ openedAt: new Date().toISOString(), ...raw });
  if (!checked.ok) throw new InputValidationError('incident', checked.issues);
  const incident = checked.value;
  const workflowId = remediationWorkflowId(incident.tenantId, incident.service, incident.openedAt);
  try {
    const handle = await client.workflow.start<typeof remediationRun>('remediationRun', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [incident],
      ...remediationSummary(incident),
      typedSearchAttributes: [
        { key: AdosTenant, value: incident.tenantId },
        { key: AdosKind, value: 'remediation' },
        { key: AdosStage, value: 'proposing' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl: webUiWorkflowUrl(config, workflowId) };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new InputValidationError('incident', [{ path: 'openedAt', message: `${workflowId} already exists: an incident of this service opened at this very time; open it again` }]);
    }
    throw error;
  }
}

export async function getRemediationStatus(client: Client, workflowId: string): Promise<RemediationStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(remediationStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

export async function getRemediationResult(client: Client, workflowId: string): Promise<RemediationResult> {
  try {
    return await client.workflow.getHandle<typeof remediationRun>(workflowId).result();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

/** One line per gate block and the outcome, for people. */
export function formatRemediation(result: RemediationResult): string {
  const lines = [`${result.workflowId}: ${result.outcome} (proposed ${result.proposed}, performed ${result.performed})${result.reason ? `: ${result.reason}` : ''}`];
  for (const block of result.blocks) lines.push(`  blocked by ${block.gate}: ${block.reason}`);
  if (result.effect?.pid) lines.push(`  pid ${result.effect.previousPid ?? '-'} → ${result.effect.pid}${result.effect.url ? ` on ${result.effect.url}` : ''}`);
  if (result.effect?.replicas) lines.push(`  ${result.effect.replicas.length} processes: ${result.effect.replicas.map((r) => `pid ${r.pid} on :${r.privatePort}`).join(', ')}`);
  return lines.join('\n');
}

/** A health watch started (or found already watching): its workflow ID and Web UI link. */
export interface StartedHealthWatch {
  workflowId: string;
  webUrl: string;
  alreadyWatching: boolean;
}

/**
 * Starts the health watch of a service in an environment (`health-watch-<tenant>-<service>-<env>`), validated first
 * (refused naming the field). A watch already running for it is left as it is and reported as such.
 */
export async function startHealthWatch(client: Client, config: AdosConfig, raw: Record<string, unknown>): Promise<StartedHealthWatch> {
  const checked = validateHealthWatchInput(raw);
  if (!checked.ok) throw new InputValidationError('health watch', checked.issues);
  const watch = checked.value;
  const workflowId = healthWatchWorkflowId(watch.tenantId, watch.service, watch.environment);
  const webUrl = webUiWorkflowUrl(config, workflowId);
  try {
    await client.workflow.start<typeof healthWatch>('healthWatch', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [watch],
      staticSummary: `${watch.tenantId}: health watch of ${watch.service} in ${watch.environment}, every ${watch.interval}; an incident after ${watch.failuresToOpen} failed checks in a row`,
      typedSearchAttributes: [
        { key: AdosTenant, value: watch.tenantId },
        { key: AdosKind, value: 'remediation' },
        { key: AdosStage, value: 'watching' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, webUrl, alreadyWatching: false };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, webUrl, alreadyWatching: true };
    throw error;
  }
}

export async function getHealthWatchStatus(client: Client, workflowId: string): Promise<HealthWatchStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(healthWatchStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

/** Asks a watch to stop (a check or remediation in progress finishes first). */
export async function stopHealthWatch(client: Client, workflowId: string, by: string, reason?: string): Promise<void> {
  try {
    await client.workflow.getHandle(workflowId).signal(stopHealthWatchSignal, { by, ...(reason ? { reason } : {}) });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

/** A watch's status on one line, for people. */
export function formatHealthWatch(status: HealthWatchStatus): string {
  const last = status.lastCheck;
  return [
    `${status.workflowId}  ${status.stage}  ${status.checks} check(s)  ${status.consecutiveFailures} failure(s) in a row`,
    last ? `last check ${last.at}: ${last.healthy ? 'healthy' : 'failed'} (${last.detail}) on ${last.url}` : 'no check yet',
    ...status.incidents.map((id) => `incident: ${id}`),
  ].join('\n');
}
