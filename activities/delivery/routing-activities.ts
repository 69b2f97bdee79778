import type { CapabilityQueueReport } from '../../shared/contract/routing';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { describeCapabilities, type TemporalDeps } from '../../shared/node/task-queue-report';

export type { TemporalDeps };

export interface DescribeCapabilityQueuesInput {
  capabilities: string[];
  /** The deployment's task-queue prefix (the run knows it from its control queue). */
  prefix: string;
}

/**
 * Routing reports for delivery runs: who polls each capability's queue, from Temporal's DescribeTaskQueue. Read-only
 * (nothing to make idempotent). Without Temporal deps every report says it was not checked, and the run goes on.
 */
export function createRoutingActivities(temporal?: TemporalDeps) {
  return {
    async describeCapabilityQueues(input: DescribeCapabilityQueuesInput): Promise<CapabilityQueueReport[]> {
      if (!temporal) {
        const describedAt = new Date().toISOString();
        return input.capabilities.map((capability) => ({
          capability,
          taskQueue: capabilityTaskQueue(capability, input.prefix),
          checked: false,
          error: 'this control worker was started without a Temporal connection for DescribeTaskQueue',
          pollers: [],
          livePollers: 0,
          describedAt,
        }));
      }
      return describeCapabilities(temporal.workflowService, input.capabilities, input.prefix, { namespace: temporal.namespace });
    },
  };
}

export type RoutingActivities = ReturnType<typeof createRoutingActivities>;
