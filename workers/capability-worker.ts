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

/**
 * One Temporal Worker per capability task queue: routing is Temporal's, a task reaches only a
 * process that polls its capability's queue.
 */
export async function createCapabilityWorkers(options: CapabilityWorkerOptions): Promise<Worker[]> {
  assertKnownCapabilities(options.capabilities);
  return Promise.all(
    options.capabilities.map((capability) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: capabilityTaskQueue(capability, options.taskQueuePrefix),
        identity: options.identity,
        activities: createCapabilityActivities(capability, {
          db: options.db,
          logger: options.logger.child({ capability }),
          workerIdentity: options.identity,
        }),
        maxConcurrentActivityTaskExecutions: options.maxConcurrent ?? 8,
        maxTaskQueueActivitiesPerSecond: options.maxTaskQueueActivitiesPerSecond,
        shutdownGraceTime: options.shutdownGraceTime ?? '30s',
      }),
    ),
  );
}
