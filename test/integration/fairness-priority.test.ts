/**
 * Temporal's Task Queue Priority and Fairness on the pinned dev server (Server 1.29.1), as ADOS starts it
 * (DEV_SERVER_DYNAMIC_CONFIG: matching.useNewMatcher, matching.enableFairness), against the same server with its own
 * defaults. Each case builds a backlog on a queue nobody polls (workflows started with the `priority` ADOS gives
 * its runs), then polls the queue with the raw gRPC API, as a worker would, and reads which workflow task came
 * first. Nothing runs the workflows: only the dispatch order is under test.
 *
 * Both servers run with one partition per task queue: Temporal orders tasks within a partition, and a poll served
 * by a partition that holds only low-priority tasks takes one of those (the server default is 4 partitions, where
 * the order is right only on average; README, "Priority and fairness").
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { Priority } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { tenantPriority } from '../../shared/contract/tenancy/priority';
import { defaultProfile } from '../../shared/contract/tenancy/profile';
import { startTemporalServer, type TemporalServerProcess } from '../helpers/temporal-server';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../helpers/toolchain';

const ONE_PARTITION = { 'matching.numTaskqueueReadPartitions': 1, 'matching.numTaskqueueWritePartitions': 1 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const suffix = () => Math.random().toString(36).slice(2, 8);

interface Served {
  server: TemporalServerProcess;
  connection: Connection;
  client: Client;
}

async function serve(dir: string, dynamicConfig: Record<string, boolean | number>): Promise<Served> {
  const server = await startTemporalServer({ dbFile: path.join(dir, `temporal-${suffix()}.db`), dynamicConfig });
  const connection = await Connection.connect({ address: server.address });
  return { server, connection, client: new Client({ connection }) };
}

/** Starts one workflow per entry, in order, on `queue` (nobody polls it), each with its priority. */
async function backlog(client: Client, queue: string, starts: Array<{ id: string; priority: Priority }>): Promise<void> {
  for (const start of starts) {
    await client.workflow.start('fairnessProbe', { taskQueue: queue, workflowId: start.id, priority: start.priority, args: [] });
  }
}

function describe_(client: Client, queue: string) {
  return client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    reportStats: true,
  });
}

/** Waits until Temporal counts `count` tasks in the queue's backlog (its stats are approximate and cached briefly). */
async function backlogCounted(client: Client, queue: string, count: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await describe_(client, queue);
    const counted = Number(response.stats?.approximateBacklogCount ?? 0);
    if (counted >= count) return response;
    if (Date.now() > deadline) throw new Error(`backlog of ${queue}: ${counted} tasks counted, ${count} expected`);
    await sleep(250);
  }
}

/** Polls the queue `polls` times as a worker would; the workflow IDs in the order the server handed them out. */
async function pollOrder({ connection }: Served, queue: string, polls: number): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < polls; i++) {
    // A long poll needs a deadline (the server refuses one without); a backlogged queue answers at once.
    const task = await connection.withDeadline(Date.now() + 20_000, () =>
      connection.workflowService.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: { name: queue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        identity: 'fairness-priority-test',
      }),
    );
    const id = task.workflowExecution?.workflowId;
    if (!id) throw new Error(`poll ${i + 1} of ${queue} returned no task`);
    order.push(id);
  }
  return order;
}

/** Five runs of a priority-1 tenant (key 5), then five of a priority-10 tenant (key 1), started in that order. */
function priorityBacklog(): Array<{ id: string; priority: Priority }> {
  const low = tenantPriority('lowco', { ...defaultProfile().limits, priority: 1 });
  const high = tenantPriority('highco', { ...defaultProfile().limits, priority: 10 });
  return [...Array.from({ length: 5 }, (_, i) => ({ id: `low-${i}`, priority: low })), ...Array.from({ length: 5 }, (_, i) => ({ id: `high-${i}`, priority: high }))];
}

/** Twenty runs of tenant flood, then five of tenant quiet, all at the default priority. */
function fairnessBacklog(): Array<{ id: string; priority: Priority }> {
  return [
    ...Array.from({ length: 20 }, (_, i) => ({ id: `flood-${i}`, priority: tenantPriority('flood') })),
    ...Array.from({ length: 5 }, (_, i) => ({ id: `quiet-${i}`, priority: tenantPriority('quiet') })),
  ];
}

let dir: string;
let configured: Served;
let defaults: Served;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-fairness-'));
  configured = await serve(dir, { ...DEV_SERVER_DYNAMIC_CONFIG, ...ONE_PARTITION });
  defaults = await serve(dir, ONE_PARTITION);
});

afterAll(async () => {
  for (const served of [configured, defaults]) {
    await served?.connection.close().catch(() => undefined);
    await served?.server.stop();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Task Queue Priority', () => {
  it('the priority keys ADOS gives tenants 10 and 1 are 1 and 5', () => {
    const [low, high] = [priorityBacklog()[0].priority, priorityBacklog()[5].priority];
    expect(low).toEqual({ priorityKey: 5, fairnessKey: 'lowco', fairnessWeight: 1 });
    expect(high).toEqual({ priorityKey: 1, fairnessKey: 'highco', fairnessWeight: 1 });
  });

  it('with ADOS dynamic config: a backlog of key 5 then key 1 is dispatched key 1 first, and describe counts each key apart', async () => {
    const queue = `prio-${suffix()}`;
    const starts = priorityBacklog();
    await backlog(configured.client, queue, starts);
    const described = await backlogCounted(configured.client, queue, starts.length);
    const byKey = Object.fromEntries(Object.entries(described.statsByPriorityKey ?? {}).map(([key, stats]) => [key, Number(stats.approximateBacklogCount ?? 0)]));
    expect(byKey).toMatchObject({ 1: 5, 5: 5 });
    const order = await pollOrder(configured, queue, starts.length);
    expect(order.slice(0, 5).sort()).toEqual(['high-0', 'high-1', 'high-2', 'high-3', 'high-4']);
  });

  it('with the server defaults the same backlog is dispatched in the order it came (FIFO), under one key', async () => {
    const queue = `prio-${suffix()}`;
    const starts = priorityBacklog();
    await backlog(defaults.client, queue, starts);
    const described = await backlogCounted(defaults.client, queue, starts.length);
    const backlogByKey = Object.fromEntries(Object.entries(described.statsByPriorityKey ?? {}).map(([key, stats]) => [key, Number(stats.approximateBacklogCount ?? 0)]));
    expect(backlogByKey).toMatchObject({ 3: 10 });
    expect(backlogByKey[1] ?? 0).toBe(0);
    const order = await pollOrder(defaults, queue, starts.length);
    expect(order.slice(0, 5).sort()).toEqual(['low-0', 'low-1', 'low-2', 'low-3', 'low-4']);
  });
});

describe('Task Queue Fairness', () => {
  it('with ADOS dynamic config: a tenant that comes after a flood of another is served within the first ten', async () => {
    const queue = `fair-${suffix()}`;
    const starts = fairnessBacklog();
    await backlog(configured.client, queue, starts);
    await backlogCounted(configured.client, queue, starts.length);
    const firstTen = await pollOrder(configured, queue, 10);
    expect(firstTen.filter((id) => id.startsWith('quiet-')).length).toBe(5);
  });

  it('with the server defaults the flood is served first', async () => {
    const queue = `fair-${suffix()}`;
    const starts = fairnessBacklog();
    await backlog(defaults.client, queue, starts);
    await backlogCounted(defaults.client, queue, starts.length);
    const firstTen = await pollOrder(defaults, queue, 10);
    expect(firstTen.filter((id) => id.startsWith('quiet-'))).toEqual([]);
  });
});
