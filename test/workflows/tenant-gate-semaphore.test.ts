/**
 * The tenant gate on a real Temporal dev server with the real workers and PGlite, nothing mocked: delivery runs whose
 * one task (`exec`) waits for a file the test writes, so that the test decides when each run ends. Every check of
 * concurrency and order is made on the gate's own recorded history (replayGateHistory), never on timing: each grant
 * must go to the first request in grant order (priority, then arrival) and never exceed the capacity.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import {
  describeGateWait,
  agentResource,
  RUNS_RESOURCE,
  TENANT_GATE_WORKFLOW_TYPE,
  tenantGateRefreshSignal,
  tenantGateStateQuery,
  type GateRequest,
  type HolderRef,
  type GateState,
  type SlotGrant,
  type SlotRecall,
  type TenantGateInput,
  type TenantGateView,
} from '../../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../../shared/contract/workflow-ids';
import { createTenant } from '../../shared/node/tenancy/store';
import { eventually } from '../helpers/eventually';
import { bundleWorkflows, installQuietRuntime, keepPlannedParallelism, startStack, type AdosStack } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/toolchain';
import { tasksRun } from './fixtures';

let env: TestWorkflowEnvironment;
let stack: AdosStack;
let dir: string;

beforeAll(async () => {
  installQuietRuntime();
  const [workflowBundle, devEnv] = await Promise.all([bundleWorkflows(), createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] })]);
  env = devEnv;
  stack = await startStack({ env, workflowBundle });
  dir = mkdtempSync(join(tmpdir(), 'ados-gate-'));
}, 180_000);

afterAll(async () => {
  await stack?.shutdown();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** A task that runs until the test writes `<dir>/<name>`, and then fails if `<dir>/<name>.fail` exists. */
function waitingTask(id: string, name: string, agent?: string, dependsOn?: string[]) {
  return {
    id,
    ...(dependsOn ? { dependsOn } : {}),
    capability: 'exec',
    ...(agent ? { agent } : {}),
    retry: { maximumAttempts: 1 },
    input: { argv: [`until [ -e "$GATE_DIR/${name}" ]; do sleep 0.05; done; [ ! -e "$GATE_DIR/${name}.fail" ]`], shell: true, env: { GATE_DIR: dir } },
  };
}

/** A task of `agent` that returns at once. */
function noopTask(id: string, agent: string, dependsOn: string[] = []) {
  return { id, capability: 'noop', agent, dependsOn, input: {} };
}

function waitingRun(tenantId: string, runId: string, options: { priority?: number; tasks?: DeliveryRunInput['plan']['tasks'] } = {}): DeliveryRunInput {
  return tasksRun(tenantId, runId, options.tasks ?? [waitingTask('wait', runId)], {
    escalationTimeout: '1s',
    maxParallel: 8,
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
  });
}

const release = (name: string, fail = false) => {
  if (fail) writeFileSync(join(dir, `${name}.fail`), '');
  writeFileSync(join(dir, name), '');
};

const gateView = (tenantId: string) => env.client.workflow.getHandle(tenantGateWorkflowId(tenantId)).query(tenantGateStateQuery);

function resourceOf(view: TenantGateView, resource: string) {
  return view.resources.find((r) => r.resource === resource) ?? { resource, capacity: 0, held: [], queue: [] };
}

/** Polls the gate until `until` holds. */
function gateUntil(tenantId: string, what: string, until: (view: TenantGateView) => boolean, timeoutMs = 60_000): Promise<TenantGateView> {
  return eventually(what, timeoutMs, async () => {
    const view = await gateView(tenantId);
    return until(view) ? view : undefined;
  });
}

/**
 * A test's tenant, its runs kept at their plan's parallelism: an arm that halves it would run the lease test's chains
 * on one unit, and leave the recall tests' first run holding one unit where they expect two.
 */
const gateTenant = (tenantId: string) => keepPlannedParallelism(stack.db, tenantId);

const runIdOf = (workflowId: string) => workflowId.split('-').slice(2).join('-');

/** Every event of the gate, over each run of its continue-as-new chain, oldest first. */
async function gateHistory(tenantId: string): Promise<temporal.api.history.v1.IHistoryEvent[][]> {
  const runs: temporal.api.history.v1.IHistoryEvent[][] = [];
  let runId: string | undefined = (await env.client.workflow.getHandle(tenantGateWorkflowId(tenantId)).describe()).runId;
  while (runId) {
    const events: temporal.api.history.v1.IHistoryEvent[] = (await env.client.workflow.getHandle(tenantGateWorkflowId(tenantId), runId).fetchHistory()).events ?? [];
    runs.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

const decode = <T>(payloads: temporal.api.common.v1.IPayloads | null | undefined): T => defaultPayloadConverter.fromPayload<T>(payloads!.payloads![0]);

interface ReplayedGate {
  /** The most slots held at once, per resource. */
  maxHeld: Record<string, number>;
  /** Holders in the order of their `runs` grants. */
  runGrants: string[];
  /** Grants that went ahead of a request that arrived earlier (at a lower priority). */
  overtakes: number;
  /** Requests sent per signal, in order. */
  acquiresPerSignal: number[];
  /** Requests sent per resource, over the whole history. */
  acquires: Record<string, number>;
  /** Grants and recalls in the order the gate sent them: `grant <workflowId> <resource>`, `recall <workflowId> <resource>`. */
  sent: string[];
  problems: string[];
}

/**
 * Replays the gate's recorded history: its signals in (acquires, releases), its grants and recalls out, the holders
 * its checks found closed. Every grant must be the first request of its resource in grant order (a run's units
 * counting only once it holds its run slot), and never above `capacity`; a recall must go to a holder of the resource.
 */
function replayGateHistory(runs: temporal.api.history.v1.IHistoryEvent[][], capacity: (resource: string) => number, defaultPriority = 5): ReplayedGate {
  type Entry = { holder: string; requestId: string; resource: string; priority: number; seq: number };
  let queue: Entry[] = [];
  let held: Entry[] = [];
  let seq = 0;
  const result: ReplayedGate = { maxHeld: {}, runGrants: [], overtakes: 0, acquiresPerSignal: [], acquires: {}, sent: [], problems: [] };
  const key = (h: HolderRef) => `${h.workflowId}/${h.runId}`;
  const drop = (holder: string) => {
    held = held.filter((e) => e.holder !== holder);
    queue = queue.filter((e) => e.holder !== holder);
  };
  for (const events of runs) {
    const activityTypes = new Map<string, string>();
    for (const event of events) {
      const signaled = event.workflowExecutionSignaledEventAttributes;
      if (signaled?.signalName === 'tenantGateRequest') {
        const request = decode<GateRequest>(signaled.input);
        const holder = key(request.holder);
        if (request.releaseAll) drop(holder);
        const released = new Set(request.release ?? []);
        held = held.filter((e) => !(e.holder === holder && released.has(e.requestId)));
        queue = queue.filter((e) => !(e.holder === holder && released.has(e.requestId)));
        if (request.acquire) result.acquiresPerSignal.push(request.acquire.length);
        for (const slot of request.acquire ?? []) {
          result.acquires[slot.resource] = (result.acquires[slot.resource] ?? 0) + 1;
          if ([...held, ...queue].some((e) => e.holder === holder && e.requestId === slot.requestId)) continue;
          queue.push({ holder, requestId: slot.requestId, resource: slot.resource, priority: slot.priority ?? defaultPriority, seq: (seq += 1) });
        }
      }
      const initiated = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (initiated?.signalName === 'tenantSlotsGranted') {
        const holder = `${initiated.workflowExecution!.workflowId}/${initiated.workflowExecution!.runId}`;
        for (const requestId of decode<SlotGrant>(initiated.input).requestIds) {
          const entry = queue.find((e) => e.holder === holder && e.requestId === requestId);
          if (!entry) {
            result.problems.push(`granted ${holder} ${requestId}, which was not queued`);
            continue;
          }
          // A run's units wait with its run slot: they are nobody's rivals until it has it.
          const waitsForRun = (e: Entry) => e.resource !== RUNS_RESOURCE && queue.some((r) => r.resource === RUNS_RESOURCE && r.holder === e.holder);
          if (waitsForRun(entry)) result.problems.push(`granted ${holder} ${requestId} before its run slot`);
          const rivals = queue.filter((e) => e.resource === entry.resource && !waitsForRun(e));
          const first = [...rivals].sort((a, b) => b.priority - a.priority || a.seq - b.seq)[0];
          if (first !== entry) result.problems.push(`granted ${holder} ${requestId} before ${first.holder} ${first.requestId}`);
          if (rivals.some((e) => e.seq < entry.seq)) result.overtakes += 1;
          queue = queue.filter((e) => e !== entry);
          held.push(entry);
          const now = held.filter((e) => e.resource === entry.resource).length;
          result.maxHeld[entry.resource] = Math.max(result.maxHeld[entry.resource] ?? 0, now);
          if (now > capacity(entry.resource)) result.problems.push(`${now} slots of ${entry.resource} held at once (capacity ${capacity(entry.resource)})`);
          if (entry.resource === RUNS_RESOURCE) result.runGrants.push(holder.split('/')[0]);
          result.sent.push(`grant ${holder.split('/')[0]} ${entry.resource}`);
        }
      }
      if (initiated?.signalName === 'tenantSlotsRecall') {
        const holder = `${initiated.workflowExecution!.workflowId}/${initiated.workflowExecution!.runId}`;
        for (const resource of decode<SlotRecall>(initiated.input).resources) {
          if (!held.some((e) => e.holder === holder && e.resource === resource)) result.problems.push(`recalled ${holder} for ${resource}, which it does not hold`);
          result.sent.push(`recall ${holder.split('/')[0]} ${resource}`);
        }
      }
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) activityTypes.set(String(event.eventId), scheduled.activityType?.name ?? '');
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed && activityTypes.get(String(completed.scheduledEventId)) === 'findClosedHolders') {
        for (const holder of decode<HolderRef[]>(completed.result)) drop(key(holder));
      }
      const signalFailed = event.signalExternalWorkflowExecutionFailedEventAttributes;
      if (signalFailed) drop(`${signalFailed.workflowExecution!.workflowId}/${signalFailed.workflowExecution!.runId}`);
    }
  }
  return result;
}

test('20 queued runs with a cap of 5: never more than 5 hold a slot, and the queue goes FIFO within priority', async () => {
  const tenantId = await gateTenant('gate_twenty');
  await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 5, maxConcurrentTasksPerAgent: 20 } }, 'test');
  const priorities = [5, 5, 5, 5, 5, 2, 8, 5, 2, 8, 5, 2, 8, 5, 2, 8, 5, 2, 8, 5];
  const workflowIds: string[] = [];
  for (const [i, priority] of priorities.entries()) workflowIds.push((await stack.startRun(waitingRun(tenantId, `r${i}`, { priority }))).workflowId);

  const full = await gateUntil(tenantId, '5 holding, 15 queued', (view) => resourceOf(view, 'runs').held.length === 5 && resourceOf(view, 'runs').queue.length === 15);
  const runs = resourceOf(full, 'runs');
  expect(runs).toMatchObject({ capacity: 5, blockedBy: 'capacity' });
  const order = runs.queue.map((q) => [q.priority, q.seq]);
  expect(order).toEqual([...order].sort((a, b) => b[0] - a[0] || a[1] - b[1]));
  const third = runs.queue[2];
  expect(describeGateWait(full, third.holder.workflowId)).toEqual([`tenant ${tenantId} at 5/5 concurrent runs, position 3 in queue`]);
  const status = await stack.status(third.holder.workflowId);
  expect(status.waitingFor).toContain(`a run slot of tenant ${tenantId}`);

  // Let the holders end, a few at a time, until every run has run.
  const finished = new Set<string>();
  while (finished.size < workflowIds.length) {
    const view = await gateView(tenantId);
    for (const holding of resourceOf(view, 'runs').held) {
      if (finished.has(holding.holder.workflowId)) continue;
      release(runIdOf(holding.holder.workflowId));
      expect((await stack.result(holding.holder.workflowId)).outcome).toBe('succeeded');
      finished.add(holding.holder.workflowId);
    }
  }

  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 5 : 20));
  expect(replayed.problems).toEqual([]);
  expect(replayed.maxHeld.runs).toBe(5);
  expect(replayed.runGrants).toHaveLength(20);
  // Priority mattered: some run went ahead of one that had asked before it.
  expect(replayed.overtakes).toBeGreaterThan(0);
}, 300_000);

test('a slot comes back when its run fails, is cancelled or is terminated', async () => {
  const tenantId = await gateTenant('gate_release');
  await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'test');
  // One at a time, so that they queue in this order (FIFO: all at the same priority).
  const names = ['failing', 'cancelled', 'terminated', 'last'];
  const ids: Record<string, string> = {};
  for (const [i, name] of names.entries()) {
    ids[name] = (await stack.startRun(waitingRun(tenantId, name))).workflowId;
    await gateUntil(tenantId, `${name} arrived`, (view) => resourceOf(view, 'runs').held.length + resourceOf(view, 'runs').queue.length === i + 1);
  }
  const holderIs = (name: string) => gateUntil(tenantId, `${name} holds the slot`, (view) => resourceOf(view, 'runs').held[0]?.holder.workflowId === ids[name]);

  await holderIs('failing');
  release('failing', true);
  expect((await stack.result(ids.failing)).outcome).toBe('failed');

  await holderIs('cancelled');
  const cancelled = env.client.workflow.getHandle(ids.cancelled);
  await cancelled.cancel();
  await expect(cancelled.result()).rejects.toThrow();

  // A terminated run runs no code: the gate finds it closed while `last` waits behind it.
  await holderIs('terminated');
  await env.client.workflow.getHandle(ids.terminated).terminate('test: a holder that never releases');

  await holderIs('last');
  release('last');
  expect((await stack.result(ids.last)).outcome).toBe('succeeded');
  const view = await gateUntil(tenantId, 'every slot back', (v) => resourceOf(v, 'runs').held.length === 0 && resourceOf(v, 'runs').queue.length === 0);
  // The terminated run never released: the gate found it closed.
  expect(view.totals.closedHolders).toBe(1);
  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 1 : 2));
  expect(replayed.problems).toEqual([]);
  expect(replayed.runGrants).toHaveLength(4);
}, 300_000);

test('per-agent quota: a run asks for its first tasks with its run slot in one signal, and at most 2 tasks of an agent run at once', async () => {
  const tenantId = await gateTenant('gate_agents');
  const names = ['a', 'b', 'c', 'd'].map((t) => `agents-${t}`);
  const { workflowId } = await stack.startRun(waitingRun(tenantId, 'agents', { tasks: names.map((name) => waitingTask(name, name, 'builder')) }));
  const view = await gateUntil(tenantId, '2 tasks of builder hold slots, 2 wait', (v) => resourceOf(v, 'agent:builder').held.length === 2 && resourceOf(v, 'agent:builder').queue.length === 2);
  expect(describeGateWait(view, workflowId)).toEqual([
    `tenant ${tenantId} at 2/2 concurrent tasks of agent builder, position 1 in queue`,
    `tenant ${tenantId} at 2/2 concurrent tasks of agent builder, position 2 in queue`,
  ]);
  for (const name of names) release(name);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');

  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 5 : 2));
  expect(replayed.problems).toEqual([]);
  expect(replayed.maxHeld['agent:builder']).toBe(2);
  // The run slot and the four ready tasks' units together, granted together.
  expect(replayed.acquiresPerSignal).toEqual([5]);
}, 120_000);

test('continue-as-new keeps the holders and the queue', async () => {
  const tenantId = await gateTenant('gate_can');
  await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'test');
  const input: TenantGateInput = { tenantId, taskQueuePrefix: stack.taskQueuePrefix, continueAsNewAfterEvents: 40 };
  const gate = await env.client.workflow.start(TENANT_GATE_WORKFLOW_TYPE, { workflowId: tenantGateWorkflowId(tenantId), taskQueue: controlTaskQueue(stack.taskQueuePrefix), args: [input] });
  const names = ['can-1', 'can-2', 'can-3', 'can-4'];
  for (const name of names) await stack.startRun(waitingRun(tenantId, name));
  const queued = await eventually('the gate continued as new, queue intact', 60_000, async () => {
    const description = await env.client.workflow.getHandle(tenantGateWorkflowId(tenantId)).describe();
    if (description.runId === gate.firstExecutionRunId) return undefined;
    const view = await gateView(tenantId);
    return resourceOf(view, 'runs').held.length === 1 && resourceOf(view, 'runs').queue.length === 3 ? view : undefined;
  });
  expect(resourceOf(queued, 'runs').queue.map((q) => q.position)).toEqual([1, 2, 3]);
  for (let i = 0; i < names.length; i++) {
    const view = await gateUntil(tenantId, 'a holder', (v) => resourceOf(v, 'runs').held.length === 1);
    const holder = resourceOf(view, 'runs').held[0].holder.workflowId;
    release(runIdOf(holder));
    expect((await stack.result(holder)).outcome).toBe('succeeded');
  }
  const history = await gateHistory(tenantId);
  expect(history.length).toBeGreaterThan(1);
  const replayed = replayGateHistory(history, (resource) => (resource === RUNS_RESOURCE ? 1 : 2));
  expect(replayed.problems).toEqual([]);
  expect(replayed.runGrants).toHaveLength(4);
}, 180_000);

test('the run-start rate limit holds a run back while slots are free, and says so', async () => {
  const tenantId = await gateTenant('gate_rate');
  await createTenant(stack.db, tenantId, { limits: { runStartsPerMinute: 1, runStartBurst: 2 } }, 'test');
  const ids: string[] = [];
  for (const name of ['rate-1', 'rate-2', 'rate-3']) ids.push((await stack.startRun(waitingRun(tenantId, name))).workflowId);
  const view = await gateUntil(tenantId, '2 granted, 1 held back by the rate', (v) => resourceOf(v, 'runs').held.length === 2 && resourceOf(v, 'runs').queue.length === 1);
  expect(resourceOf(view, 'runs').blockedBy).toBe('rate');
  const waiting = resourceOf(view, 'runs').queue[0].holder.workflowId;
  expect(describeGateWait(view, waiting)).toEqual([`tenant ${tenantId} at 2/5 concurrent runs, position 1 in queue: rate limit 1 run starts/min`]);
  // Cancelled while it waits: its request leaves the queue.
  await env.client.workflow.getHandle(waiting).cancel();
  await gateUntil(tenantId, 'the cancelled run left the queue', (v) => resourceOf(v, 'runs').queue.length === 0);
  for (const id of ids.filter((id) => id !== waiting)) {
    release(runIdOf(id));
    expect((await stack.result(id)).outcome).toBe('succeeded');
  }
}, 120_000);

const BUILDER = agentResource('builder');

test('a lease: a run reuses its agent units for its next tasks without asking the gate again', async () => {
  const tenantId = await gateTenant('gate_lease');
  // Two chains of four: at most two tasks of builder at once, eight in all.
  const tasks = ['a', 'b'].flatMap((chain) => [1, 2, 3, 4].map((i) => noopTask(`${chain}${i}`, 'builder', i > 1 ? [`${chain}${i - 1}`] : [])));
  const { workflowId } = await stack.startRun(tasksRun(tenantId, 'lease', tasks, { maxParallel: 8, environments: ['dev', 'stage'] }));
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');

  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 5 : 2));
  expect(replayed.problems).toEqual([]);
  // In each environment the two roots asked together and the six tasks after them ran on the same two units; the
  // idle units went back between the environments.
  expect(replayed.acquires[BUILDER]).toBe(4);
  expect(replayed.acquires[BUILDER]).toBeLessThan(2 * tasks.length);
  expect(replayed.sent.filter((line) => line.startsWith('recall'))).toEqual([]);
}, 120_000);

/**
 * Run A holds both units of builder (quota 2): one on a task that waits for the test, one idle (its no-op task is
 * done). Run B asks for one: the gate recalls A, whose idle unit goes back at once, and B's task runs while A's still
 * waits.
 */
async function recallScenario(tenantId: string) {
  const holding = await stack.startRun(waitingRun(tenantId, 'holding', { tasks: [waitingTask('long', `${tenantId}-long`, 'builder'), noopTask('quick', 'builder')] }));
  await gateUntil(tenantId, 'A holds both units of builder', (v) => resourceOf(v, BUILDER).held.filter((h) => h.holder.workflowId === holding.workflowId).length === 2);
  await eventually('A\'s quick task done, its unit idle', 30_000, async () => ((await stack.status(holding.workflowId)).tasks.dev?.quick?.state === 'succeeded' ? true : undefined));
  const asking = await stack.startRun(waitingRun(tenantId, 'asking', { tasks: [waitingTask('b', `${tenantId}-b`, 'builder')] }));
  return { holding: holding.workflowId, asking: asking.workflowId };
}

test('a recall under contention: the second run gets a unit once the first is recalled, never more than 2 held', async () => {
  const tenantId = await gateTenant('gate_recall');
  const { holding, asking } = await recallScenario(tenantId);
  // A's long task still runs: B's unit is the one A held idle, given back on the recall.
  await gateUntil(tenantId, 'B holds a unit of builder', (v) => resourceOf(v, BUILDER).held.some((h) => h.holder.workflowId === asking));
  expect(resourceOf(await gateView(tenantId), BUILDER).held.map((h) => h.holder.workflowId).sort()).toEqual([asking, holding].sort());
  release(`${tenantId}-long`);
  release(`${tenantId}-b`);
  expect((await stack.result(holding)).outcome).toBe('succeeded');
  expect((await stack.result(asking)).outcome).toBe('succeeded');

  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 5 : 2));
  expect(replayed.problems).toEqual([]);
  expect(replayed.maxHeld[BUILDER]).toBe(2);
  const builderLines = replayed.sent.filter((line) => line.endsWith(BUILDER));
  expect(builderLines).toEqual([`grant ${holding} ${BUILDER}`, `grant ${holding} ${BUILDER}`, `recall ${holding} ${BUILDER}`, `grant ${asking} ${BUILDER}`]);
}, 120_000);

test('continue-as-new carries who was recalled: the next run of the gate does not recall again', async () => {
  const tenantId = await gateTenant('gate_recall_can');
  const input: TenantGateInput = { tenantId, taskQueuePrefix: stack.taskQueuePrefix, continueAsNewAfterEvents: 60 };
  const gate = await env.client.workflow.start(TENANT_GATE_WORKFLOW_TYPE, { workflowId: tenantGateWorkflowId(tenantId), taskQueue: controlTaskQueue(stack.taskQueuePrefix), args: [input] });
  // A holds both units on tasks that wait for the test, so B waits through the hand-over.
  const holding = await stack.startRun(waitingRun(tenantId, 'holding', { tasks: [waitingTask('one', `${tenantId}-one`, 'builder'), waitingTask('two', `${tenantId}-two`, 'builder')] }));
  await gateUntil(tenantId, 'A holds both units of builder', (v) => resourceOf(v, BUILDER).held.length === 2);
  const asking = await stack.startRun(waitingRun(tenantId, 'asking', { tasks: [waitingTask('b', `${tenantId}-b`, 'builder')] }));
  await gateUntil(tenantId, 'A recalled, B queued', (v) => v.totals.recalls === 1 && resourceOf(v, BUILDER).queue.length === 1);
  // Each refresh re-reads the limits (an activity): enough of them fill the history up to the hand-over.
  const handle = env.client.workflow.getHandle(gate.workflowId);
  await eventually('the gate continued as new', 60_000, async () => {
    if ((await handle.describe()).runId !== gate.firstExecutionRunId) return true;
    await handle.signal(tenantGateRefreshSignal);
    return undefined;
  });
  const history = await gateHistory(tenantId);
  const carried = decode<TenantGateInput>(history[1][0].workflowExecutionStartedEventAttributes!.input).state as GateState;
  expect(carried.recalled).toEqual([{ holder: { workflowId: holding.workflowId, runId: expect.any(String) }, resource: BUILDER }]);
  expect(resourceOf(await gateView(tenantId), BUILDER).queue.map((q) => q.holder.workflowId)).toEqual([asking.workflowId]);

  release(`${tenantId}-one`);
  await gateUntil(tenantId, 'B holds a unit of builder', (v) => resourceOf(v, BUILDER).held.some((h) => h.holder.workflowId === asking.workflowId));
  release(`${tenantId}-two`);
  release(`${tenantId}-b`);
  expect((await stack.result(holding.workflowId)).outcome).toBe('succeeded');
  expect((await stack.result(asking.workflowId)).outcome).toBe('succeeded');
  const replayed = replayGateHistory(await gateHistory(tenantId), (resource) => (resource === RUNS_RESOURCE ? 5 : 2));
  expect(replayed.problems).toEqual([]);
  expect(replayed.maxHeld[BUILDER]).toBe(2);
  // One recall over both runs of the gate: the second knew A had been recalled.
  expect(replayed.sent.filter((line) => line.startsWith('recall'))).toEqual([`recall ${holding.workflowId} ${BUILDER}`]);
}, 180_000);
