/**
 * A task runtime through crashes, with real processes for 5 minutes of real time: the Temporal dev server is a child
 * process on a SQLite file (test/helpers/temporal-server.ts: it is SIGKILLed and started again on the same file), the
 * control worker and the batch workers are `ados worker` processes, the runtime is started by `ados runtime start`,
 * and PostgreSQL is a real server. During the run the batch worker is SIGKILLed twice, each time in the middle of a
 * batch (a replacement is started at once), and the dev server is SIGKILLed and started again once, also mid-batch;
 * the runtime hands over (continue-as-new) on the way. Exactly once is read from the effects table: every item has one
 * effect, none is missing, none is written twice.
 *
 * 3000 generated items in batches of 100, one batch at a time, a batch every 10 s at most (pacing), 50 ms of work per
 * item (a batch takes about 5 s): 30 batches, about 5 minutes. The batch capability's heartbeat timeout is 10 s, so
 * each kill costs about that much before the retry resumes the batch from its checkpoint on the replacement.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TaskRuntimeResult } from '../../shared/contract/task-runtime/messages';
import { taskRuntimeWorkflowId } from '../../shared/contract/workflow-ids';
import { openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { eventually } from '../helpers/eventually';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { chainRuns, effectsPerItem, exactlyOnceProblems } from '../helpers/task-runtime';
import { startTemporalServer, type TemporalServerProcess } from '../helpers/temporal-server';
import { PROJECT_ROOT } from '../helpers/toolchain';

const suffix = () => Math.random().toString(36).slice(2, 8);
const TENANT = `crash${suffix()}`;
const TASK = `crash-${suffix()}`;
const WORKFLOW_ID = taskRuntimeWorkflowId(TENANT, TASK);
const ITEMS = 3000;
const BATCH = 100;

let temporalServer: TemporalServerProcess;
let pg: PostgresServer;
let database: DatabaseHandle;
let db: Db;
let workerEnv: NodeJS.ProcessEnv;
const processes: ManagedProcess[] = [];
const figures: Record<string, unknown> = {};
const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `runtime-crash-${process.pid}-${suffix()}`);

function reports(): string {
  return [...processes.map((p) => p.report()), `----- temporal server\n${temporalServer?.output() ?? ''}`].join('\n');
}

async function startWorker(name: string, args: string[]): Promise<ManagedProcess> {
  const proc = new ManagedProcess(name, ['worker', ...args], workerEnv);
  processes.push(proc);
  await proc.waitForOutput('"msg":"worker polling"', 120_000);
  return proc;
}

/** A batch worker of its own identity; one slot, so that a free slot's open poll never takes a retry meant for another. */
const startBatchWorker = (identity: string) => startWorker(`batch worker ${identity}`, ['--capabilities', 'batch', '--identity', identity, '--max-concurrent', '1']);

const effects = async () => (await effectsPerItem(db, WORKFLOW_ID, BATCH)).rows;

/** Waits until at least `atLeast` items have their effect and the batch in flight is between 20% and 80% done. */
async function midBatch(atLeast: number): Promise<number> {
  return eventually(`mid-batch past ${atLeast} effects`, 180_000, async () => {
    const rows = await effects();
    return rows >= atLeast && rows % BATCH >= 20 && rows % BATCH <= 80 ? rows : undefined;
  }, 100);
}

beforeAll(async () => {
  fs.mkdirSync(tmpDir, { recursive: true });
  [temporalServer, pg] = await Promise.all([startTemporalServer({ dbFile: path.join(tmpDir, 'temporal.db') }), startPostgresServer({ database: 'ados_runtime_crash' })]);
  database = await openDatabase(pg.url, { poolSize: 2 });
  db = database.db;
  workerEnv = cleanEnv({
    TEMPORAL_ADDRESS: temporalServer.address,
    DATABASE_URL: pg.url,
    ADOS_TASK_QUEUE_PREFIX: `rc-${suffix()}`,
    ADOS_TENANT: TENANT,
    LOG_LEVEL: 'info',
  });
  try {
    await startWorker('control worker', ['--role', 'control']);
  } catch (error) {
    console.error(reports());
    throw error;
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
  await database?.close();
  await pg?.stop();
  await temporalServer?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
  process.stdout.write(`[task-runtime-crash] figures: ${JSON.stringify(figures)}\n`);
}, 60_000);

test('5 minutes of real time, the batch worker SIGKILLed twice mid-batch and the dev server restarted once: 0 items lost, 0 processed twice', async () => {
  const startedAt = Date.now();
  try {
    let worker = await startBatchWorker('rc-1');
    const start = await runAdosCli(
      ['runtime', 'start', '--task', TASK, '--items', String(ITEMS), '--batch-size', String(BATCH), '--max-parallel', '1', '--pacing', '10s', '--checkpoint-every', '20', '--hand-over-at-events', '200', '--capability-input', JSON.stringify({ itemWorkMs: 50, writeEvery: 10 }), '--json'],
      workerEnv,
    );
    expect({ code: start.code, stderr: start.stderr }).toEqual({ code: 0, stderr: '' });
    const { runId: firstRunId } = JSON.parse(start.stdout) as { runId: string };

    const killedAt: number[] = [];
    for (const [n, atLeast] of [[2, 500], [3, 1300]] as const) {
      killedAt.push(await midBatch(atLeast));
      await worker.stop('SIGKILL');
      worker = await startBatchWorker(`rc-${n}`);
    }
    figures['effects at the worker kills'] = killedAt;

    const restartAt = await midBatch(2100);
    await temporalServer.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await temporalServer.start();
    figures['effects at the server restart'] = restartAt;

    const connection = await Connection.connect({ address: temporalServer.address });
    try {
      const client = new Client({ connection });
      const result = (await client.workflow.getHandle(WORKFLOW_ID).result()) as TaskRuntimeResult;
      expect(result).toMatchObject({ outcome: 'completed', done: ITEMS, processed: ITEMS, deadLettered: 0 });
      const { perSeq, rows } = await effectsPerItem(db, WORKFLOW_ID, BATCH);
      expect(exactlyOnceProblems(perSeq, ITEMS)).toEqual({ missing: [], twice: [], stray: [] });
      expect(rows).toBe(ITEMS);
      // Each killed batch was finished by a later attempt, from its checkpoint.
      for (const at of killedAt) {
        const block = Math.floor(at / BATCH);
        const attempts = await db.selectFrom('effects').select('attempt').distinct().where('workflow_id', '=', WORKFLOW_ID).where('task_id', '=', `block-${block}`).execute();
        expect(attempts.length).toBeGreaterThanOrEqual(2);
      }
      const runs = await chainRuns(client, WORKFLOW_ID, firstRunId);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      figures['events per run'] = runs.map((r) => r.events);
      expect(processes.filter((p) => p.name === 'control worker').every((p) => p.running)).toBe(true);
    } finally {
      await connection.close();
    }
    figures['run ms'] = Date.now() - startedAt;
  } catch (error) {
    console.error(`task-runtime crash test failed; process output follows\n${reports()}`);
    throw error;
  }
}, 600_000);
