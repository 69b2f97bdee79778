/**
 * Checkpointing, failover, fencing, graceful shutdown and a Temporal server restart, with real processes killed for
 * real: the Temporal dev server is a child process on a SQLite file (test/helpers/temporal-server.ts, so it can be
 * killed with SIGKILL and started again on the same file), PostgreSQL is a real server, and the control worker and
 * the capability workers are `ados worker` processes. Every case is a delivery run whose plan has a `batch` task
 * (activities/capabilities/batch.ts): the whole product path.
 *
 * Heartbeat timeout: the registry's 10 s for `batch`, so each failover takes seconds. Timings are printed, never
 * asserted (the benchmark bench/suites/failover-latency.ts measures them).
 *
 * Every capability worker here runs with --max-concurrent 1 unless said otherwise: a worker with a free slot keeps a
 * poll open at the server, and a *paused* worker's open poll could take the retry (it would then time out in turn).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { addToChecksum, itemDigest, type BatchOutput } from '../../activities/capabilities/batch';
import { startDeliveryRun } from '../../client/delivery';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess } from '../helpers/processes';
import { startTemporalServer, type TemporalServerProcess } from '../helpers/temporal-server';
import { PROJECT_ROOT } from '../helpers/toolchain';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const suffix = () => Math.random().toString(36).slice(2, 8);
const TENANT = `fo_${suffix()}`;
const PREFIX = `fo-${suffix()}`;

/** Polls `probe` until it returns a value that is not undefined; the last value or error is in the message. */
async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'not yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : String(last)})`);
    await sleep(intervalMs);
  }
}

function expectedChecksum(items: number): string {
  let checksum = 0;
  for (let i = 0; i < items; i++) checksum = addToChecksum(checksum, itemDigest(i));
  return checksum.toString(16).padStart(8, '0');
}

let temporalServer: TemporalServerProcess;
let pg: PostgresServer;
let handle: DatabaseHandle;
let db: Db;
let connection: Connection;
let client: Client;
let config: AdosConfig;
let workerEnv: NodeJS.ProcessEnv;
let control: ManagedProcess;
const processes: ManagedProcess[] = [];
const figures: Record<string, unknown> = {};
const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `failover-${process.pid}-${suffix()}`);

function reports(): string {
  return [...processes.map((p) => p.report()), `----- temporal server\n${temporalServer?.output() ?? ''}`].join('\n');
}

/** Runs a test body; on failure prints every process's output first. */
function withReports(fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await fn();
    } catch (error) {
      console.error(`failover test failed; process output follows\n${reports()}`);
      throw error;
    }
  };
}

function startWorker(identity: string, options: { maxConcurrent?: number; env?: Record<string, string> } = {}): ManagedProcess {
  const args = ['worker', '--capabilities', 'batch', '--identity', identity];
  if (options.maxConcurrent !== undefined) args.push('--max-concurrent', String(options.maxConcurrent));
  const proc = new ManagedProcess(`worker ${identity}`, args, { ...workerEnv, ...options.env });
  processes.push(proc);
  return proc;
}

async function ready(...workers: ManagedProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => w.waitForOutput('"msg":"worker polling"', 120_000)));
}

async function startBatchRun(runId: string, input: Record<string, unknown>): Promise<string> {
  const started = await startDeliveryRun(client, config, {
    tenantId: TENANT,
    runId,
    requestedBy: 'failover-test',
    environments: ['dev'],
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    plan: { tasks: [{ id: 'batch', capability: 'batch', input }] },
  });
  return started.workflowId;
}

const result = (workflowId: string) => client.workflow.getHandle(workflowId).result() as Promise<DeliveryResult>;

const attemptsOf = (workflowId: string) =>
  db.selectFrom('task_attempts').selectAll().where('workflow_id', '=', workflowId).orderBy('generation').orderBy('attempt').execute();

async function effectCounts(workflowId: string, attempt?: number) {
  let query = db
    .selectFrom('effects')
    .select((eb) => [eb.fn.countAll().as('rows'), eb.fn.count('item').distinct().as('items'), eb.fn.min('item').as('min'), eb.fn.max('item').as('max')])
    .where('workflow_id', '=', workflowId);
  if (attempt !== undefined) query = query.where('attempt', '=', attempt);
  const row = await query.executeTakeFirstOrThrow();
  return { rows: Number(row.rows), items: Number(row.items), min: row.min === null ? null : Number(row.min), max: row.max === null ? null : Number(row.max) };
}

/** The attempt that holds the batch task once it has started (and its worker process). */
async function holderOf(workflowId: string, workers: Record<string, ManagedProcess>) {
  const first = await eventually(`first attempt of ${workflowId}`, 60_000, async () => (await attemptsOf(workflowId))[0]);
  const holder = workers[first.worker];
  if (!holder) throw new Error(`attempt 1 ran on ${first.worker}, not on one of ${Object.keys(workers).join(', ')}`);
  const other = Object.entries(workers).find(([identity]) => identity !== first.worker)!;
  return { holder, holderIdentity: first.worker, other: other[1], otherIdentity: other[0] };
}

async function waitForEffects(workflowId: string, atLeast: number, timeoutMs = 60_000): Promise<number> {
  return eventually(`${atLeast} effects of ${workflowId}`, timeoutMs, async () => {
    const { rows } = await effectCounts(workflowId);
    return rows >= atLeast ? rows : undefined;
  }, 25);
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** The capability activity's events in a run's history (the control activities are left out). */
async function batchActivityEvents(workflowId: string): Promise<HistoryEvent[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const batchScheduled = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'batch').map((e) => String(e.eventId)),
  );
  return events.filter((e) => {
    const scheduledId =
      e.activityTaskStartedEventAttributes?.scheduledEventId ??
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId;
    return scheduledId !== undefined && scheduledId !== null && batchScheduled.has(String(scheduledId));
  });
}

beforeAll(async () => {
  fs.mkdirSync(tmpDir, { recursive: true });
  const started = Date.now();
  [temporalServer, pg] = await Promise.all([
    startTemporalServer({ dbFile: path.join(tmpDir, 'temporal.db') }),
    startPostgresServer({ database: 'ados_failover' }),
  ]);
  handle = await openDatabase(pg.url, { poolSize: 3 });
  db = handle.db;
  connection = await Connection.connect({ address: temporalServer.address });
  client = new Client({ connection });
  config = loadConfig({ TEMPORAL_ADDRESS: temporalServer.address, ADOS_TASK_QUEUE_PREFIX: PREFIX });
  workerEnv = cleanEnv({
    TEMPORAL_ADDRESS: temporalServer.address,
    DATABASE_URL: pg.url,
    ADOS_TASK_QUEUE_PREFIX: PREFIX,
    LOG_LEVEL: 'info',
    ADOS_WORKER_SHUTDOWN_GRACE: '60s',
  });
  control = new ManagedProcess('worker --role control', ['worker', '--role', 'control'], workerEnv);
  processes.push(control);
  try {
    await ready(control);
  } catch (error) {
    console.error(reports());
    throw error;
  }
  figures['setup ms'] = Date.now() - started;
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
  await connection?.close();
  await handle?.close();
  await pg?.stop();
  await temporalServer?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
  process.stdout.write(`[failover] figures: ${JSON.stringify(figures)}\n`);
}, 60_000);

/** Stops a case's workers (SIGKILL: they have done their part). */
async function retire(...workers: ManagedProcess[]): Promise<void> {
  await Promise.all(workers.map((w) => w.stop('SIGKILL', 5_000)));
}

test(
  'checkpoint + failover: SIGKILL the worker half way through 10,000 items; the other worker resumes and redoes at most one checkpoint',
  withReports(async () => {
    const ITEMS = 10_000;
    const EVERY = 500;
    const workers = { 'fo-a': startWorker('fo-a', { maxConcurrent: 1 }), 'fo-b': startWorker('fo-b', { maxConcurrent: 1 }) };
    try {
      await ready(...Object.values(workers));
      const workflowId = await startBatchRun(`kill-${suffix()}`, { items: ITEMS, checkpointEvery: EVERY, itemWorkMs: 1 });
      const { holder, holderIdentity, other, otherIdentity } = await holderOf(workflowId, workers);

      // Half way, and mid-interval (5,250: between the checkpoints at 5,000 and 5,500), so that there is work to redo.
      const atKill = await waitForEffects(workflowId, ITEMS / 2 + EVERY / 2);
      holder.child.kill('SIGKILL');
      const killedAt = Date.now();
      const exit = await holder.exited;
      expect(exit.signal).toBe('SIGKILL');
      const writtenByFirst = (await effectCounts(workflowId, 1)).rows;

      const outcome = await result(workflowId);
      expect(outcome).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev'] });
      const output = outcome.outputs.batch as BatchOutput;
      expect(output).toMatchObject({ items: ITEMS, attempt: 2, checksum: expectedChecksum(ITEMS) });
      expect(['heartbeat', 'checkpoint']).toContain(output.resumeSource);

      // Exactly 10,000 effects, one per item.
      expect(await effectCounts(workflowId)).toEqual({ rows: ITEMS, items: ITEMS, min: 0, max: ITEMS - 1 });

      const attempts = await attemptsOf(workflowId);
      expect(attempts.map((a) => [a.attempt, a.worker, a.outcome])).toEqual([
        [1, holderIdentity, null], // killed: it never finished
        [2, otherIdentity, 'completed'],
      ]);
      const [first, second] = attempts;
      // The kill really was mid-way, and the second attempt did the rest.
      expect(writtenByFirst).toBeGreaterThanOrEqual(atKill);
      expect(writtenByFirst).toBeLessThan(ITEMS);
      expect(second.written).toBe(ITEMS - writtenByFirst);
      // It resumed from the last checkpoint: at most one interval behind what the first attempt had written.
      expect(second.resumed_from % EVERY).toBe(0);
      expect(writtenByFirst - second.resumed_from).toBeGreaterThanOrEqual(0);
      expect(writtenByFirst - second.resumed_from).toBeLessThanOrEqual(EVERY);
      // Items redone (found already written when the second attempt wrote them) ≤ one checkpoint interval.
      const redone = attempts.reduce((sum, a) => sum + a.redone, 0);
      expect(redone).toBe(writtenByFirst - second.resumed_from);
      expect(redone).toBeLessThanOrEqual(EVERY);
      expect(first.redone).toBe(0);

      // Temporal's view: the second attempt started after the first one's heartbeat timed out.
      const events = await batchActivityEvents(workflowId);
      const started = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
      expect(started.map((s) => s.attempt)).toEqual([2]);
      expect(started[0].lastFailure?.timeoutFailureInfo).toBeTruthy();
      expect(started[0].identity).toBe(otherIdentity);

      figures['kill: effects at kill'] = writtenByFirst;
      figures['kill: resumed from'] = second.resumed_from;
      figures['kill: redone'] = redone;
      figures['kill → resumed attempt ms'] = second.started_at.getTime() - killedAt;
      expect(other.running).toBe(true);
    } finally {
      await retire(...Object.values(workers));
    }
  }),
  240_000,
);

test(
  'fencing: a worker paused (SIGSTOP) past its heartbeat timeout is superseded; resumed (SIGCONT), its late writes are refused and logged',
  withReports(async () => {
    const ITEMS = 6_000;
    const workers = { 'fo-c': startWorker('fo-c', { maxConcurrent: 1 }), 'fo-d': startWorker('fo-d', { maxConcurrent: 1 }) };
    try {
      await ready(...Object.values(workers));
      const workflowId = await startBatchRun(`pause-${suffix()}`, { items: ITEMS, checkpointEvery: 500, itemWorkMs: 1 });
      const { holder, holderIdentity, otherIdentity } = await holderOf(workflowId, workers);

      await waitForEffects(workflowId, ITEMS / 3);
      holder.child.kill('SIGSTOP');
      const pausedAt = Date.now();
      try {
        // The heartbeat times out; the other worker takes the task over and finishes it while the first is paused.
        const outcome = await result(workflowId);
        expect(outcome).toMatchObject({ outcome: 'succeeded' });
        expect((outcome.outputs.batch as BatchOutput).attempt).toBe(2);
      } finally {
        holder.child.kill('SIGCONT');
      }
      figures['pause: paused ms'] = Date.now() - pausedAt;
      const writtenWhilePaused = (await effectCounts(workflowId, 1)).rows;

      // Resumed, the first attempt goes on with its next write: the database refuses it, the worker logs it.
      await holder.waitForOutput('"msg":"fenced write refused"', 60_000);
      const fenced = await eventually('the refused write recorded', 30_000, async () => {
        const rows = await db.selectFrom('fenced_writes').selectAll().where('workflow_id', '=', workflowId).execute();
        return rows.length > 0 ? rows : undefined;
      });
      expect(fenced[0]).toMatchObject({ attempt: 1, worker: holderIdentity, fence_attempt: 2, fence_worker: otherIdentity });
      expect(['effects', 'checkpoint']).toContain(fenced[0].write_kind);
      const refusedLine = holder.stderr.split('\n').find((line) => line.includes('"msg":"fenced write refused"'))!;
      expect(JSON.parse(refusedLine)).toMatchObject({ level: 40, workflowId, attempt: 1, worker: holderIdentity, fence: { attempt: 2, worker: otherIdentity } });

      // The first attempt stopped there: nothing more from it, each item once.
      const first = await eventually('attempt 1 closed as fenced', 30_000, async () => {
        const row = (await attemptsOf(workflowId)).find((a) => a.attempt === 1);
        return row?.outcome ? row : undefined;
      });
      expect(first).toMatchObject({ worker: holderIdentity, outcome: 'fenced' });
      // Items refused (a refused checkpoint carries none).
      const refusedWrites = await db.selectFrom('fenced_writes').select('items').where('workflow_id', '=', workflowId).execute();
      expect(first.refused).toBe(refusedWrites.reduce((sum, w) => sum + w.items, 0));
      await sleep(1_000);
      expect((await effectCounts(workflowId, 1)).rows).toBe(writtenWhilePaused);
      expect(await effectCounts(workflowId)).toEqual({ rows: ITEMS, items: ITEMS, min: 0, max: ITEMS - 1 });

      // Fencing stopped the activity, not the worker: it is alive and still shuts down cleanly.
      expect(holder.running).toBe(true);
      const stopped = await holder.stop('SIGTERM', 60_000);
      expect(stopped).toMatchObject({ code: 0, timedOut: false });
    } finally {
      await retire(...Object.values(workers));
    }
  }),
  240_000,
);

test(
  'graceful shutdown: SIGTERM during a run stops polling, lets the activity finish, exits 0; no attempt fails',
  withReports(async () => {
    const ITEMS = 5_000;
    // Default concurrency: both keep polls open, so "stops polling" is tested (a second run must go to the other one).
    const workers = { 'fo-e': startWorker('fo-e'), 'fo-f': startWorker('fo-f') };
    try {
      await ready(...Object.values(workers));
      const workflowId = await startBatchRun(`term-${suffix()}`, { items: ITEMS, checkpointEvery: 500, itemWorkMs: 1 });
      const { holder, holderIdentity, otherIdentity } = await holderOf(workflowId, workers);
      await waitForEffects(workflowId, ITEMS / 5);
      holder.child.kill('SIGTERM');
      await holder.waitForOutput('"msg":"shutdown requested: polling stopped', 30_000);

      const secondId = await startBatchRun(`after-term-${suffix()}`, { items: 200, checkpointEvery: 100 });
      const exit = await eventually('the draining worker to exit', 120_000, async () => (holder.running ? undefined : holder.exited));
      expect(exit).toEqual({ code: 0, signal: null });
      expect(holder.stderr).toContain('"msg":"worker stopped"');

      const outcome = await result(workflowId);
      expect(outcome).toMatchObject({ outcome: 'succeeded' });
      expect(outcome.outputs.batch).toMatchObject({ attempt: 1, resumeSource: 'start', items: ITEMS, written: ITEMS, redone: 0 });
      expect(await effectCounts(workflowId)).toEqual({ rows: ITEMS, items: ITEMS, min: 0, max: ITEMS - 1 });
      expect((await attemptsOf(workflowId)).map((a) => [a.attempt, a.worker, a.outcome])).toEqual([[1, holderIdentity, 'completed']]);

      // History: one attempt, on the worker that was told to stop; nothing failed or timed out.
      const events = await batchActivityEvents(workflowId);
      expect(events.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes)).toEqual([]);
      const started = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
      expect(started.map((s) => [s.attempt, s.identity])).toEqual([[1, holderIdentity]]);
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      for (const event of history.events ?? []) {
        if (event.activityTaskStartedEventAttributes) expect(event.activityTaskStartedEventAttributes.attempt).toBe(1);
        expect(event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes ?? null).toBeNull();
      }

      // The run started after SIGTERM went to the worker still polling.
      expect(await result(secondId)).toMatchObject({ outcome: 'succeeded' });
      expect((await attemptsOf(secondId)).map((a) => a.worker)).toEqual([otherIdentity]);
    } finally {
      await retire(...Object.values(workers));
    }
  }),
  240_000,
);

test(
  'Temporal server restart: kill -9 the dev server while 20 runs are in flight, start it again on the same file; every run completes',
  withReports(async () => {
    const RUNS = 20;
    const ITEMS = 2_000;
    const workers = [startWorker('fo-g'), startWorker('fo-h')];
    try {
      await ready(...workers);
      const ids = await Promise.all(
        Array.from({ length: RUNS }, (_, i) => startBatchRun(`restart-${i}-${suffix()}`, { items: ITEMS, checkpointEvery: 200, itemWorkMs: 2 })),
      );
      // Kill it once most runs are in their batch task.
      await eventually('batch attempts in flight', 90_000, async () => {
        const { n } = await db
          .selectFrom('task_attempts')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('workflow_id', 'in', ids)
          .executeTakeFirstOrThrow();
        return Number(n) >= RUNS / 2 ? true : undefined;
      });
      const inFlight = await db.selectFrom('task_attempts').select('workflow_id').where('workflow_id', 'in', ids).where('outcome', 'is', null).execute();
      const finishedRuns = await db.selectFrom('runs').select('workflow_id').where('workflow_id', 'in', ids).where('status', '!=', 'running').execute();
      await connection.close();
      await temporalServer.kill('SIGKILL');
      const killedAt = Date.now();
      expect(inFlight.length).toBeGreaterThan(0);
      expect(finishedRuns.length).toBeLessThan(RUNS);
      await sleep(2_000);
      await temporalServer.start();
      figures['restart: server down ms'] = Date.now() - killedAt;
      figures['restart: batch attempts in flight at kill'] = inFlight.length;
      connection = await Connection.connect({ address: temporalServer.address });
      client = new Client({ connection });

      const results = await Promise.all(ids.map((id) => result(id)));
      expect(results.map((r) => r.outcome)).toEqual(ids.map(() => 'succeeded'));
      for (const id of ids) expect(await effectCounts(id)).toEqual({ rows: ITEMS, items: ITEMS, min: 0, max: ITEMS - 1 });
      figures['restart: all runs done after kill ms'] = Date.now() - killedAt;
      // The workers rode it out: still running.
      expect(workers.every((w) => w.running) && control.running).toBe(true);
    } finally {
      await retire(...workers);
    }
  }),
  300_000,
);
