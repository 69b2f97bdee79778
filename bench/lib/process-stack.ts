/**
 * The ADOS stack as separate processes, for the chaos tool (bench/chaos.ts) and the failover benchmark
 * (bench/suites/failover-latency.ts): the Temporal dev server on a SQLite file (killable and restartable), the
 * benchmark database (bench/lib/database.ts), the control worker and capability workers as `ados worker` processes
 * that can be killed for real.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { cleanEnv, ManagedProcess } from '../../test/helpers/processes';
import { startTemporalServer, type TemporalServerProcess } from '../../test/helpers/temporal-server';
import { benchDatabase, type BenchDatabase } from './database';

export interface ProcessStackOptions {
  /** Where the Temporal file and the process logs go. */
  dir: string;
  taskQueuePrefix?: string;
  /** ADOS_WORKER_SHUTDOWN_GRACE for the workers. */
  shutdownGrace?: string;
  log?: (line: string) => void;
}

export interface ProcessStack {
  temporal: TemporalServerProcess;
  db: Db;
  databaseUrl: string;
  /** Which database the run used (PGlite or PostgreSQL), for the report. */
  database: string;
  config: AdosConfig;
  /** The current client (replaced by reconnect()). */
  client: Client;
  control: ManagedProcess;
  /** Every capability worker started so far, by identity (killed ones included). */
  workers: Map<string, ManagedProcess>;
  startWorker(identity: string, capabilities: string[], options?: { maxConcurrent?: number }): ManagedProcess;
  /** Kills the Temporal server (SIGKILL) and starts it again on the same file and port after `downMs`. */
  restartTemporal(downMs: number): Promise<{ killedAt: number; upAt: number }>;
  /** Writes every process's output to <dir>/logs/. */
  saveLogs(): void;
  stop(): Promise<void>;
}

export async function waitReady(proc: ManagedProcess, timeoutMs = 120_000): Promise<void> {
  await proc.waitForOutput('"msg":"worker polling"', timeoutMs);
}

export async function startProcessStack(options: ProcessStackOptions): Promise<ProcessStack> {
  const log = options.log ?? (() => undefined);
  fs.mkdirSync(options.dir, { recursive: true });
  const temporal = await startTemporalServer({ dbFile: path.join(options.dir, 'temporal.db') });
  log(`Temporal dev server on ${temporal.address} (file ${temporal.dbFile})`);

  let database: BenchDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  const processes: ManagedProcess[] = [];
  let connection: Connection | undefined;
  try {
    database = await benchDatabase();
    const databaseUrl = database.url;
    log(`${database.kind} on ${databaseUrl}`);
    handle = await openDatabase(databaseUrl, { poolSize: database.poolSize });
    await migrateToLatest(handle.db);
    const prefix = options.taskQueuePrefix ?? `chaos${Math.random().toString(36).slice(2, 7)}`;
    const config = loadConfig({ TEMPORAL_ADDRESS: temporal.address, ADOS_TASK_QUEUE_PREFIX: prefix });
    const workerEnv = cleanEnv({
      TEMPORAL_ADDRESS: temporal.address,
      DATABASE_URL: databaseUrl,
      ADOS_TASK_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADOS_WORKER_SHUTDOWN_GRACE: options.shutdownGrace ?? '30s',
    });
    const control = new ManagedProcess('control', ['worker', '--role', 'control'], workerEnv);
    processes.push(control);
    await waitReady(control);
    connection = await Connection.connect({ address: temporal.address });
    const workers = new Map<string, ManagedProcess>();

    const stack: ProcessStack = {
      temporal,
      db: handle.db,
      databaseUrl,
      database: database.kind,
      config,
      client: new Client({ connection }),
      control,
      workers,
      startWorker(identity, capabilities, workerOptions = {}) {
        const args = ['worker', '--capabilities', capabilities.join(','), '--identity', identity];
        if (workerOptions.maxConcurrent !== undefined) args.push('--max-concurrent', String(workerOptions.maxConcurrent));
        const proc = new ManagedProcess(identity, args, workerEnv);
        processes.push(proc);
        workers.set(identity, proc);
        return proc;
      },
      async restartTemporal(downMs) {
        await temporal.kill('SIGKILL');
        const killedAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, downMs));
        await temporal.start();
        return { killedAt, upAt: Date.now() };
      },
      saveLogs() {
        const logs = path.join(options.dir, 'logs');
        fs.mkdirSync(logs, { recursive: true });
        for (const proc of processes) fs.writeFileSync(path.join(logs, `${proc.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`), proc.report());
        fs.writeFileSync(path.join(logs, 'temporal.log'), temporal.output());
      },
      async stop() {
        await Promise.all(processes.map((p) => p.stop('SIGTERM', 15_000)));
        await connection?.close().catch(() => undefined);
        await handle?.close();
        await database?.stop();
        await temporal.stop();
      },
    };
    return stack;
  } catch (error) {
    await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
    await connection?.close().catch(() => undefined);
    await handle?.close();
    await database?.stop();
    await temporal.stop();
    throw error;
  }
}

/** Kill → resumed attempt, from the attempts table: for each attempt a killed worker had in flight, the next one's start. */
export interface Failover {
  workflowId: string;
  environment: string;
  taskId: string;
  killedWorker: string;
  killedAt: number;
  attempt: number;
  resumedAttempt?: number;
  resumedBy?: string;
  resumedAt?: number;
  resumedFrom?: number;
  /** Effects the killed attempt had written (its cursor), and how many the resumed attempt found already written. */
  redone?: number;
  latencyMs?: number;
}

export async function failoversAfterKill(db: Db, killedWorker: string, killedAt: number): Promise<Failover[]> {
  const killed = await db
    .selectFrom('task_attempts')
    .selectAll()
    .where('worker', '=', killedWorker)
    .where('finished_at', 'is', null)
    .where('started_at', '<=', new Date(killedAt))
    .execute();
  const failovers: Failover[] = [];
  for (const attempt of killed) {
    const next = await db
      .selectFrom('task_attempts')
      .selectAll()
      .where('workflow_id', '=', attempt.workflow_id)
      .where('environment', '=', attempt.environment)
      .where('task_id', '=', attempt.task_id)
      .where((eb) =>
        eb.or([
          eb('generation', '>', attempt.generation),
          eb.and([eb('generation', '=', attempt.generation), eb('attempt', '>', attempt.attempt)]),
        ]),
      )
      .orderBy('started_at')
      .executeTakeFirst();
    failovers.push({
      workflowId: attempt.workflow_id,
      environment: attempt.environment,
      taskId: attempt.task_id,
      killedWorker,
      killedAt,
      attempt: attempt.attempt,
      resumedAttempt: next?.attempt,
      resumedBy: next?.worker,
      resumedAt: next?.started_at.getTime(),
      resumedFrom: next?.resumed_from,
      redone: next?.redone,
      latencyMs: next ? next.started_at.getTime() - killedAt : undefined,
    });
  }
  return failovers;
}

export function parseDuration(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`${what}: "${text}" is not a duration such as 5s, 3m or 500ms`);
  const value = Number(match[1]);
  return match[2] === 'ms' ? value : match[2] === 'm' ? value * 60_000 : value * 1000;
}
