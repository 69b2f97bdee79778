/**
 * `npm run bench -- fairness`: does a flood of one tenant starve another? Tenant A floods 200 delivery runs while
 * tenant B starts 10; B's wait to start (its run's start → its task's ActivityTaskStarted, from the history) is
 * compared with B's wait on an idle system. Twice: with Temporal's fairness keys (what ADOS starts: fairnessKey =
 * tenant, inherited by every task of the run) and without (the same starts with the fairness key stripped by a client
 * interceptor). Target, both rows: B's p95 ≤ 2× idle.
 *
 * Every run is one no-op task (capability `noop`) in dev. Two tenant set-ups, each with and without the keys:
 * - `ungated`: the profiles lift the tenant gate's caps and rate limits, so that the queues (the control queue's
 *   workflow tasks, the `noop` queue's activity tasks) are where the runs contend: Temporal's fairness alone.
 * - `default profiles`: what a tenant gets when nobody set anything (5 concurrent runs, 2 tasks per agent): A's flood
 *   waits in A's own tenant gate, B's runs in B's (B idle is measured with the same profile).
 * The in-process stack (pinned dev server with priority and fairness on, bench database, control worker, one `noop`
 * pool of a few slots). Nothing here asserts.
 */
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { startDeliveryRun } from '../../client/delivery';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { createTenant } from '../../shared/node/tenancy/store';
import type { BenchMetric, BenchReport, BenchSuite } from '../harness';
import { eventMs } from '../lib/history';
import { startInProcessStack, type InProcessStack } from '../lib/in-process-stack';

const FLOOD_RUNS = 200;
const QUIET_RUNS = 10;
const CAPABILITY = 'noop';
/** Few activity slots, so that the flood builds a backlog on the `noop` queue. */
const NOOP_SLOTS = 4;
/** How many starts are in flight at once (a client flooding, not one start per second). */
const START_CONCURRENCY = 20;
const TARGET_RATIO = 2;

/** Profile limits that leave the tenant gate out of the way (the queues are under test). */
const UNGATED_LIMITS = {
  maxConcurrentRuns: 1000,
  maxConcurrentTasksPerAgent: 1000,
  runStartsPerMinute: 1_000_000,
  runStartBurst: 1_000_000,
  agentTaskStartsPerMinute: 1_000_000,
  agentTaskStartBurst: 1_000_000,
};

/** Removes the fairness key from every start: the "without fairness keys" row. */
const stripFairness: WorkflowClientInterceptor = {
  async start(input, next) {
    const priority = input.options.priority ? { ...input.options.priority, fairnessKey: undefined, fairnessWeight: undefined } : undefined;
    return next({ ...input, options: { ...input.options, priority } });
  },
};

function plan(tenantId: string, runId: string): DeliveryRunInput {
  return {
    tenantId,
    runId,
    requestedBy: 'bench',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 },
    environments: ['dev'],
    maxParallel: 1,
    plan: { tasks: [{ id: 'noop', capability: CAPABILITY }] },
  };
}

/** Its run's start → the ActivityTaskStarted of its noop task, ms (from the history, the server's clock). */
async function waitToStartMs(client: Client, workflowId: string): Promise<number> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Set<string>();
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === CAPABILITY) scheduled.add(String(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduled.has(String(started.scheduledEventId))) return eventMs(e) - eventMs(events[0]);
  }
  throw new Error(`${workflowId}: no ${CAPABILITY} task started`);
}

/** Starts `count` runs of the tenant, START_CONCURRENCY at a time; their workflow IDs. */
async function startRuns(client: Client, stack: InProcessStack, tenantId: string, tag: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += START_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(START_CONCURRENCY, count - i) }, (_, j) => startDeliveryRun(client, stack.config, plan(tenantId, `${tag}-${i + j}`)));
    ids.push(...(await Promise.all(batch)).map((s) => s.workflowId));
  }
  return ids;
}

async function finish(stack: InProcessStack, ids: string[]): Promise<void> {
  const results = await Promise.all(ids.map((id) => stack.client.workflow.getHandle(id).result() as Promise<DeliveryResult>));
  const failed = results.filter((r) => r.outcome !== 'succeeded');
  if (failed.length > 0) throw new Error(`${failed.length} run(s) did not succeed, e.g. ${failed[0].workflowId}: ${failed[0].reason}`);
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The tenants' profiles of a set-up: the gate out of the way, or the defaults. */
type Setup = 'ungated' | 'default profiles';
const SETUPS: Setup[] = ['default profiles', 'ungated'];
const profileOf = (setup: Setup) => (setup === 'ungated' ? { limits: UNGATED_LIMITS } : {});

/** B's waits on an otherwise idle system. */
async function idleWaits(stack: InProcessStack, setup: Setup, tag: string): Promise<number[]> {
  const tenant = `quiet_idle_${tag}`;
  await createTenant(stack.db, tenant, profileOf(setup), 'bench fairness');
  const ids = await startRuns(stack.client, stack, tenant, `idle-${tag}`, QUIET_RUNS);
  await finish(stack, ids);
  return Promise.all(ids.map((id) => waitToStartMs(stack.client, id)));
}

/** B's waits while A floods (A started first, B right after A's starts were sent). */
async function contended(stack: InProcessStack, client: Client, setup: Setup, tag: string): Promise<{ quiet: number[]; flood: number[] }> {
  const floodTenant = `flood_${tag}`;
  const quietTenant = `quiet_${tag}`;
  for (const tenant of [floodTenant, quietTenant]) await createTenant(stack.db, tenant, profileOf(setup), 'bench fairness');
  const floodIds = await startRuns(client, stack, floodTenant, tag, FLOOD_RUNS);
  const quietIds = await startRuns(client, stack, quietTenant, tag, QUIET_RUNS);
  await finish(stack, [...floodIds, ...quietIds]);
  return {
    quiet: await Promise.all(quietIds.map((id) => waitToStartMs(stack.client, id))),
    flood: await Promise.all(floodIds.map((id) => waitToStartMs(stack.client, id))),
  };
}

export const suite: BenchSuite = {
  name: 'fairness',
  description: `tenant A floods ${FLOOD_RUNS} one-task runs while tenant B starts ${QUIET_RUNS}: B's p95 wait to start against B idle, with and without Temporal fairness keys`,
  async run(): Promise<BenchReport> {
    const stack = await startInProcessStack({ capabilities: [CAPABILITY], maxConcurrent: NOOP_SLOTS });
    try {
      const stamp = Date.now().toString(36);
      const plain = new Client({ connection: stack.client.connection, namespace: 'default', interceptors: { workflow: [stripFairness] } });

      const metrics: BenchMetric[] = [];
      const samples: Record<string, number[]> = {};
      for (const setup of SETUPS) {
        const tag = `${setup === 'ungated' ? 'ungated' : 'default'}_${stamp}`;
        const idle = await idleWaits(stack, setup, tag);
        const withKeys = await contended(stack, stack.client, setup, `keys_${tag}`);
        const withoutKeys = await contended(stack, plain, setup, `nokeys_${tag}`);
        const idleP95 = percentile(idle, 95);
        const row = (name: string, waits: number[]): BenchMetric[] => [
          { name: `${setup}: B p95 wait to start, ${name}`, value: percentile(waits, 95), unit: 'ms' },
          {
            name: `${setup}: B p95 / idle p95, ${name}`,
            value: Math.round((percentile(waits, 95) / idleP95) * 100) / 100,
            unit: 'ratio',
            target: { op: '<=', value: TARGET_RATIO },
          },
        ];
        metrics.push(
          { name: `${setup}: B p95 wait to start, idle`, value: idleP95, unit: 'ms' },
          ...row('with fairness keys', withKeys.quiet),
          ...row('without fairness keys', withoutKeys.quiet),
          { name: `${setup}: A p95 wait to start, with fairness keys`, value: percentile(withKeys.flood, 95), unit: 'ms' },
          { name: `${setup}: A p95 wait to start, without fairness keys`, value: percentile(withoutKeys.flood, 95), unit: 'ms' },
        );
        Object.assign(samples, {
          [`${tag}:idle`]: idle,
          [`${tag}:withKeysQuiet`]: withKeys.quiet,
          [`${tag}:withoutKeysQuiet`]: withoutKeys.quiet,
          [`${tag}:withKeysFlood`]: withKeys.flood,
          [`${tag}:withoutKeysFlood`]: withoutKeys.flood,
        });
      }
      return {
        benchmark: 'fairness',
        description: suite.description,
        metrics,
        notes: [
          `one no-op task per run; ${NOOP_SLOTS} noop activity slots; starts ${START_CONCURRENCY} at a time, A's ${FLOOD_RUNS} sent before B's ${QUIET_RUNS}`,
          'ungated: tenant gate caps and rate limits lifted for both tenants, the contention is on the task queues (control and noop); default profiles: 5 concurrent runs per tenant, 2 tasks per agent',
          'without fairness keys: the same starts with fairnessKey and fairnessWeight removed (priority key unchanged); tasks inherit the run\'s priority either way',
          `database: ${stack.database}`,
        ],
        samples,
      };
    } finally {
      await stack.stop();
    }
  },
};
