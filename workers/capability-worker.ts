import type { Duration } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createCapabilityActivities } from '../activities';
import { capabilitySpec, KNOWN_CAPABILITIES } from '../shared/contract/capabilities';
import { capabilityTaskQueue } from '../shared/contract/task-queues';
import type { Db } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';

export interface CapabilityWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  capabilities: string[];
  db: Db;
  logger: Logger;
  identity: string;
  /** Activities one worker runs at once, per capability. */
  maxConcurrent?: number;
  /** Server-side rate limit for the whole task queue (all workers of the pool). */
  maxTaskQueueActivitiesPerSecond?: number;
  shutdownGraceTime?: Duration;
}

export function assertKnownCapabilities(capabilities: string[]): void {
  const unknown = capabilities.filter((name) => !capabilitySpec(name));
  if (unknown.length > 0) {
    throw new Error(`unknown capabilit${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; known: ${KNOWN_CAPABILITIES.join(', ')}`);
  }
}

export const DEFAULT_MAX_CONCURRENT = 8;

/** What one capability's Temporal Worker is created with (pure, so the routing rules are unit-tested). */
export interface CapabilityWorkerPlan {
  capability: string;
  taskQueue: string;
  maxConcurrentActivityTaskExecutions: number;
  maxTaskQueueActivitiesPerSecond?: number;
}

/**
 * One Worker per capability, each on its capability's queue, with the per-worker concurrency limit and the optional
 * task-queue-wide rate limit. Refuses unknown or repeated capabilities and limits that are not positive numbers.
 */
export function planCapabilityWorkers(
  options: Pick<CapabilityWorkerOptions, 'capabilities' | 'taskQueuePrefix' | 'maxConcurrent' | 'maxTaskQueueActivitiesPerSecond'>,
): CapabilityWorkerPlan[] {
  if (options.capabilities.length === 0) throw new Error('a capability worker needs at least one capability, e.g. --capabilities build,deploy');
  assertKnownCapabilities(options.capabilities);
  const repeated = options.capabilities.filter((c, i) => options.capabilities.indexOf(c) !== i);
  if (repeated.length > 0) throw new Error(`capability ${repeated.join(', ')} is listed more than once`);
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new Error(`--max-concurrent must be a whole number of at least 1 (got ${options.maxConcurrent})`);
  }
  const rate = options.maxTaskQueueActivitiesPerSecond;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
    throw new Error(`--rate-limit must be a number of activities per second above 0 (got ${rate})`);
  }
  return options.capabilities.map((capability) => ({
    capability,
    taskQueue: capabilityTaskQueue(capability, options.taskQueuePrefix),
    maxConcurrentActivityTaskExecutions: maxConcurrent,
    ...(rate !== undefined ? { maxTaskQueueActivitiesPerSecond: rate } : {}),
  }));
}

/**
 * One Temporal Worker per capability task queue: routing is Temporal's, a task reaches only a
 * process that polls its capability's queue.
 */
export async function createCapabilityWorkers(options: CapabilityWorkerOptions): Promise<Worker[]> {
  return Promise.all(
    planCapabilityWorkers(options).map((plan) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: plan.taskQueue,
        identity: options.identity,
        activities: createCapabilityActivities(plan.capability, {
          db: options.db,
          logger: options.logger.child({ capability: plan.capability }),
          workerIdentity: options.identity,
        }),
        maxConcurrentActivityTaskExecutions: plan.maxConcurrentActivityTaskExecutions,
        maxTaskQueueActivitiesPerSecond: plan.maxTaskQueueActivitiesPerSecond,
        shutdownGraceTime: options.shutdownGraceTime ?? '30s',
      }),
    ),
  );
}
