import { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { type NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import { controlTaskQueue } from '../shared/contract/task-queues';
import type { Db } from '../shared/node/db';

export interface ControlWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueuePrefix: string;
  db: Db;
  identity?: string;
  /** A prebuilt bundle (tests build it once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleOption;
  shutdownGraceTime?: Duration;
}

/** Runs every workflow and the control-plane activities (the ones that touch the database). */
export function createControlWorker(options: ControlWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: controlTaskQueue(options.taskQueuePrefix),
    identity: options.identity,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    // The worker's own connection also serves Temporal's API to the routing activities (DescribeTaskQueue).
    activities: createActivities({
      db: options.db,
      temporal: { workflowService: options.connection.workflowService, namespace: options.namespace },
      client: new Client({ connection: options.connection, namespace: options.namespace }),
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
  });
}
