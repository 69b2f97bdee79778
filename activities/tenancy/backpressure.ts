import { type BackpressureReading, type BackpressureThresholds } from '../../shared/contract/tenancy/backpressure';
import { loadBackpressureConfig } from '../../shared/node/config';
import type { TemporalDeps } from '../../shared/node/task-queue-report';
import { readBackpressure as readFromTemporal, type BackpressureRequest } from '../../shared/node/tenancy/backpressure';

/**
 * Backpressure for the tenant gate (README, "Backpressure"): the level of the queues a run needs, from Temporal's
 * DescribeTaskQueue. Read-only. Without Temporal deps (or on a server that cannot describe queues) the reading is
 * normal with the queues listed as unchecked: not knowing never holds a run back.
 */
export function createBackpressureActivities(temporal?: TemporalDeps, thresholds: BackpressureThresholds = loadBackpressureConfig()) {
  return {
    async readBackpressure(input: BackpressureRequest): Promise<BackpressureReading> {
      if (!temporal) {
        return {
          level: 'normal',
          backlog: 0,
          oldestSeconds: 0,
          reason: 'backpressure not checked: this control worker was started without a Temporal connection for DescribeTaskQueue',
        };
      }
      return readFromTemporal(temporal, input, thresholds);
    },
  };
}

export type BackpressureActivities = ReturnType<typeof createBackpressureActivities>;
