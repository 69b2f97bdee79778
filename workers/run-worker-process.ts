import type { Duration } from '@temporalio/common';
import { hostname } from 'node:os';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import type { AdosConfig } from '../shared/node/config';
import { migrateToLatest, openDatabase } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';
import { createCapabilityWorkers } from './capability-worker';
import { createControlWorker } from './control-worker';
import { installRuntimeLogger } from './runtime';
import { ensureSearchAttributes } from './search-attributes';

export interface WorkerProcessOptions {
  /** `control` runs workflows and database activities; otherwise the listed capabilities. */
  role: 'control' | 'capabilities';
  capabilities: string[];
  maxConcurrent?: number;
  maxTaskQueueActivitiesPerSecond?: number;
  identity?: string;
}

/**
 * A worker process: connects, (control role) migrates the database and registers search
 * attributes, then polls until SIGINT/SIGTERM. On a signal it stops polling and lets in-flight
 * tasks finish within the grace time, then resolves so the process can exit 0.
 */
export async function runWorkerProcess(config: AdosConfig, logger: Logger, options: WorkerProcessOptions): Promise<void> {
  if (!config.databaseUrl) {
    throw new Error('DATABASE_URL is not set: give a postgres:// URL (npm start prints the embedded one) or pglite:<dir>');
  }
  installRuntimeLogger(logger);
  const identity =
    options.identity ??
    (options.role === 'control' ? `control-${process.pid}@${hostname()}` : `cap[${options.capabilities.join(',')}]-${process.pid}@${hostname()}`);
  const database = await openDatabase(config.databaseUrl);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  try {
    let workers: Worker[];
    if (options.role === 'control') {
      const applied = await migrateToLatest(database.db);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
      const client = await Connection.connect({ address: config.temporalAddress });
      try {
        const added = await ensureSearchAttributes(client.operatorService, config.temporalNamespace);
        if (added.length > 0) logger.info({ added }, 'search attributes registered');
      } finally {
        await client.close();
      }
      workers = [
        await createControlWorker({
          connection,
          namespace: config.temporalNamespace,
          taskQueuePrefix: config.taskQueuePrefix,
          db: database.db,
          identity,
          shutdownGraceTime: config.workerShutdownGrace as Duration,
        }),
      ];
    } else {
      workers = await createCapabilityWorkers({
        connection,
        namespace: config.temporalNamespace,
        taskQueuePrefix: config.taskQueuePrefix,
        capabilities: options.capabilities,
        db: database.db,
        logger,
        identity,
        maxConcurrent: options.maxConcurrent,
        maxTaskQueueActivitiesPerSecond: options.maxTaskQueueActivitiesPerSecond,
        shutdownGraceTime: config.workerShutdownGrace as Duration,
      });
    }
    logger.info(
      { identity, taskQueues: workers.map((w) => w.options.taskQueue), namespace: config.temporalNamespace },
      'worker polling',
    );
    await Promise.all(workers.map((worker) => worker.run()));
    logger.info({ identity }, 'worker stopped');
  } finally {
    await connection.close();
    await database.close();
  }
}
