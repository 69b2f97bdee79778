import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { hostname } from 'node:os';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import { ConfigError, type AdosConfig } from '../shared/node/config';
import { temporalConnectionOptions } from '../shared/node/temporal-connection';
import { migrateToLatest, openDatabase } from '../shared/node/db';
import type { Logger } from '../shared/node/logger';
import { BUILT_INS } from '../activities';
import type { PluginCapability } from './capability-modules';
import { keepRegistered, registrationsOf } from './capability-registration';
import { createCapabilityWorkers } from './capability-worker';
import { createControlWorker } from './control-worker';
import { installRuntimeLogger } from './runtime';
import { ensureSearchAttributes } from './search-attributes';

export interface WorkerProcessOptions {
  /** `control` runs workflows and database activities; otherwise the listed capabilities. */
  role: 'control' | 'capabilities';
  /** Built-in capabilities to serve. */
  capabilities: string[];
  /** Plugin capabilities to serve besides (`--capability-module`, ADOS_CAPABILITY_MODULES). */
  plugins?: PluginCapability[];
  maxConcurrent?: number;
  maxTaskQueueActivitiesPerSecond?: number;
  identity?: string;
}

/** After the grace time, cancelled activities get this long to checkpoint and stop before the process gives up on them. */
export const SHUTDOWN_FORCE_MARGIN_MS = 10_000;

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * SIGINT/SIGTERM for a worker process, watched from the very start (the SDK's own handlers are off, see
 * workers/runtime.ts): the first signal requests the shutdown; further ones (Ctrl-C under `npm start` delivers
 * SIGINT and then SIGTERM) are logged and change nothing, so they never cut a drain short.
 */
function watchShutdownSignals(logger: Logger) {
  let requested: NodeJS.Signals | undefined;
  let onRequest: ((signal: NodeJS.Signals) => void) | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (requested) {
      logger.info({ signal }, 'shutdown already in progress');
      return;
    }
    requested = signal;
    onRequest?.(signal);
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, handler);
  return {
    get requested() {
      return requested;
    },
    /** Calls `fn` on the first signal, at once if it has already come. */
    onRequest(fn: (signal: NodeJS.Signals) => void) {
      onRequest = fn;
      if (requested) fn(requested);
    },
    dispose() {
      for (const signal of SHUTDOWN_SIGNALS) process.off(signal, handler);
    },
  };
}

/**
 * A worker process: connects, (control role) migrates the database and registers search
 * attributes, then polls until SIGINT/SIGTERM. On a signal it stops polling and lets in-flight
 * tasks finish within the grace time (ADOS_WORKER_SHUTDOWN_GRACE), then resolves so the process
 * exits 0. Activities still running after the grace are cancelled (a checkpointing activity saves
 * its checkpoint and its attempt is retried on another worker from there); should one ignore the
 * cancellation for SHUTDOWN_FORCE_MARGIN_MS more, the process exits 0 anyway and that attempt is
 * retried elsewhere once its heartbeat times out. A signal before the workers run exits at once.
 */
export async function runWorkerProcess(config: AdosConfig, logger: Logger, options: WorkerProcessOptions): Promise<void> {
  if (!config.databaseUrl) {
    throw new ConfigError(['DATABASE_URL is not set: give a postgres:// URL (npm start prints the embedded one) or pglite:<dir>']);
  }
  const graceMs = msToNumber(config.workerShutdownGrace as Duration);
  const signals = watchShutdownSignals(logger);
  // Until the workers run there is nothing in flight: a signal during start-up ends the process at once.
  signals.onRequest((signal) => {
    logger.info({ signal }, 'shutdown requested before the worker started polling: exiting');
    process.exit(0);
  });
  installRuntimeLogger(logger);
  const plugins = options.plugins ?? [];
  const served = [
    ...options.capabilities.map((name) => ({ definition: BUILT_INS.find((d) => d.name === name)!, source: 'built-in' })),
    ...plugins,
  ].filter((c) => c.definition !== undefined);
  const identity =
    options.identity ??
    (options.role === 'control' ? `control-${process.pid}@${hostname()}` : `cap[${served.map((c) => c.definition.name).join(',')}]-${process.pid}@${hostname()}`);
  const database = await openDatabase(config.databaseUrl);
  const connectionOptions = temporalConnectionOptions(config);
  const connection = await NativeConnection.connect(connectionOptions);
  let stopRegistering: (() => void) | undefined;
  try {
    let workers: Worker[];
    if (options.role === 'control') {
      const applied = await migrateToLatest(database.db);
      if (applied.length > 0) logger.info({ applied }, 'database migrated');
      const client = await Connection.connect(connectionOptions);
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
        plugins: plugins.map((p) => p.definition),
        db: database.db,
        logger,
        identity,
        maxConcurrent: options.maxConcurrent,
        maxTaskQueueActivitiesPerSecond: options.maxTaskQueueActivitiesPerSecond,
        shutdownGraceTime: config.workerShutdownGrace as Duration,
        workspaceRoot: config.workspaceDir,
      });
      stopRegistering = keepRegistered(database.db, registrationsOf(served, identity, config.taskQueuePrefix), logger);
    }
    const running = workers.map((worker) => worker.run());
    logger.info(
      { identity, taskQueues: workers.map((w) => w.options.taskQueue), namespace: config.temporalNamespace },
      'worker polling',
    );
    const stopAll = () => {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    signals.onRequest((signal) => {
      logger.info({ signal, identity, graceMs }, 'shutdown requested: polling stopped, in-flight tasks may finish within the grace time');
      stopAll();
      setTimeout(() => {
        logger.error(
          { identity, graceMs, forceMarginMs: SHUTDOWN_FORCE_MARGIN_MS },
          'shutdown forced: activities ignored cancellation; their attempts are retried elsewhere once their heartbeat times out',
        );
        process.exit(0);
      }, graceMs + SHUTDOWN_FORCE_MARGIN_MS).unref();
    });
    // One worker failing stops the others (and is reported) rather than leaving them polling without a process.
    const outcomes = await Promise.allSettled(
      running.map((run) =>
        run.catch((error: unknown) => {
          stopAll();
          throw error;
        }),
      ),
    );
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    logger.info({ identity }, 'worker stopped');
  } finally {
    stopRegistering?.();
    signals.dispose();
    await connection.close();
    await database.close();
  }
}
