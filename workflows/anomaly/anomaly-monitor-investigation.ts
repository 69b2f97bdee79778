import { proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AnomalyInvestigationActivities } from '../../activities/anomaly/investigation-activities';
import { findingOf, type AnomalyFinding, type AnomalyInvestigationInput } from '../../shared/contract/anomaly/investigation';
import { AdosStage } from '../../shared/contract/search-attributes';

/**
 * The investigator of a novel anomaly (a child of the anomaly monitor): gathers its context (its samples against the
 * baseline before it, its earlier sightings), derives a finding (shared/contract/anomaly/investigation.ts, pure), and
 * records it with the signature as known, so that the monitor notifies the next one of its kind.
 */
export async function anomalyInvestigation(input: AnomalyInvestigationInput): Promise<AnomalyFinding> {
  const activities = proxyLocalActivities<AnomalyInvestigationActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '1s', maximumInterval: '30s' } });
  upsertSearchAttributes([{ key: AdosStage, value: 'gathering' }]);
  const context = await activities.gatherAnomalyContext.executeWithOptions({ startToCloseTimeout: '1m', summary: `context of ${input.anomaly.id}` }, [input]);
  const finding = findingOf(input, context);
  await activities.recordAnomalyFinding.executeWithOptions({ startToCloseTimeout: '1m', summary: `finding: ${finding.summary}` }, [{ workflowId: workflowInfo().workflowId, finding, input }]);
  upsertSearchAttributes([{ key: AdosStage, value: 'finished' }]);
  return finding;
}
