/**
 * The typed client API for anomaly pipelines (README, "Anomaly pipeline"): start one (the monitor starts them as
 * children; tests and operators may start one directly), read its status and result. Its approval decisions go
 * through client/common/approval.ts like every gate's (`ados anomaly approve|reject`).
 */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  ANOMALY_PIPELINE_WORKFLOW,
  anomalyPipelineStatusQuery,
  validateAnomalyPipelineInput,
  type AnomalyPipelineRequest,
  type AnomalyPipelineResult,
  type AnomalyPipelineStatus,
} from '../shared/contract/anomaly/pipeline';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError } from '../shared/contract/validation';
import { anomalyPipelineWorkflowId, parseAnomalyPipelineWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { anomalyPipeline } from '../workflows/anomaly/anomaly-pipeline';
import { RunNotFoundError } from './common/run-errors';

export interface StartedAnomalyPipeline {
  workflowId: string;
  runId: string;
  webUrl: string;
}

/** The Web UI's one-line summary and details of a pipeline. */
export function anomalyPipelineSummary(request: AnomalyPipelineRequest): { staticSummary: string; staticDetails: string } {
  const { anomaly } = request;
  return {
    staticSummary: `${request.tenantId}: ${request.severity} anomaly of ${request.metric} from ${anomaly.start} → handler pipeline`,
    staticDetails: [
      `Peak ${anomaly.peakScore.toFixed(3)} at ${anomaly.peakTs}, by ${anomaly.detectors.join(', ')}; ${anomaly.samples.length} sample(s) until ${anomaly.end}.`,
      `Approvers: ${request.approval.approvers.join(', ')} (within ${request.approval.timeout}), then ${request.escalation ? request.escalation.approvers.join(', ') : "the tenant's governance approvers"}.`,
    ].join('\n'),
  };
}

/** Validates the input (refused before anything starts, naming the field) and starts `anomaly-<tenant>-<metric>-<start>`. */
export async function startAnomalyPipeline(client: Client, config: AdosConfig, raw: unknown): Promise<StartedAnomalyPipeline> {
  const checked = validateAnomalyPipelineInput(raw);
  if (!checked.ok) throw new InputValidationError('anomaly pipeline', checked.issues);
  const request = checked.value;
  const workflowId = anomalyPipelineWorkflowId(request.tenantId, request.metric, request.anomaly.start);
  try {
    const handle = await client.workflow.start<typeof anomalyPipeline>(ANOMALY_PIPELINE_WORKFLOW, {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [request],
      ...anomalyPipelineSummary(request),
      typedSearchAttributes: [
        { key: AdosTenant, value: request.tenantId },
        { key: AdosKind, value: 'anomaly' },
        { key: AdosStage, value: 'classifying' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl: webUiWorkflowUrl(config, workflowId) };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      throw new InputValidationError('anomaly pipeline', [{ path: 'anomaly.start', message: `${workflowId} already runs: one pipeline per anomaly` }]);
    }
    throw error;
  }
}

/** Refuses an ID that is not an anomaly pipeline's (`anomaly-<tenant>-<metric>-<start>`), before any call. */
export function checkedPipelineId(workflowId: string): string {
  if (!parseAnomalyPipelineWorkflowId(workflowId)) {
    throw new InputValidationError('argument', [{ path: '<id>', message: `"${workflowId}" is not an anomaly pipeline ID: anomaly-<tenant>-<metric>-<start>, as \`ados anomaly list\` shows it` }]);
  }
  return workflowId;
}

export async function getAnomalyPipelineStatus(client: Client, workflowId: string): Promise<AnomalyPipelineStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(anomalyPipelineStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

export async function getAnomalyPipelineResult(client: Client, workflowId: string): Promise<AnomalyPipelineResult> {
  try {
    return await client.workflow.getHandle<typeof anomalyPipeline>(workflowId).result();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}
