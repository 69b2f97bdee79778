/**
 * Failover latency (`npm run bench -- failover-latency`): how long from SIGKILL of the worker running a checkpointed
 * `batch` task to the start of the attempt that resumes it on another worker. 20 kills, each at a random point of the
 * attempt (0.5–6 s in), against the real stack as processes (bench/lib/process-stack.ts): Temporal dev server on a
 * file, the benchmark database (bench/lib/database.ts), control worker and capability workers as `ados worker`
 * processes. A killed worker is replaced at once, so the pool keeps two workers.
 *
 * The kill time is this process's clock; the resumed attempt's start is task_attempts.started_at (the database's
 * clock, same machine). The server's last heartbeat time, read right after the kill, splits the latency into the wait
 * for the heartbeat timeout and what follows it (retry backoff, dispatch, the worker's claim of the fence).
 *
 * Target: ≤ heartbeatTimeout + 2 s (the registry's heartbeat timeout for `batch`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDeliveryRun } from '../../client/delivery';
import { CAPABILITIES } from '../../shared/contract/capabilities';
import { loadBenchConfig } from '../../shared/node/config';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { effectsAccount, type EffectsAccount } from '../lib/effects-account';
import { failoversAfterKill, startProcessStack, waitReady, type ProcessStack } from '../lib/process-stack';

const KILLS = loadBenchConfig().failoverKills;
const ITEMS = 4_000;
const ITEM_WORK_MS = 2;
const CHECKPOINT_EVERY = 250;
const HEARTBEAT_TIMEOUT_S = CAPABILITIES.batch.heartbeatTimeoutSeconds;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => process.stdout.write(`  [failover-latency] ${line}\n`);

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

interface Sample {
  workflowId: string;
  latencyMs: number;
  /** Kill → the server's heartbeat timeout (last heartbeat + timeout − kill). */
  toTimeoutMs?: number;
  /** Heartbeat timeout → resumed attempt started. */
  afterTimeoutMs?: number;
  redone: number;
  killedAfterMs: number;
  /** Heartbeat timeout → the server dispatched the resumed attempt (its ActivityTaskStarted event). */
  serverMs?: number;
  /** Dispatch → the worker recorded the attempt (claimed the fence, read the checkpoint). */
  workerMs?: number;
  resumedAttempt: number;
  resumedAt: number;
  timeoutAt?: number;
}

async function oneKill(stack: ProcessStack, index: number, nextWorker: () => string): Promise<Sample> {
  const started = await startDeliveryRun(stack.client, stack.config, {
    tenantId: 'bench',
    runId: `failover-${index}-${Date.now()}`,
    requestedBy: 'bench',
    environments: ['dev'],
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    plan: { tasks: [{ id: 'batch', capability: 'batch', input: { items: ITEMS, checkpointEvery: CHECKPOINT_EVERY, itemWorkMs: ITEM_WORK_MS } }] },
  });
  const { workflowId } = started;
  const first = await until('attempt 1', 60_000, async () =>
    stack.db.selectFrom('task_attempts').selectAll().where('workflow_id', '=', workflowId).executeTakeFirst(),
  );
  const killAfter = 500 + Math.random() * 5_500;
  await sleep(Math.max(0, first.started_at.getTime() + killAfter - Date.now()));
  const victim = stack.workers.get(first.worker)!;
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  // The server still shows the killed attempt as pending, with its last heartbeat.
  const description = await stack.client.workflow.getHandle(workflowId).describe().catch(() => undefined);
  const pending = description?.raw.pendingActivities?.find((a) => a.activityType?.name === 'batch');
  const lastHeartbeatMs = pending?.lastHeartbeatTime?.seconds ? Number(pending.lastHeartbeatTime.seconds) * 1000 + Math.floor((pending.lastHeartbeatTime.nanos ?? 0) / 1e6) : undefined;
  await victim.exited;
  const replacement = stack.startWorker(nextWorker(), ['batch']);
  const failover = await until('the resumed attempt', 120_000, async () => {
    const [f] = (await failoversAfterKill(stack.db, first.worker, killedAt)).filter((x) => x.workflowId === workflowId);
    return f?.resumedAt !== undefined ? f : undefined;
  });
  await waitReady(replacement);
  const timeoutAt = lastHeartbeatMs !== undefined ? lastHeartbeatMs + HEARTBEAT_TIMEOUT_S * 1000 : undefined;
  const sample: Sample = {
    workflowId,
    latencyMs: failover.latencyMs!,
    toTimeoutMs: timeoutAt !== undefined ? timeoutAt - killedAt : undefined,
    afterTimeoutMs: timeoutAt !== undefined ? failover.resumedAt! - timeoutAt : undefined,
    redone: 0,
    killedAfterMs: killedAt - first.started_at.getTime(),
    resumedAttempt: failover.resumedAttempt!,
    resumedAt: failover.resumedAt!,
    timeoutAt,
  };
  log(
    `kill ${index + 1}/${KILLS}: ${first.worker} killed ${(sample.killedAfterMs / 1000).toFixed(1)} s into the attempt; ` +
      `resumed by ${failover.resumedBy} from ${failover.resumedFrom} after ${(sample.latencyMs / 1000).toFixed(2)} s`,
  );
  return sample;
}

export const suite: BenchSuite = {
  name: 'failover-latency',
  description: `SIGKILL of a worker mid-activity → resumed attempt on another worker (${KILLS} kills; heartbeatTimeout ${HEARTBEAT_TIMEOUT_S} s)`,
  async run(): Promise<BenchReport> {
    const dir = path.join(os.tmpdir(), `ados-failover-bench-${process.pid}-${Date.now()}`);
    const stack = await startProcessStack({ dir, log });
    let next = 0;
    const nextWorker = () => `bench-w${++next}`;
    const samples: Sample[] = [];
    let runsSucceeded = 0;
    let retryInitialIntervalS = Number.NaN;
    let effects: EffectsAccount | undefined;
    try {
      const initial = [stack.startWorker(nextWorker(), ['batch']), stack.startWorker(nextWorker(), ['batch'])];
      await Promise.all(initial.map((w) => waitReady(w)));
      for (let i = 0; i < KILLS; i++) samples.push(await oneKill(stack, i, nextWorker));
      // Every run still completes; what each failover redid comes from its attempts.
      await until('all runs finished', 300_000, async () => {
        const open = await stack.db.selectFrom('runs').select('workflow_id').where('status', '=', 'running').execute();
        return open.length === 0 ? true : undefined;
      }, 500);
      const finished = await stack.db.selectFrom('runs').select(['workflow_id', 'status']).execute();
      runsSucceeded = finished.filter((r) => r.status === 'succeeded').length;
      effects = await effectsAccount(stack.db, samples.map((sample) => sample.workflowId));
      for (const sample of samples) {
        // What the attempt that resumed after this kill found already written (a run can fail over more than once: a
        // killed worker may also be running resumed attempts of earlier runs).
        const row = await stack.db
          .selectFrom('task_attempts')
          .select('redone')
          .where('workflow_id', '=', sample.workflowId)
          .where('attempt', '=', sample.resumedAttempt)
          .executeTakeFirst();
        sample.redone = Number(row?.redone ?? 0);
        // The history's ActivityTaskStarted (written at completion, for the last attempt) is the server's dispatch time.
        const history = await stack.client.workflow.getHandle(sample.workflowId).fetchHistory();
        const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'batch');
        const interval = scheduled?.activityTaskScheduledEventAttributes?.retryPolicy?.initialInterval;
        if (interval) retryInitialIntervalS = Number(interval.seconds ?? 0) + (interval.nanos ?? 0) / 1e9;
        const started = history.events?.find(
          (e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === sample.resumedAttempt,
        );
        if (started?.eventTime?.seconds && sample.timeoutAt !== undefined) {
          const dispatchedAt = Number(started.eventTime.seconds) * 1000 + Math.floor((started.eventTime.nanos ?? 0) / 1e6);
          sample.serverMs = dispatchedAt - sample.timeoutAt;
          sample.workerMs = sample.resumedAt - dispatchedAt;
        }
      }
    } catch (error) {
      stack.saveLogs();
      throw error;
    } finally {
      await stack.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const latencies = samples.map((s) => s.latencyMs / 1000);
    const toTimeout = samples.flatMap((s) => (s.toTimeoutMs !== undefined ? [s.toTimeoutMs / 1000] : []));
    const afterTimeout = samples.flatMap((s) => (s.afterTimeoutMs !== undefined ? [s.afterTimeoutMs / 1000] : []));
    const serverSide = samples.flatMap((s) => (s.serverMs !== undefined ? [s.serverMs / 1000] : []));
    const workerSide = samples.flatMap((s) => (s.workerMs !== undefined ? [s.workerMs / 1000] : []));
    const target = HEARTBEAT_TIMEOUT_S + 2;
    if (!effects) throw new Error('failover-latency: the runs ended without an account of their effects');
    const redone = samples.map((s) => s.redone);
    return {
      benchmark: 'failover-latency',
      description: `Kill (SIGKILL) of the worker running a checkpointed batch task → start of the attempt that resumes it on another worker. ${KILLS} kills at random points 0.5–6 s into the attempt; heartbeatTimeout ${HEARTBEAT_TIMEOUT_S} s (registry), retry initial interval ${CAPABILITIES.batch.retry.initialIntervalSeconds} s; ${stack.database}.`,
      metrics: [
        { name: 'failover latency, median', value: Number(median(latencies).toFixed(2)), unit: 's', target: { op: '<=', value: target } },
        { name: 'failover latency, max', value: Number(Math.max(...latencies).toFixed(2)), unit: 's', target: { op: '<=', value: target } },
        { name: 'failover latency, min', value: Number(Math.min(...latencies).toFixed(2)), unit: 's' },
        { name: 'kill → heartbeat timeout, median', value: Number(median(toTimeout).toFixed(2)), unit: 's' },
        { name: 'heartbeat timeout → resumed attempt, median', value: Number(median(afterTimeout).toFixed(2)), unit: 's' },
        { name: 'heartbeat timeout → resumed attempt, max', value: Number(Math.max(...afterTimeout).toFixed(2)), unit: 's' },
        { name: 'heartbeat timeout → retry dispatched by the server, median', value: Number(median(serverSide).toFixed(2)), unit: 's' },
        { name: 'dispatched → attempt resumed on the worker, median', value: Number(median(workerSide).toFixed(2)), unit: 's' },
        { name: 'items redone per kill (by the resumed attempt), median', value: median(redone), unit: 'items' },
        { name: 'items redone per kill (by the resumed attempt), max', value: Math.max(...redone), unit: 'items', target: { op: '<=', value: CHECKPOINT_EVERY } },
        { name: 'items redone by any attempt, max', value: effects.maxRedoneByOneAttempt, unit: 'items', target: { op: '<=', value: CHECKPOINT_EVERY } },
        { name: 'item writes refused as duplicates by the unique constraint (redone, all attempts)', value: effects.duplicateWritesRefused, unit: 'items' },
        { name: 'missing effects in finished batch tasks', value: effects.missingEffects, unit: 'items', target: { op: '<=', value: 0 } },
        { name: 'writes refused by the fence (claims, effects, checkpoints)', value: effects.fencedWrites, unit: 'writes' },
        { name: 'batch attempts killed in all (a killed worker may also run resumed attempts of earlier runs)', value: effects.attemptsOpen, unit: 'attempts' },
        { name: 'retry initial interval (as scheduled, from the history)', value: retryInitialIntervalS, unit: 's' },
        { name: 'kills', value: samples.length, unit: 'kills' },
        { name: 'runs succeeded', value: runsSucceeded, unit: 'runs', target: { op: '>=', value: KILLS } },
      ],
      notes: [
        'The wait for the heartbeat timeout dominates: the server notices a dead worker only when no heartbeat came for heartbeatTimeout. The SDK sends heartbeats at most every 0.8 × heartbeatTimeout, so a kill soon after a heartbeat waits nearly the whole timeout, and one just before the next heartbeat waits about 0.2 × of it.',
        '"heartbeat timeout → resumed attempt" is what follows: the server\'s timer processing and the retry policy\'s initial interval until it dispatches the retry ("retry dispatched by the server"; the dispatch time is the ActivityTaskStarted event of the resumed attempt), then the worker\'s start of the attempt (claim of the fence, reading the checkpoint).',
        'A duplicate effect cannot exist (a unique constraint); what is counted instead is what the resumed attempt wrote again and the constraint skipped (task_attempts.redone: the items its killed predecessor wrote past the last checkpoint), and whether any item is missing.',
        'Reproduce: `npm run bench -- failover-latency` (ADOS_BENCH_FAILOVER_KILLS=n for fewer kills; the database as for every benchmark, bench/lib/database.ts).',
      ],
      samples: {
        latencySeconds: latencies,
        killToHeartbeatTimeoutSeconds: toTimeout,
        heartbeatTimeoutToResumeSeconds: afterTimeout,
        killedAfterMs: samples.map((s) => s.killedAfterMs),
        redone,
        heartbeatTimeoutToDispatchSeconds: serverSide,
        dispatchToResumedSeconds: workerSide,
      },
    };
  },
};
