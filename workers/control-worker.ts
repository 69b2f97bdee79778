import { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { loadConfig } from '../shared/node/config';
import type { Db } from '../shared/node/db';
import { prebuiltWorkflowBundle } from './bundle';
import { activityMetricsInterceptor } from './metrics-interceptor';

export interface ControlWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  db: Db;
  identity?: string;
  /** A prebuilt bundle (tests build it once); otherwise ADOS_WORKFLOW_BUNDLE's (workers/bundle.ts), or bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: Duration;
}

/** Runs every workflow and the control-plane activities (the ones that touch the database). */
export function createControlWorker(options: ControlWorkerOptions): Promise<Worker> {
  const workflowBundle = options.workflowBundle ?? prebuiltWorkflowBundle(loadConfig().workflowBundle);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: controlTaskQueue(options.taskQueuePrefix),
    identity: options.identity,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    interceptors: { activity: [activityMetricsInterceptor] },
    // The worker's own connection also serves Temporal's API to the routing activities (DescribeTaskQueue).
    activities: createActivities({
      db: options.db,
      temporal: { workflowService: options.connection.workflowService, namespace: options.namespace },
      client: new Client({ connection: options.connection, namespace: options.namespace }),
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
  });
}
