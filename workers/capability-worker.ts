import os from 'node:os';
import path from 'node:path';
import type { Duration } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { createCapabilityActivities } from '../activities';
import type { CapabilityDefinition } from '../activities/capabilities/define';
import { capabilityListProblem } from '../shared/contract/capability-list';
import { capabilityTaskQueue } from '../shared/contract/task-queues';
import type { Db } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';
import { activityMetricsInterceptor } from './metrics-interceptor';
import { DEFAULT_MAX_CONCURRENT, maxConcurrentProblem, rateLimitProblem } from './worker-flags';

export interface CapabilityWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  /** Built-in capabilities to serve. */
  capabilities: string[];
  /** Plugin definitions to serve besides (loaded from `--capability-module`). */
  plugins?: readonly CapabilityDefinition<any, any>[];
  db: Db;
  logger: Logger;
  identity: string;
  /** Activities one worker runs at once, per capability. */
  maxConcurrent?: number;
  /** Server-side rate limit for the whole task queue (all workers of the pool). */
  maxTaskQueueActivitiesPerSecond?: number;
  shutdownGraceTime?: Duration;
  /** Root of the attempts' workspaces (config ADOS_WORKSPACE_DIR); default: a folder under the OS temp dir. */
  workspaceRoot?: string;
}

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
  options: Pick<CapabilityWorkerOptions, 'capabilities' | 'plugins' | 'taskQueuePrefix' | 'maxConcurrent' | 'maxTaskQueueActivitiesPerSecond'>,
): CapabilityWorkerPlan[] {
  const plugins = (options.plugins ?? []).map((definition) => definition.name);
  if (options.capabilities.length + plugins.length === 0) {
    throw new Error('a capability worker needs at least one capability, e.g. --capabilities build,deploy or --capability-module ./caps.ts');
  }
  const listProblem = options.capabilities.length > 0 ? capabilityListProblem(options.capabilities) : undefined;
  if (listProblem) throw new Error(listProblem);
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const concurrencyProblem = maxConcurrentProblem(maxConcurrent);
  if (concurrencyProblem) throw new Error(`--max-concurrent ${concurrencyProblem}`);
  const rate = options.maxTaskQueueActivitiesPerSecond;
  const rateProblem = rate === undefined ? undefined : rateLimitProblem(rate);
  if (rateProblem) throw new Error(`--rate-limit ${rateProblem}`);
  return [...options.capabilities, ...plugins].map((capability) => ({
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
        activities: createCapabilityActivities(
          plan.capability,
          {
            db: options.db,
            logger: options.logger.child({ capability: plan.capability }),
            workerIdentity: options.identity,
            workspaceRoot: options.workspaceRoot ?? path.join(os.tmpdir(), 'ados-workspaces'),
          },
          options.plugins,
        ),
        interceptors: { activity: [activityMetricsInterceptor] },
        maxConcurrentActivityTaskExecutions: plan.maxConcurrentActivityTaskExecutions,
        maxTaskQueueActivitiesPerSecond: plan.maxTaskQueueActivitiesPerSecond,
        shutdownGraceTime: options.shutdownGraceTime ?? '30s',
      }),
    ),
  );
}
