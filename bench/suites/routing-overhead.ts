/**
 * `npm run bench -- routing-overhead`: what ADOS adds on top of Temporal for a delivery run. A 100-task DAG of no-op
 * activities (capability `noop`) runs through ADOS (deliveryRun: validation, routing check, audit of every task,
 * escalation ladder in place; one environment, no approval) and through the floor, a bare Temporal workflow that
 * schedules the same tasks the way deliveryRun does (bench/workflows/bare-dag.ts: runDag, maxParallel read through a
 * function, the same activity options) and calls the same activity on the same queue and worker, alternately, in the
 * same process, against the same dev server. Target: ADOS / floor ≤ 1.05.
 *
 * The runs' tenant, `bench`, is configured as a tenant running this plan would be: maxParallel tasks of one agent
 * (the capability) at once need a per-agent quota of at least maxParallel (BENCH_TENANT_LIMITS; the default, 2, would
 * make the gate, not ADOS's routing, the bottleneck). Its runs pass the tenant gate as every run does: a run slot at
 * the head, and agent units leased from the gate.
 *
 * The benchmark database (bench/lib/database.ts); the pinned Temporal dev server started here; the workers in this
 * process. Nothing here asserts.
 */
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { startDeliveryRun } from '../../client/delivery';
import type { DeliveryRunInput, PlanTask } from '../../shared/contract/delivery/input';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { loadBenchConfig } from '../../shared/node/config';
import { createTenant, getTenant, updateTenant } from '../../shared/node/tenancy/store';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { eventCounts, eventMs, historyTimings } from '../lib/history';
import { startInProcessStack, type InProcessStack } from '../lib/in-process-stack';
import type { BareDagInput } from '../workflows/bare-dag';

const WIDTH = 10;
const DEPTH = 10;
const MAX_PARALLEL = 10;
const REPEATS = loadBenchConfig().repeats;
const CAPABILITY = 'noop';
const ENVIRONMENT = 'dev';
const TENANT = 'bench';
/** The tenant's limits: as many concurrent tasks per agent as the plan runs at once (the profile's maximum is 1000). */
const BENCH_TENANT_LIMITS = { maxConcurrentTasksPerAgent: MAX_PARALLEL };
/** What a run audits: run.started, task.running and task.succeeded per task, environment.promoted, run.finished. */
const EXPECTED_AUDIT_ENTRIES = 3 + 2 * WIDTH * DEPTH;

/** 10 layers of 10; each task of layer k > 0 depends on two tasks of layer k-1. */
export function benchDag(): Array<{ id: string; dependsOn: string[] }> {
  const id = (layer: number, i: number) => `t${layer}-${i}`;
  const tasks: Array<{ id: string; dependsOn: string[] }> = [];
  for (let layer = 0; layer < DEPTH; layer++) {
    for (let i = 0; i < WIDTH; i++) {
      tasks.push({ id: id(layer, i), dependsOn: layer === 0 ? [] : [id(layer - 1, i), id(layer - 1, (i + 1) % WIDTH)] });
    }
  }
  return tasks;
}

/** The plan's tasks as deliveryRun has them once validated (capability set, input defaulted), for both sides. */
function planTasks(): PlanTask[] {
  return benchDag().map((t) => ({ ...t, capability: CAPABILITY, input: {} }));
}

type Stack = InProcessStack;

/** The stack of this benchmark: on a dev server started here, or on the Temporal server at `temporalAddress`. */
export async function startRoutingStack(temporalAddress?: string): Promise<Stack> {
  const stack = await startInProcessStack({
    ...(temporalAddress ? { temporalAddress } : {}),
    capabilities: [CAPABILITY],
    maxConcurrent: 2 * MAX_PARALLEL,
    extraWorkers: async ({ env, prefix }) => {
      const bare: WorkflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/bare-dag'), logger: new DefaultLogger('WARN') });
      return [await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue: `${prefix}.bare`, workflowBundle: bare, identity: `bench-bare@${hostname()}` })];
    },
  });
  // A database kept from an earlier benchmark (DATABASE_URL) may have the tenant already.
  const limits = { limits: BENCH_TENANT_LIMITS };
  if (await getTenant(stack.db, TENANT)) await updateTenant(stack.db, TENANT, limits, 'bench routing-overhead');
  else await createTenant(stack.db, TENANT, limits, 'bench routing-overhead');
  return stack;
}

export interface Sample {
  ms: number;
  events: number;
  activities: number;
  workflowTasks: number;
  /** Local activities (ADOS's control writes and routing check) are recorded as markers. */
  markers: number;
  searchAttributeUpserts: number;
  /** From the history: workflow start → first noop scheduled, first noop scheduled → last noop completed, → workflow closed. */
  headMs: number;
  dagMs: number;
  tailMs: number;
  workflowTaskBusyMs: number;
  activityTaskWaitMs: number;
  /** ADOS only: audit_log entries and succeeded tasks rows of the run. */
  auditEntries?: number;
  tasksRecorded?: number;
}

async function historySample(client: Client, workflowId: string): Promise<Omit<Sample, 'ms'>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const noopScheduled = new Set<string>();
  let firstNoop = Infinity;
  let lastNoopDone = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === CAPABILITY) {
      noopScheduled.add(String(e.eventId));
      firstNoop = Math.min(firstNoop, eventMs(e));
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && noopScheduled.has(String(done.scheduledEventId))) lastNoopDone = Math.max(lastNoopDone, eventMs(e));
  }
  const start = eventMs(events[0]);
  const end = eventMs(events[events.length - 1]);
  const { workflowTaskBusyMs, activityTaskWaitMs } = historyTimings(events);
  return {
    ...eventCounts(events),
    headMs: firstNoop - start,
    dagMs: lastNoopDone - firstNoop,
    tailMs: end - lastNoopDone,
    workflowTaskBusyMs,
    activityTaskWaitMs,
  };
}

export async function runAdos(stack: Stack, n: number): Promise<Sample> {
  const input: DeliveryRunInput = {
    tenantId: TENANT,
    runId: `routing-${Date.now()}-${n}`,
    requestedBy: 'bench',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 },
    environments: [ENVIRONMENT],
    maxParallel: MAX_PARALLEL,
    plan: { tasks: planTasks() },
  };
  const started = Date.now();
  const { workflowId } = await startDeliveryRun(stack.client, stack.config, input);
  const result = (await stack.client.workflow.getHandle(workflowId).result()) as DeliveryResult;
  const ms = Date.now() - started;
  if (result.outcome !== 'succeeded') throw new Error(`ADOS run ${workflowId} ended ${result.outcome}: ${result.reason}`);
  // Nothing was dropped to be fast: every entry is in PostgreSQL once the run has closed.
  const audit = await stack.db.selectFrom('audit_log').select(({ fn }) => fn.countAll<string>().as('n')).where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
  const tasks = await stack.db.selectFrom('tasks').select(({ fn }) => fn.countAll<string>().as('n')).where('workflow_id', '=', workflowId).where('state', '=', 'succeeded').executeTakeFirstOrThrow();
  return { ms, ...(await historySample(stack.client, workflowId)), auditEntries: Number(audit.n), tasksRecorded: Number(tasks.n) };
}

export async function runFloor(stack: Stack, n: number): Promise<Sample> {
  const input: BareDagInput = {
    tenantId: TENANT,
    runId: `floor-${Date.now()}-${n}`,
    prefix: stack.config.taskQueuePrefix,
    environment: ENVIRONMENT,
    maxParallel: MAX_PARALLEL,
    tasks: planTasks(),
  };
  const started = Date.now();
  const handle = await stack.client.workflow.start('bareDag', { taskQueue: `${stack.config.taskQueuePrefix}.bare`, workflowId: input.runId, args: [input] });
  const result = (await handle.result()) as { succeeded: number; failed: number };
  const ms = Date.now() - started;
  if (result.succeeded !== WIDTH * DEPTH) throw new Error(`floor run ${input.runId}: ${JSON.stringify(result)}`);
  return { ms, ...(await historySample(stack.client, input.runId)) };
}

/** One warm-up run of each, then REPEATS of each, alternating which goes first (neither always on the warmer machine). */
export async function alternateRuns(stack: Stack, label: string, repeats = REPEATS): Promise<{ ados: Sample[]; floor: Sample[] }> {
  // Warm-up: bundles loaded, workflow caches and connections hot, the queues created.
  await runAdos(stack, 0);
  await runFloor(stack, 0);
  const ados: Sample[] = [];
  const floor: Sample[] = [];
  for (let i = 1; i <= repeats; i++) {
    if (i % 2 === 1) {
      ados.push(await runAdos(stack, i));
      floor.push(await runFloor(stack, i));
    } else {
      floor.push(await runFloor(stack, i));
      ados.push(await runAdos(stack, i));
    }
    process.stdout.write(`  [${label}] ${i}/${repeats}: ADOS ${ados.at(-1)!.ms} ms, floor ${floor.at(-1)!.ms} ms\n`);
  }
  return { ados, floor };
}

export const suite: BenchSuite = {
  name: 'routing-overhead',
  description: `a ${WIDTH * DEPTH}-task DAG of no-op activities through ADOS (deliveryRun) vs the floor (a bare Temporal workflow, same scheduler and activity options), same dev server`,
  async run(): Promise<BenchReport> {
    const stack = await startRoutingStack();
    try {
      const { ados, floor } = await alternateRuns(stack, 'routing-overhead');
      const adosMs = median(ados.map((s) => s.ms));
      const floorMs = median(floor.map((s) => s.ms));
      const ratios = ados.map((s, i) => s.ms / floor[i].ms);
      const both = (name: string, unit: string, of: (s: Sample) => number) => [
        { name: `ADOS ${name}`, value: median(ados.map(of)), unit },
        { name: `floor ${name}`, value: median(floor.map(of)), unit },
      ];
      return {
        benchmark: 'routing-overhead',
        description: suite.description,
        metrics: [
          { name: 'ADOS / floor (ratio of medians)', value: Math.round((adosMs / floorMs) * 1000) / 1000, unit: 'x', target: { op: '<=', value: 1.05 } },
          { name: 'ADOS / floor (median of paired ratios)', value: Math.round(median(ratios) * 1000) / 1000, unit: 'x' },
          { name: 'ADOS run (median)', value: adosMs, unit: 'ms' },
          { name: 'floor run (median)', value: floorMs, unit: 'ms' },
          { name: 'ADOS overhead per task', value: Math.round(((adosMs - floorMs) / (WIDTH * DEPTH)) * 100) / 100, unit: 'ms' },
          { name: `ADOS audit entries per run (run.started + 2 per task + promoted + finished = ${EXPECTED_AUDIT_ENTRIES})`, value: median(ados.map((s) => s.auditEntries ?? 0)), unit: 'entries', target: { op: '>=', value: EXPECTED_AUDIT_ENTRIES } },
          { name: 'ADOS tasks rows recorded as succeeded per run', value: median(ados.map((s) => s.tasksRecorded ?? 0)), unit: 'rows', target: { op: '>=', value: WIDTH * DEPTH } },
          ...both('head: start → first task scheduled', 'ms', (s) => s.headMs),
          ...both('DAG: first task scheduled → last task done', 'ms', (s) => s.dagMs),
          ...both('tail: last task done → run closed', 'ms', (s) => s.tailMs),
          ...both('workflow task started → completed, summed per run', 'ms', (s) => s.workflowTaskBusyMs),
          ...both('activity task scheduled → started (median)', 'ms', (s) => s.activityTaskWaitMs),
          ...both('history events', 'events', (s) => s.events),
          ...both('activities scheduled', 'activities', (s) => s.activities),
          ...both('workflow tasks', 'tasks', (s) => s.workflowTasks),
          ...both('local activities (markers)', 'markers', (s) => s.markers),
          ...both('search attribute upserts', 'upserts', (s) => s.searchAttributeUpserts),
        ],
        notes: [
          `DAG: ${DEPTH} layers of ${WIDTH}; each task of layer k > 0 depends on two of layer k-1; maxParallel ${MAX_PARALLEL}; capability ${CAPABILITY} (returns at once).`,
          `Tenant ${TENANT}: limits ${JSON.stringify(BENCH_TENANT_LIMITS)}, the rest the defaults; its runs hold a run slot of the tenant gate and lease their agent units from it (asked for when all the run's units are busy, kept for its next tasks).`,
          `ADOS: deliveryRun with one environment (${ENVIRONMENT}), no approval: input validation, a DescribeTaskQueue routing check before scheduling, run.started / environment.promoted / run.finished, and every task's running and succeeded audit entries (tasks table + audit_log), written in batches (one per workflow activation, one write in flight at a time) by local activities of the control worker; the run's row goes in alongside the routing check, and the entries still unwritten at the end go in the transaction that closes the run.`,
          'Floor: bench/workflows/bare-dag.ts, the same scheduler (runDag from workflows/dag.ts, maxParallel read through a function as deliveryRun does), the same activity options (taskActivityOptions: queue, timeouts, retry, summary) and the same noop activity with the same request on the same worker and queue, nothing else.',
          'Head, DAG and tail come from the histories; "workflow task started → completed" is the time the workflow worker held the run\'s workflow tasks, local activities it waited for included.',
          `${REPEATS} runs each after one warm-up run each, alternating which goes first; wall clock from start to result, medians. Database: ${stack.database}. Workers in this process; Temporal dev server (pinned CLI) on this machine.`,
        ],
        samples: { adosMs: ados.map((s) => s.ms), floorMs: floor.map((s) => s.ms), adosEvents: ados.map((s) => s.events), floorEvents: floor.map((s) => s.events) },
      };
    } finally {
      await stack.stop();
    }
  },
};
