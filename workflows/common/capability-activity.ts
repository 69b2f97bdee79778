import type { ActivityOptions } from '@temporalio/workflow';
import { scheduleToStartTimeoutSeconds, type CapabilityRetry, type CapabilitySpec } from '../../shared/contract/capabilities';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';

/** What a caller may override of a capability's registry options (a plan task's own timeouts and retry). */
export interface CapabilityOverrides {
  timeoutSeconds?: number;
  heartbeatTimeoutSeconds?: number;
  scheduleToStartTimeoutSeconds?: number;
  retry?: Partial<CapabilityRetry>;
  /** Added to the start-to-close timeout: simulated work a benchmark asks the activity to do. */
  extraStartToCloseMs?: number;
}

/** The activity options of one capability call, and the figures the escalation ladder reasons with. */
export interface CapabilityActivityOptions {
  options: ActivityOptions;
  attempts: number;
  scheduleToStartSeconds: number;
}

/**
 * The one translation from a capability's registry entry (plus a caller's overrides) to Temporal activity options:
 * its own task queue (routing), timeouts, heartbeat timeout (failover) and retry policy. `summary` is what the Web UI
 * shows on the scheduled activity ("build on stage").
 */
export function capabilityActivityOptions(
  capability: string,
  spec: CapabilitySpec,
  prefix: string,
  overrides: CapabilityOverrides,
  nonRetryableErrorTypes: readonly string[],
  summary: string,
): CapabilityActivityOptions {
  const retry = { ...spec.retry, ...overrides.retry };
  const scheduleToStartSeconds = overrides.scheduleToStartTimeoutSeconds ?? scheduleToStartTimeoutSeconds(spec);
  const startToCloseMs = (overrides.timeoutSeconds ?? spec.startToCloseTimeoutSeconds) * 1000 + (overrides.extraStartToCloseMs ?? 0);
  return {
    options: {
      taskQueue: capabilityTaskQueue(capability, prefix),
      startToCloseTimeout: startToCloseMs,
      scheduleToStartTimeout: `${scheduleToStartSeconds}s`,
      heartbeatTimeout: `${overrides.heartbeatTimeoutSeconds ?? spec.heartbeatTimeoutSeconds}s`,
      retry: {
        maximumAttempts: retry.maximumAttempts,
        initialInterval: `${retry.initialIntervalSeconds}s`,
        backoffCoefficient: retry.backoffCoefficient,
        maximumInterval: `${retry.maximumIntervalSeconds}s`,
        nonRetryableErrorTypes: [...nonRetryableErrorTypes],
      },
      summary,
    },
    attempts: retry.maximumAttempts,
    scheduleToStartSeconds,
  };
}
