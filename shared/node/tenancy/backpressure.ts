/**
 * Reads backpressure (README, "Backpressure") from Temporal: DescribeTaskQueue with stats on the activity queue of
 * each capability a run needs (shared/node/task-queue-report.ts), leveled by the pure rule of
 * shared/contract/tenancy/backpressure.ts. One home for admission (client side, before a start) and for the
 * control activity the tenant gate calls.
 */
import { backpressureReading, type BackpressureReading, type BackpressureThresholds } from '../../contract/tenancy/backpressure';
import { describeCapabilities, type TemporalDeps } from '../task-queue-report';

export interface BackpressureRequest {
  /** The deployment's task-queue prefix. */
  taskQueuePrefix: string;
  /** The capabilities whose queues the run needs (duplicates are read once). */
  capabilities: readonly string[];
}

/** The reading for the request; a queue Temporal cannot describe counts as normal (listed in `unchecked`). */
export async function readBackpressure(temporal: TemporalDeps, request: BackpressureRequest, thresholds: BackpressureThresholds): Promise<BackpressureReading> {
  const capabilities = [...new Set(request.capabilities)].sort();
  const reports = await describeCapabilities(temporal.workflowService, capabilities, request.taskQueuePrefix, { namespace: temporal.namespace });
  return backpressureReading(reports, thresholds);
}
