import { parseStrategyPromotionWorkflowId } from './learning/strategy/promotion';
import {
  parseAnomalyMonitorWorkflowId,
  parseAnomalyPipelineWorkflowId,
  parseDeliveryWorkflowId,
  parseExtractionWorkflowId,
  parseHealthWatchWorkflowId,
  parseRemediationWorkflowId,
  parseTaskRuntimeWorkflowId,
  TENANT_ID_PATTERN,
} from './workflow-ids';

/**
 * The tenant a workflow ID names, for every kind that has one (transfer-learning cycles are the cluster's, not a
 * tenant's). The monitor and investigator parse before the pipeline: `anomaly-monitor-acme-m` would otherwise read as
 * a pipeline of a tenant called "monitor".
 */
export function tenantOfWorkflowId(workflowId: string): string | undefined {
  const gate = /^tenant-gate-(.+)$/.exec(workflowId)?.[1];
  if (gate !== undefined) return TENANT_ID_PATTERN.test(gate) ? gate : undefined;
  const investigated = /^anomaly-investigation-(.+)$/.exec(workflowId)?.[1];
  if (investigated !== undefined) return parseAnomalyPipelineWorkflowId(`anomaly-${investigated}`)?.tenantId;
  if (workflowId.startsWith('anomaly-monitor-')) return parseAnomalyMonitorWorkflowId(workflowId)?.tenantId;
  if (workflowId.startsWith('health-watch-')) return parseHealthWatchWorkflowId(workflowId)?.tenantId;
  return (
    parseDeliveryWorkflowId(workflowId) ??
    parseExtractionWorkflowId(workflowId) ??
    parseRemediationWorkflowId(workflowId) ??
    parseTaskRuntimeWorkflowId(workflowId) ??
    parseAnomalyPipelineWorkflowId(workflowId) ??
    parseStrategyPromotionWorkflowId(workflowId)
  )?.tenantId;
}
