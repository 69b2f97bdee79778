/** The typed client API for remediation runs (README, "Remediation"); `ados incident` is a thin layer over it. */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  proposedAction,
  remediationStatusQuery,
  validateRemediationInput,
  type Remediation,
  type RemediationResult,
  type RemediationStatus,
} from '../shared/contract/remediation/input';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError } from '../shared/contract/validation';
import { remediationWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { remediationRun } from '../workflows/remediation';
import { RunNotFoundError } from './common/run-errors';

/** A remediation just started: its workflow ID, first run ID and Web UI link. */
export interface StartedRemediation {
  workflowId: string;
  runId: string;
  webUrl: string;
}

/** The Web UI's one-line summary ("acme: crash of api in stage (confidence 0.9) → restart") and the evidence. */
export function remediationSummary(incident: Remediation): { staticSummary: string; staticDetails: string } {
  return {
    staticSummary: `${incident.tenantId}: ${incident.kind} of ${incident.service} in ${incident.environment} (confidence ${incident.confidence}) → ${proposedAction(incident)}`,
    staticDetails: [
      `Opened by ${incident.requestedBy} (${incident.source}) at ${incident.openedAt}.`,
      ...incident.evidence.map((e) => `- ${e}`),
      ...incident.signals.map((s) => `- signal from ${s.source}: ${s.kind}`),
    ].join('\n'),
  };
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
