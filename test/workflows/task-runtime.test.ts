/**
 * taskRuntime on the time-skipping test server with the real workers (control + the `batch` capability, and the
 * test.flaky-batch plugin) against PGlite: a 24-hour runtime over 10,000 loaded items with pacing and several
 * continue-as-new hand-overs, each item effected exactly once; pause for 6 simulated hours; cancel mid-batch; extend
 * by update and refused updates; a signal sent while the runtime hands over; deadline → resume → completed;
 * terminated by hand → resumed from the database; the failing-batch policies; bad input refused by the workflow.
 */
import { hostname } from 'node:os';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { specOf, type CapabilityDefinition } from '../../activities/capabilities/define';
import { FencedOutError, TaskEffects } from '../../activities/common/effects';
import { createCapabilityActivities } from '../../activities';
import { prepareTaskRuntime, resumeFromDatabase, startTaskRuntime } from '../../client/task-runtime';
import { AdosStage } from '../../shared/contract/search-attributes';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { taskRuntimeWorkflowId } from '../../shared/contract/workflow-ids';
import type { TaskRuntimeRequest } from '../../shared/contract/task-runtime/input';
import {
  blockTaskId,
  cancelSignal,
  extendBudgetUpdate,
  pauseSignal,
  resumeSignal,
  setParallelismUpdate,
  TASK_RUNTIME_ENVIRONMENT,
  taskRuntimeProgressQuery,
  type TaskRuntimeProgress,
  type TaskRuntimeResult,
  type TaskRuntimeState,
} from '../../shared/contract/task-runtime/messages';
import { createLogger } from '../../shared/node/logger';
import { latestRuntimeCheckpoint, listDeadLetters, loadWorkItems, saveRuntimeCheckpoint, settleBlockRange } from '../../shared/node/task-runtime/store';
import { generationBase } from '../../workflows/task-runtime/runtime-rules';
import flakyBatch from '../fixtures/plugins/task-runtime-flaky';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { chainRuns, effectsPerItem, exactlyOnceProblems, writeWorkItems } from '../helpers/task-runtime';
import { createTimeSkippingEnv } from '../helpers/toolchain';
import { auditEvents, sleep } from './fixtures';

let env: TestWorkflowEnvironment;
let stack: AdosStack;
let workflowBundle: WorkflowBundle;
let plugin: { worker: Worker; running: Promise<void> } | undefined;

beforeAll(async () => {
  installQuietRuntime();
  workflowBundle = await bundleWorkflows();
  env = await createTimeSkippingEnv();
  stack = await startStack({ env, workflowBundle, capabilities: ['batch'] });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: capabilityTaskQueue(flakyBatch.name, stack.taskQueuePrefix),
    activities: createCapabilityActivities(flakyBatch.name, { db: stack.db, logger: createLogger('flaky', 'error'), workerIdentity: `flaky@${hostname()}`, workspaceRoot: '/tmp/ados-flaky' }, [flakyBatch]),
    shutdownGraceTime: '2s',
  });
  plugin = { worker, running: worker.run() };
}, 180_000);

afterAll(async () => {
  if (plugin?.worker.getState() === 'RUNNING') plugin.worker.shutdown();
  await plugin?.running;
  await stack?.shutdown();
  await env?.teardown();
});

let taskCounter = 0;
const freshTask = (tag: string) => `${tag}-${++taskCounter}-${Math.random().toString(36).slice(2, 6)}`;

function request(taskId: string, extra: Partial<TaskRuntimeRequest> = {}): TaskRuntimeRequest {
  return { tenantId: 'acme', taskId, source: { kind: 'generator', items: 1000 }, capability: 'batch', batchSize: 100, maxParallel: 2, requestedBy: 'carol', ...extra };
}

async function start(raw: TaskRuntimeRequest, on: AdosStack = stack) {
  const started = await startTaskRuntime(on.client, on.config, prepareTaskRuntime(raw, undefined));
  return { ...started, handle: on.client.workflow.getHandle(started.workflowId) };
}

/**
 * Polls the progress query until `until` holds; with `advance` (e.g. "1m") each poll also moves the test server's
 * clock on by that much (a query alone skips no time). Never across a hand-over: see waitForStage.
 */
async function waitForProgress(workflowId: string, until: (p: TaskRuntimeProgress) => boolean, advance?: Duration, timeoutMs = 60_000, on: AdosStack = stack): Promise<TaskRuntimeProgress> {
  const deadline = Date.now() + timeoutMs;
  let last: TaskRuntimeProgress | undefined;
  for (;;) {
    last = await on.client.workflow.getHandle(workflowId).query(taskRuntimeProgressQuery);
    if (until(last)) return last;
    if (Date.now() > deadline) throw new Error(`progress of ${workflowId} did not reach the awaited state; last: ${JSON.stringify(last)}`);
    if (advance) await on.env.sleep(advance);
    else await sleep(50);
  }
}

/**
 * Polls the current run of the chain and its AdosStage search attribute (describe, no query) until `until` holds.
 * Around a hand-over a query must not be used. Seen on the time-skipping test server (1.38.0) with queries every 50 ms
 * through a continue-as-new: the next run had started, but the old run stayed open with its last workflow task
 * started and never completed (no pending activity), for minutes, until a retry of that task went through. A workflow
 * task in flight holds the server's time-skipping lock, so every later test's timers stopped skipping too (the
 * deadline test, paced, then hung).
 */
async function waitForStage(workflowId: string, until: (run: { runId: string; stage?: string }) => boolean, timeoutMs = 120_000): Promise<{ runId: string; stage?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    const run = { runId: description.runId, stage: description.typedSearchAttributes.get(AdosStage) };
    if (until(run)) return run;
    if (Date.now() > deadline) throw new Error(`${workflowId} did not reach the awaited stage; last: ${JSON.stringify(run)}`);
    await sleep(50);
  }
}

async function expectExactlyOnce(workflowId: string, items: number, batchSize = 100, except?: ReadonlySet<number>, on: AdosStack = stack) {
  const { perSeq } = await effectsPerItem(on.db, workflowId, batchSize);
  expect(exactlyOnceProblems(perSeq, items, except)).toEqual({ missing: [], twice: [], stray: [] });
}

test('a 24-hour runtime over 10,000 loaded items with pacing: every item once, several hand-overs, each run under the threshold', async () => {
  const taskId = freshTask('day');
  await loadWorkItems(stack.db, { tenantId: 'acme', taskId }, writeWorkItems(10_000));
  const handOverAtEvents = 400;
  // 100 batches, one started every 14 minutes: about 23 hours of the 24-hour budget.
  const { workflowId, runId, handle } = await start(request(taskId, { source: { kind: 'table' }, pacing: '14m', budget: '24h', handOverAtEvents, checkpointEvery: 1000 }));
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 10_000, processed: 10_000, deadLettered: 0, total: 10_000 });
  await expectExactlyOnce(workflowId, 10_000);
  const runs = await chainRuns(stack.client, workflowId, runId);
  expect(runs.length).toBeGreaterThanOrEqual(4);
  expect(runs.filter((r) => r.continuedAsNew)).toHaveLength(runs.length - 1);
  for (const run of runs) expect(run.events).toBeLessThanOrEqual(handOverAtEvents);
  expect(result.chainIndex).toBe(runs.length - 1);
  // Simulated time: the pacing made it last most of the day, within the budget.
  const startedAt = (await stack.client.workflow.getHandle(workflowId, runId).describe()).startTime.getTime();
  const closedAt = (await handle.describe()).closeTime!.getTime();
  expect(closedAt - startedAt).toBeGreaterThan(20 * 3_600_000);
  expect(closedAt - startedAt).toBeLessThan(24 * 3_600_000);
  process.stdout.write(`[task-runtime] 24h chain: ${runs.map((r) => r.events).join(', ')} events per run\n`);
}, 600_000);

test('pause for 6 simulated hours: nothing starts, the deadline moves on by the pause, resume completes it', async () => {
  const { workflowId, handle } = await start(request(freshTask('pause'), { pacing: '10m', maxParallel: 1 }));
  await waitForProgress(workflowId, (p) => p.done >= 200, '1m');
  await handle.signal(pauseSignal, { by: 'carol', reason: 'maintenance' });
  const paused = await waitForProgress(workflowId, (p) => p.stage === 'paused' && p.inFlight === 0);
  await env.sleep('6h');
  const later = await handle.query(taskRuntimeProgressQuery);
  expect(later).toMatchObject({ paused: true, done: paused.done, stage: 'paused' });
  await handle.signal(resumeSignal, { by: 'carol' });
  // Paused time does not count: on resume the deadline has moved on by the pause.
  const resumed = await waitForProgress(workflowId, (p) => !p.paused);
  expect(Date.parse(resumed.deadline) - Date.parse(paused.deadline)).toBeGreaterThanOrEqual(6 * 3_600_000 - 60_000);
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 1000, paused: false });
  await expectExactlyOnce(workflowId, 1000);
  const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
  expect(events).toEqual(expect.arrayContaining(['pause-requested', 'resume-requested', 'finished']));
});

test('cancel mid-batch: the batch in flight finishes, a checkpoint is recorded, it ends cancelled', async () => {
  const taskId = freshTask('cancel');
  const { workflowId, handle } = await start(request(taskId, { source: { kind: 'generator', items: 5000 }, maxParallel: 1, capabilityInput: { itemWorkMs: 10 } }));
  await waitForProgress(workflowId, (p) => p.inFlight === 1 && p.done >= 100);
  await handle.signal(cancelSignal, { by: 'carol', reason: 'enough' });
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result.outcome).toBe('cancelled');
  expect(result.done % 100).toBe(0);
  expect(result.done).toBeGreaterThanOrEqual(200);
  expect(result.done).toBeLessThan(5000);
  const { rows } = await effectsPerItem(stack.db, workflowId, 100);
  expect(rows).toBe(result.done);
  await expectExactlyOnce(workflowId, result.done);
  expect(await latestRuntimeCheckpoint(stack.db, { tenantId: 'acme', taskId })).toMatchObject({ reason: 'cancelled', state: { cursor: result.done } });
});

test('extend by update; out-of-range updates are refused with the field named and the runtime carries on', async () => {
  const { workflowId, handle } = await start(request(freshTask('extend'), { pacing: '10m', maxParallel: 1, budget: '1h' }));
  await waitForProgress(workflowId, (p) => p.done >= 100, '1m');
  await expect(handle.executeUpdate(setParallelismUpdate, { args: [{ parallelism: 0 }] })).rejects.toThrow(WorkflowUpdateFailedError);
  const refused = await handle.executeUpdate(setParallelismUpdate, { args: [{ parallelism: 65 }] }).catch((e: WorkflowUpdateFailedError) => e.cause?.message);
  expect(refused).toBe('parallelism: must be a whole number from 1 to 64 (got 65)');
  const badExtension = await handle.executeUpdate(extendBudgetUpdate, { args: [{ by: 'soon' }] }).catch((e: WorkflowUpdateFailedError) => e.cause?.message);
  expect(badExtension).toBe('by: must be a duration longer than zero, e.g. "6h" (got "soon")');
  const extended = await handle.executeUpdate(extendBudgetUpdate, { args: [{ by: '3h', requestedBy: 'carol' }] });
  expect(extended.budgetMs).toBe(4 * 3_600_000);
  expect(await handle.executeUpdate(setParallelismUpdate, { args: [{ parallelism: 3 }] })).toEqual({ previous: 1, parallelism: 3 });
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 1000, parallelism: 3, budgetMs: 4 * 3_600_000 });
  await expectExactlyOnce(workflowId, 1000);
  const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
  expect(events.filter((e) => e === 'budget-extended' || e === 'parallelism-set')).toEqual(['budget-extended', 'parallelism-set']);
});

test('a signal sent while the runtime hands over (continue-as-new) is honoured by the next run', async () => {
  const { workflowId, handle } = await start(request(freshTask('handover'), { source: { kind: 'generator', items: 6000 }, maxParallel: 2, handOverAtEvents: 200, capabilityInput: { itemWorkMs: 5 } }));
  // Any hand-over of the chain will do (a poll can miss a short one): 'handing-over' is either a run draining before
  // its continue-as-new or the next run before its first workflow task (it inherits the search attributes). Either
  // way the signal arrives during the hand-over, and a later run of the chain must honour it.
  await waitForStage(workflowId, (run) => run.stage === 'handing-over');
  await handle.signal(pauseSignal, { by: 'carol', reason: 'during the hand-over' });
  await waitForStage(workflowId, (run) => run.stage === 'paused');
  const next = await handle.query(taskRuntimeProgressQuery);
  expect(next).toMatchObject({ paused: true, stage: 'paused' });
  expect(next.chainIndex).toBeGreaterThan(0);
  await handle.signal(resumeSignal, { by: 'carol' });
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 6000 });
  await expectExactlyOnce(workflowId, 6000);
}, 300_000);

test('deadline reached → stops with a checkpoint → resumed from it → completes', async () => {
  const taskId = freshTask('deadline');
  const { workflowId, handle } = await start(request(taskId, { pacing: '20m', maxParallel: 1, budget: '1h' }));
  const first = (await handle.result()) as TaskRuntimeResult;
  expect(first.outcome).toBe('deadline_reached');
  expect(first.done).toBeGreaterThan(0);
  expect(first.done).toBeLessThan(1000);
  const checkpoint = await latestRuntimeCheckpoint(stack.db, { tenantId: 'acme', taskId });
  expect(checkpoint).toMatchObject({ reason: 'deadline_reached', state: { cursor: first.done } });
  const resumed = await resumeFromDatabase(stack.client, stack.config, stack.db, { tenantId: 'acme', taskId }, '24h');
  const result = (await stack.client.workflow.getHandle(workflowId, resumed.runId).result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 1000 });
  expect(result.chainIndex).toBeGreaterThan(checkpoint!.chainIndex);
  await expectExactlyOnce(workflowId, 1000);
});

test('terminated by hand with batches in flight → resumed from the database: every item once', async () => {
  // On a test server of its own: the test server leaves the activities a terminated run had in flight started for
  // good (describe lists them as pending), and each one holds the server's time-skipping lock, so no later test's
  // timer would fire by itself.
  const own = await startStack({ env: await createTimeSkippingEnv(), workflowBundle, capabilities: ['batch'] });
  try {
    const taskId = freshTask('terminated');
    const { workflowId, handle } = await start(request(taskId, { source: { kind: 'generator', items: 3000 }, maxParallel: 3, checkpointEvery: 200, capabilityInput: { itemWorkMs: 2 } }), own);
    await waitForProgress(workflowId, (p) => p.done >= 800 && p.inFlight > 0, undefined, 60_000, own);
    await handle.terminate('by hand');
    const checkpoint = await latestRuntimeCheckpoint(own.db, { tenantId: 'acme', taskId });
    expect(checkpoint!.state.cursor).toBeGreaterThan(0);
    const resumed = await resumeFromDatabase(own.client, own.config, own.db, { tenantId: 'acme', taskId });
    const result = (await own.client.workflow.getHandle(workflowId, resumed.runId).result()) as TaskRuntimeResult;
    expect(result).toMatchObject({ outcome: 'completed', done: 3000 });
    await expectExactlyOnce(workflowId, 3000, 100, undefined, own);
  } finally {
    await own.shutdown();
    await own.env.teardown();
  }
}, 180_000);

const flakyRequest = (taskId: string, extra: Partial<TaskRuntimeRequest> = {}) =>
  request(taskId, { source: { kind: 'table' }, capability: flakyBatch.name, capabilitySpec: specOf(flakyBatch as CapabilityDefinition) as TaskRuntimeRequest['capabilitySpec'], onFailure: { retries: 1, then: 'dead-letter' }, ...extra });

test('a batch of 10 whose item 7 always fails, retried after a crash mid-batch: item 7 alone is a dead letter, the other 9 are effected once each', async () => {
  const taskId = freshTask('item-7');
  // Item 4 stalls the first attempt (no heartbeat: timed out, retried, and a zombie should it wake); item 7 always fails.
  await loadWorkItems(stack.db, { tenantId: 'acme', taskId }, writeWorkItems(10, { payload: (n) => (n === 7 ? { fail: true } : n === 4 ? { crash: true } : { n }) }));
  const { workflowId, handle } = await start(flakyRequest(taskId, { batchSize: 10, maxParallel: 1 }));
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 10, processed: 9, deadLettered: 1 });
  const letters = await listDeadLetters(stack.db, { tenantId: 'acme', taskId });
  expect(letters).toEqual([expect.objectContaining({ seq: 7, key: 'item-7', block: 0, attempts: 2 })]);
  expect(letters[0].error).toContain('item item-7 is marked to fail');
  await expectExactlyOnce(workflowId, 10, 10, new Set([7]));
  const { rows } = await effectsPerItem(stack.db, workflowId, 10);
  expect(rows).toBe(9);
  // The crash stalled the first attempt at item 4 (its heartbeat timed out): the retry (attempt 2, the last) effected
  // items 4–6 and failed at item 7; items 8–10 were effected by a sub-batch of their own, item 7 alone was retried.
  const started = (await handle.fetchHistory()).events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
  expect(started?.attempt).toBe(2);
  const written = await stack.db.selectFrom('effects').select(['task_id', 'item', 'attempt']).where('workflow_id', '=', workflowId).orderBy('task_id').orderBy('item').execute();
  expect(written.map((e) => `${e.task_id}/${e.item}@${e.attempt}`)).toEqual(['block-0/0@1', 'block-0/1@1', 'block-0/2@1', 'block-0/3@2', 'block-0/4@2', 'block-0/5@2', 'block-0+7/0@1', 'block-0+7/1@1', 'block-0+7/2@1']);
  const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
  expect(events).toEqual(expect.arrayContaining(['batch-split', 'item-dead-lettered']));
}, 120_000);

test('a run whose history is spent while it settles a batch hands the split block over: the next run settles it from the database', async () => {
  const taskId = freshTask('split-over');
  // Every third item fails: settling a batch of 30 takes more events than a run of 200 has.
  await loadWorkItems(stack.db, { tenantId: 'acme', taskId }, writeWorkItems(60, { payload: (n) => (n % 3 === 0 ? { fail: true } : { n }) }));
  const { workflowId, runId, handle } = await start(flakyRequest(taskId, { batchSize: 30, maxParallel: 1, handOverAtEvents: 200, onFailure: { retries: 0, then: 'dead-letter' } }));
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 60, processed: 40, deadLettered: 20 });
  const failing = new Set(Array.from({ length: 20 }, (_, i) => 3 * (i + 1)));
  expect((await listDeadLetters(stack.db, { tenantId: 'acme', taskId })).map((l) => l.seq)).toEqual([...failing]);
  await expectExactlyOnce(workflowId, 60, 30, failing);
  expect((await chainRuns(stack.client, workflowId, runId)).length).toBeGreaterThan(1);
  expect((await auditEvents(stack.db, workflowId)).map((e) => e.event)).toContain('batch-deferred');
}, 120_000);

test('terminated by hand while a sub-batch had not claimed its fence → resumed from the database: that attempt, waking late, is refused; every item once', async () => {
  const taskId = freshTask('late-sub');
  const task = { tenantId: 'acme', taskId };
  await loadWorkItems(stack.db, task, writeWorkItems(10));
  const input = prepareTaskRuntime(flakyRequest(taskId, { batchSize: 10, maxParallel: 1 }), undefined);
  const workflowId = taskRuntimeWorkflowId('acme', taskId);
  const key = (offset: number) => ({ workflowId, environment: TASK_RUNTIME_ENVIRONMENT, taskId: blockTaskId(0, offset) });
  const logger = createLogger('late-sub', 'error');
  // What the terminated run (chain index 0, checkpointed at cursor 0) left: its batch of block 0 effected items 1–7
  // and failed at item 8; the settle moved block-0's fence, read 8–10 as open and scheduled item 8 alone (block-0+7,
  // generation +3) and items 9–10 (block-0+8, generation +4), and neither had claimed its fence when it was terminated.
  const base = generationBase(0);
  const whole = await TaskEffects.claim(stack.db, key(0), { generation: base + 1, attempt: 2, worker: 'terminated' }, logger);
  await whole.write(Array.from({ length: 7 }, (_, item) => ({ item, digest: `item-${item + 1}` })));
  expect(await settleBlockRange(stack.db, task, { workflowId, block: 0, blockSize: 10, fromSeq: 1, toSeq: 10, seal: [0], generation: base + 2 })).toEqual({ open: [8, 9, 10], deadLettered: [] });
  const state: TaskRuntimeState = {
    chainIndex: 0, cursor: 0, processed: 0, deadLettered: 0, batches: 0, paused: false, cancelRequested: false, parallelism: 1,
    budgetMs: 86_400_000, spentMs: 0, sessionStartedAt: new Date().toISOString(), doneAtSessionStart: 0, pausedMs: 0, auditSeq: 1,
  };
  await saveRuntimeCheckpoint(stack.db, task, { workflowId, runId: 'terminated-run', reason: 'interval', state, input });
  const resumed = await resumeFromDatabase(stack.client, stack.config, stack.db, task);
  const result = (await stack.client.workflow.getHandle(workflowId, resumed.runId).result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 10, processed: 10, deadLettered: 0 });
  // The terminated run's sub-batch of items 9–10 wakes up now: its claim (or, had it got one, its writes) is refused.
  const late = TaskEffects.claim(stack.db, key(8), { generation: base + 4, attempt: 1, worker: 'late' }, logger).then((effects) =>
    effects.write([
      { item: 0, digest: 'item-9' },
      { item: 1, digest: 'item-10' },
    ]),
  );
  await expect(late).rejects.toBeInstanceOf(FencedOutError);
  await expectExactlyOnce(workflowId, 10, 10);
  // The resumed session settled block 0 (it moved every key's fence) and ran items 8–10 under block-0+7.
  const written = await stack.db.selectFrom('effects').select(['task_id', 'item']).where('workflow_id', '=', workflowId).orderBy('task_id').orderBy('item').execute();
  expect(written.map((e) => `${e.task_id}/${e.item}`)).toEqual([...Array.from({ length: 7 }, (_, item) => `block-0/${item}`), 'block-0+7/0', 'block-0+7/1', 'block-0+7/2']);
}, 120_000);

test('dead letters are the failing items only, however many a batch has; `stop` ends the runtime as failed', async () => {
  const taskId = freshTask('flaky');
  // Items 250, 251 and 290 fail every time: batch 2 (items 201–300) processes 201–249, then fails; only those three are dead letters.
  const failing = new Set([250, 251, 290]);
  await loadWorkItems(stack.db, { tenantId: 'acme', taskId }, writeWorkItems(500, { payload: (n) => (failing.has(n) ? { fail: true } : { n }) }));
  const raw = flakyRequest(taskId);
  const { workflowId, handle } = await start(raw);
  const result = (await handle.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', done: 500, deadLettered: 3, processed: 497 });
  const letters = await listDeadLetters(stack.db, { tenantId: 'acme', taskId });
  expect(letters.map((l) => l.seq)).toEqual([...failing]);
  expect(letters[0]).toMatchObject({ key: 'item-250', block: 2, attempts: 2 });
  expect(letters[0].error).toContain('item item-250 is marked to fail');
  await expectExactlyOnce(workflowId, 500, 100, failing);

  const stopTask = freshTask('flaky-stop');
  await loadWorkItems(stack.db, { tenantId: 'acme', taskId: stopTask }, writeWorkItems(500, { payload: (n) => (failing.has(n) ? { fail: true } : { n }) }));
  const stopped = (await (await start({ ...raw, taskId: stopTask, maxParallel: 1, onFailure: { retries: 0, then: 'stop' } })).handle.result()) as TaskRuntimeResult;
  expect(stopped.outcome).toBe('failed');
  expect(stopped.reason).toContain('items 201–300');
  expect(await latestRuntimeCheckpoint(stack.db, { tenantId: 'acme', taskId: stopTask })).toMatchObject({ reason: 'failed', state: { cursor: 200 } });
});

test('input the workflow refuses names the field; a malformed signal is refused and audited while it carries on', async () => {
  const handle = await stack.client.workflow.start('taskRuntime', {
    taskQueue: `${stack.taskQueuePrefix}.control`,
    workflowId: `runtime-acme-${freshTask('bad')}`,
    args: [{ ...request('x'), batchSize: 0 }],
  });
  const failure = await handle.result().catch((e: WorkflowFailedError) => e.cause?.message);
  expect(failure).toContain('batchSize: must be at least 1');

  const { workflowId, handle: running } = await start(request(freshTask('signal'), { pacing: '5m', maxParallel: 1 }));
  await running.signal(pauseSignal, { by: 'carol', force: true } as never);
  const result = (await running.result()) as TaskRuntimeResult;
  expect(result).toMatchObject({ outcome: 'completed', paused: false });
  const refused = (await auditEvents(stack.db, workflowId)).find((e) => e.event === 'signal-refused');
  expect(refused?.detail).toMatchObject({ signal: 'pause', by: 'carol' });
});
