/**
 * What the extraction benchmarks run on: the real Temporal dev server (the pinned CLI, started here), the database of
 * bench/lib/database.ts (PostgreSQL when the toolchain has it, else PGlite served over the wire protocol from a worker
 * thread; ADOS_BENCH_DATABASE chooses), and real workers in this process: the control worker (every
 * workflow + the control activities) and an `extract` capability worker. Times come from what the runs record: each
 * extract activity's start and end (the result's per-agent startedAt / finishedAt) and the workflow's start and close
 * in its history.
 */
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { getExtractionResult, startExtraction } from '../client/extraction';
import type { ExtractionInput, ExtractionResult } from '../shared/contract/extraction/messages';
import { ADOS_SEARCH_ATTRIBUTES } from '../shared/contract/search-attributes';
import { loadConfig, type AdosConfig } from '../shared/node/config';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../shared/node/db';
import { createLogger } from '../shared/node/logger';
import { recordedIntervals, type Documents } from '../test/helpers/extraction';
import { bundleWorkflows } from '../test/helpers/stack';
import { createDevServerEnv } from '../test/helpers/toolchain';
import { createCapabilityWorkers } from '../workers/capability-worker';
import { createControlWorker } from '../workers/control-worker';
import { benchDatabase } from './lib/database';
import type { BareLayeredInput, BareLayeredResult, SleepActivities } from './workflows/bare-layered';

export interface ExtractionBench {
  env: TestWorkflowEnvironment;
  client: Client;
  config: AdosConfig;
  /** Which database the run used (PGlite or PostgreSQL). */
  database: string;
  /** Only with `floor`: the same DAG on a bare workflow with sleep-only activities (bench/workflows/bare-layered.ts); its makespan. */
  measureFloor(tasks: BareLayeredInput['tasks'], workMs: number, maxParallel: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startExtractionBench(maxConcurrent: number, options: { floor?: boolean } = {}): Promise<ExtractionBench> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // A Runtime exists already (an earlier suite in this process): keep it.
  }
  const env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  const embedded = await benchDatabase();
  let database: DatabaseHandle | undefined;
  const workers: Worker[] = [];
  try {
    database = await openDatabase(embedded.url, { poolSize: embedded.poolSize });
    await migrateToLatest(database.db);
    const prefix = `bench${Math.random().toString(36).slice(2, 7)}`;
    const config = loadConfig({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix });
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
        capabilities: ['extract'],
        db: database.db,
        logger: createLogger('bench-extract', 'warn'),
        identity: `bench-extract@${hostname()}`,
        maxConcurrent,
        shutdownGraceTime: '2s',
      })),
    );
    if (options.floor) {
      const sleepFor: SleepActivities['sleepFor'] = async (ms) => {
        const startedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { startedAt, finishedAt: Date.now() };
      };
      workers.push(
        await Worker.create({
          connection: env.nativeConnection,
          taskQueue: `${prefix}.bare`,
          workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/bare-layered'), logger: new DefaultLogger('WARN') }),
          identity: `bench-bare@${hostname()}`,
        }),
        await Worker.create({
          connection: env.nativeConnection,
          taskQueue: `${prefix}.bare-work`,
          activities: { sleepFor },
          maxConcurrentActivityTaskExecutions: maxConcurrent,
          identity: `bench-bare-work@${hostname()}`,
        }),
      );
    }
    const running = workers.map((w) => w.run());
    const db = database;
    let floorRuns = 0;
    return {
      env,
      client: env.client,
      config,
      database: embedded.kind,
      measureFloor: async (tasks, workMs, maxParallel) => {
        if (!options.floor) throw new Error('startExtractionBench was started without { floor: true }');
        const input: BareLayeredInput = { taskQueue: `${prefix}.bare-work`, workMs, maxParallel, tasks };
        const intervals: BareLayeredResult = await env.client.workflow.execute('bareLayeredDag', {
          taskQueue: `${prefix}.bare`,
          workflowId: `bench-floor-${prefix}-${++floorRuns}`,
          args: [input],
        });
        const all = Object.values(intervals);
        return Math.max(...all.map((i) => i.finishedAt)) - Math.min(...all.map((i) => i.startedAt));
      },
      stop: async () => {
        for (const w of workers) w.shutdown();
        await Promise.allSettled(running);
        await db.close();
        await embedded.stop();
        await env.teardown();
      },
    };
  } catch (error) {
    await Promise.allSettled(workers.map((w) => w.shutdown()));
    await database?.close();
    await embedded.stop();
    await env.teardown();
    throw error;
  }
}

export interface MeasuredRun {
  result: ExtractionResult;
  /** First extract activity start to last extract activity end, as the activities recorded them. */
  makespanMs: number;
  /** The longest dependency chain, weighted by each agent's recorded extract duration. */
  measuredCriticalPathMs: number;
  /** Workflow execution start to close, from its history. */
  workflowMs: number;
  /** extractAgent activities scheduled, from the history. */
  extractActivities: number;
}

let tenantCounter = 0;
export const freshTenant = (): string => `bench_${process.pid}_${++tenantCounter}`;

const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Runs one extraction to its end (it must succeed) and measures it from its records. */
export async function measureRun(bench: ExtractionBench, documents: Documents, options: Partial<ExtractionInput>): Promise<MeasuredRun> {
  const input: ExtractionInput = { tenantId: freshTenant(), setName: 'bench', requestedBy: 'bench', documents, ...options };
  const { workflowId } = await startExtraction(bench.client, bench.config, input);
  const result = await getExtractionResult(bench.client, workflowId);
  if (result.outcome !== 'succeeded') throw new Error(`bench run ${workflowId} ended ${result.outcome}: ${result.reason}`);
  const events = (await bench.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const intervals = recordedIntervals(result);
  const makespanMs = intervals.length === 0 ? 0 : Math.max(...intervals.map((i) => i.end)) - Math.min(...intervals.map((i) => i.start));
  const duration = new Map(intervals.map((i) => [i.name, i.end - i.start]));
  const dependsOn = new Map(documents.map((d) => [d.document.name as string, (d.document.dependsOn as string[]) ?? []]));
  const chain = new Map<string, number>();
  for (const name of result.order) chain.set(name, (duration.get(name) ?? 0) + Math.max(0, ...(dependsOn.get(name) ?? []).map((d) => chain.get(d) ?? 0)));
  return {
    result,
    makespanMs,
    measuredCriticalPathMs: Math.max(0, ...chain.values()),
    workflowMs: eventMs(events.at(-1)?.eventTime) - eventMs(events[0]?.eventTime),
    extractActivities: events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractAgent').length,
  };
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
