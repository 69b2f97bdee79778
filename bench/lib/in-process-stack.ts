/**
 * ADOS in this process, for the benchmarks that measure scheduling rather than failover: the pinned Temporal dev
 * server (started here), the benchmark database (bench/lib/database.ts) with migrations, a control worker serving
 * every workflow, and the capability workers a suite names, all on a fresh task-queue prefix. A suite adds its own
 * bare comparison workers through `extraWorkers`. `stop()` undoes everything, in reverse.
 */
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { migrateToLatest, openDatabase, type Db } from '../../shared/node/db';
import { createLogger } from '../../shared/node/logger';
import { bundleWorkflows } from '../../test/helpers/stack';
import { createDevServerEnv } from '../../test/helpers/toolchain';
import { createCapabilityWorkers } from '../../workers/capability-worker';
import { createControlWorker } from '../../workers/control-worker';
import { benchDatabase } from './database';

export interface InProcessStackOptions {
  /** Capabilities served by one in-process pool (its logger and identity take the first one's name). */
  capabilities: string[];
  maxConcurrent: number;
  /** Workers of the suite's own, created once the stack is up (on `${prefix}.…` queues). */
  extraWorkers?: (stack: { env: TestWorkflowEnvironment; prefix: string }) => Promise<Worker[]>;
  /** A Temporal server already running (e.g. `ados cluster up`'s frontend) instead of a dev server started here. */
  temporalAddress?: string;
}

export interface InProcessStack {
  env: TestWorkflowEnvironment;
  client: Client;
  config: AdosConfig;
  prefix: string;
  db: Db;
  /** Which database the run used (PGlite or PostgreSQL). */
  database: string;
  stop(): Promise<void>;
}

export async function startInProcessStack(options: InProcessStackOptions): Promise<InProcessStack> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // A Runtime exists already (an earlier suite in this process): keep it.
  }
  const env = options.temporalAddress
    ? await TestWorkflowEnvironment.createFromExistingServer({ address: options.temporalAddress, namespace: 'default' })
    : await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  const stops: Array<() => Promise<void>> = [() => env.teardown()];
  const stop = async () => {
    for (const step of stops) await step().catch(() => undefined);
  };
  try {
    const { url, kind, poolSize, stop: stopDatabase } = await benchDatabase();
    stops.unshift(stopDatabase);
    const database = await openDatabase(url, { poolSize });
    stops.unshift(() => database.close());
    await migrateToLatest(database.db);
    const prefix = `bench${Math.random().toString(36).slice(2, 7)}`;
    const config = loadConfig({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix });
    const name = options.capabilities[0];
    const workers: Worker[] = [];
    let running: Array<Promise<void>> = [];
    stops.unshift(async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
    });
    workers.push(
      await createControlWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueuePrefix: prefix,
        db: database.db,
        identity: `bench-control@${hostname()}`,
        workflowBundle: await bundleWorkflows(),
        shutdownGraceTime: '2s',
      }),
      ...(await createCapabilityWorkers({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueuePrefix: prefix,
        capabilities: options.capabilities,
        db: database.db,
        logger: createLogger(`bench-${name}`, 'warn'),
        identity: `bench-${name}@${hostname()}`,
        maxConcurrent: options.maxConcurrent,
        shutdownGraceTime: '2s',
      })),
      ...((await options.extraWorkers?.({ env, prefix })) ?? []),
    );
    running = workers.map((w) => w.run());
    return { env, client: env.client, config, prefix, db: database.db, database: kind, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
