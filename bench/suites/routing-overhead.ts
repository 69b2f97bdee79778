/**
 * `npm run bench -- routing-overhead`: what ADOS adds on top of Temporal for a delivery run. A 100-task DAG of no-op
 * activities (capability `noop`) runs through ADOS (deliveryRun: validation, routing check, audit of every task,
 * escalation ladder in place; one environment, no approval) and through a bare Temporal workflow that schedules the
 * same DAG with the same scheduler and the same activities on the same task queue (bench/workflows/bare-dag.ts, the
 * floor), alternately, in the same process, against the same dev server. Target: ADOS / bare ≤ 1.15.
 *
 * Real PostgreSQL when the toolchain has it (node deploy/bootstrap.mjs --postgres), else PGlite; the pinned Temporal
 * dev server started here; the workers in this process. Nothing here asserts.
 */
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { startDeliveryRun } from '../../client/delivery';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { startInProcessStack, type InProcessStack } from '../lib/in-process-stack';
import type { BareDagInput } from '../workflows/bare-dag';

const WIDTH = 10;
const DEPTH = 10;
const MAX_PARALLEL = 10;
const REPEATS = Number(process.env.ADOS_BENCH_REPEATS ?? 7);
const CAPABILITY = 'noop';

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

type Stack = InProcessStack;

function startStack(): Promise<Stack> {
  return startInProcessStack({
    capabilities: [CAPABILITY],
    maxConcurrent: 2 * MAX_PARALLEL,
    extraWorkers: async ({ env, prefix }) => {
      const bare: WorkflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/bare-dag'), logger: new DefaultLogger('WARN') });
      return [await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue: `${prefix}.bare`, workflowBundle: bare, identity: `bench-bare@${hostname()}` })];
    },
  });
}

interface Sample {
  ms: number;
  events: number;
  activities: number;
  workflowTasks: number;
  /** From the history: workflow start → first noop scheduled, first noop scheduled → last noop completed, → workflow closed. */
  headMs: number;
  dagMs: number;
  tailMs: number;
  /** ADOS only: audit_log entries and succeeded tasks rows of the run. */
  auditEntries?: number;
  tasksRecorded?: number;
}

async function historyCounts(client: Client, workflowId: string): Promise<Omit<Sample, 'ms'>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const at = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const noopScheduled = new Set<string>();
  let firstNoop = Infinity;
  let lastNoopDone = 0;
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === CAPABILITY) {
      noopScheduled.add(String(e.eventId));
      firstNoop = Math.min(firstNoop, at(e));
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && noopScheduled.has(String(done.scheduledEventId))) lastNoopDone = Math.max(lastNoopDone, at(e));
  }
  const start = at(events[0]);
  const end = at(events[events.length - 1]);
  return {
    events: events.length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    headMs: firstNoop - start,
    dagMs: lastNoopDone - firstNoop,
    tailMs: end - lastNoopDone,
  };
}

async function runAdos(stack: Stack, n: number): Promise<Sample> {
  const input: DeliveryRunInput = {
    tenantId: 'bench',
    runId: `routing-${Date.now()}-${n}`,
    requestedBy: 'bench',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 },
    environments: ['dev'],
    maxParallel: MAX_PARALLEL,
    plan: { tasks: benchDag().map((t) => ({ ...t, capability: CAPABILITY })) },
  };
  const started = Date.now();
  const { workflowId } = await startDeliveryRun(stack.client, stack.config, input);
  const result = (await stack.client.workflow.getHandle(workflowId).result()) as DeliveryResult;
  const ms = Date.now() - started;
  if (result.outcome !== 'succeeded') throw new Error(`ADOS run ${workflowId} ended ${result.outcome}: ${result.reason}`);
  // Nothing was dropped to be fast: every entry is in PostgreSQL once the run has closed.
  const audit = await stack.db.selectFrom('audit_log').select(({ fn }) => fn.countAll<string>().as('n')).where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
  const tasks = await stack.db.selectFrom('tasks').select(({ fn }) => fn.countAll<string>().as('n')).where('workflow_id', '=', workflowId).where('state', '=', 'succeeded').executeTakeFirstOrThrow();
  return { ms, ...(await historyCounts(stack.client, workflowId)), auditEntries: Number(audit.n), tasksRecorded: Number(tasks.n) };
}

async function runBare(stack: Stack, n: number): Promise<Sample> {
  const input: BareDagInput = {
    tenantId: 'bench',
    runId: `bare-${Date.now()}-${n}`,
    capability: CAPABILITY,
    taskQueue: capabilityTaskQueue(CAPABILITY, stack.config.taskQueuePrefix),
    maxParallel: MAX_PARALLEL,
    tasks: benchDag(),
  };
  const started = Date.now();
  const handle = await stack.client.workflow.start('bareDag', { taskQueue: `${stack.config.taskQueuePrefix}.bare`, workflowId: input.runId, args: [input] });
  const result = (await handle.result()) as { succeeded: number; failed: number };
  const ms = Date.now() - started;
  if (result.succeeded !== WIDTH * DEPTH) throw new Error(`bare run ${input.runId}: ${JSON.stringify(result)}`);
  return { ms, ...(await historyCounts(stack.client, input.runId)) };
}

export const suite: BenchSuite = {
  name: 'routing-overhead',
  description: `a ${WIDTH * DEPTH}-task DAG of no-op activities through ADOS (deliveryRun) vs a bare Temporal workflow, same dev server`,
  async run(): Promise<BenchReport> {
    const stack = await startStack();
    try {
      // Warm-up: bundles loaded, workflow caches and connections hot, the queues created.
      await runAdos(stack, 0);
      await runBare(stack, 0);
      const ados: Sample[] = [];
      const bare: Sample[] = [];
      for (let i = 1; i <= REPEATS; i++) {
        // Alternate which goes first, so that neither always runs on the warmer machine.
        if (i % 2 === 1) {
          ados.push(await runAdos(stack, i));
          bare.push(await runBare(stack, i));
        } else {
          bare.push(await runBare(stack, i));
          ados.push(await runAdos(stack, i));
        }
        process.stdout.write(`  [routing-overhead] ${i}/${REPEATS}: ADOS ${ados.at(-1)!.ms} ms, bare ${bare.at(-1)!.ms} ms\n`);
      }
      const adosMs = median(ados.map((s) => s.ms));
      const bareMs = median(bare.map((s) => s.ms));
      const ratios = ados.map((s, i) => s.ms / bare[i].ms);
      return {
        benchmark: 'routing-overhead',
        description: suite.description,
        metrics: [
          { name: 'ADOS / bare (ratio of medians)', value: Math.round((adosMs / bareMs) * 1000) / 1000, unit: 'x', target: { op: '<=', value: 1.15 } },
          { name: 'ADOS / bare (median of paired ratios)', value: Math.round(median(ratios) * 1000) / 1000, unit: 'x' },
          { name: 'ADOS run (median)', value: adosMs, unit: 'ms' },
          { name: 'bare run (median)', value: bareMs, unit: 'ms' },
          { name: 'ADOS overhead per task', value: Math.round(((adosMs - bareMs) / (WIDTH * DEPTH)) * 100) / 100, unit: 'ms' },
          { name: 'ADOS history events', value: median(ados.map((s) => s.events)), unit: 'events' },
          { name: 'bare history events', value: median(bare.map((s) => s.events)), unit: 'events' },
          { name: 'ADOS activities scheduled', value: median(ados.map((s) => s.activities)), unit: 'activities' },
          { name: 'bare activities scheduled', value: median(bare.map((s) => s.activities)), unit: 'activities' },
          { name: 'ADOS audit entries per run (run.started + 2 per task + promoted + finished = 203)', value: median(ados.map((s) => s.auditEntries ?? 0)), unit: 'entries' },
          { name: 'ADOS tasks rows recorded as succeeded per run', value: median(ados.map((s) => s.tasksRecorded ?? 0)), unit: 'rows' },
          { name: 'ADOS workflow tasks', value: median(ados.map((s) => s.workflowTasks)), unit: 'tasks' },
          { name: 'bare workflow tasks', value: median(bare.map((s) => s.workflowTasks)), unit: 'tasks' },
          { name: 'ADOS head: start → first task scheduled', value: median(ados.map((s) => s.headMs)), unit: 'ms' },
          { name: 'bare head: start → first task scheduled', value: median(bare.map((s) => s.headMs)), unit: 'ms' },
          { name: 'ADOS DAG: first task scheduled → last task done', value: median(ados.map((s) => s.dagMs)), unit: 'ms' },
          { name: 'bare DAG: first task scheduled → last task done', value: median(bare.map((s) => s.dagMs)), unit: 'ms' },
          { name: 'ADOS tail: last task done → run closed', value: median(ados.map((s) => s.tailMs)), unit: 'ms' },
          { name: 'bare tail: last task done → run closed', value: median(bare.map((s) => s.tailMs)), unit: 'ms' },
        ],
        notes: [
          `DAG: ${DEPTH} layers of ${WIDTH}; each task of layer k > 0 depends on two of layer k-1; maxParallel ${MAX_PARALLEL}; capability ${CAPABILITY} (returns at once).`,
          `ADOS: deliveryRun with one environment (dev), no approval: input validation, a DescribeTaskQueue routing check before scheduling, run.started / environment.promoted / run.finished, and every task's running and succeeded audit entries (tasks table + audit_log), written in batches (one write in flight at a time) by local activities of the control worker.`,
          `How the audit got here (measured while building this, same machine, same DAG): the deliveryRun released before the routing/escalation patch awaited a regular control activity before and after every task (task.running, task.succeeded): ratio 3.16 (3343 ms vs 1059 ms; 303 activities, 34 workflow tasks; measured with the analysis capability, which that version had instead of noop). Batching the task entries off the critical path, still as regular activities: 1.57 (1634 ms vs 1042 ms): the DAG then took as long as the bare one, but each sequential control write before and after it (run.started, routing check, promotion, run.finished) cost a task-queue round trip of ~100 ms (head 239 ms vs 41 ms, tail 444 ms vs 44 ms). As local activities (this version) those writes cost a database round trip instead.`,
          `Bare: bench/workflows/bare-dag.ts, the same scheduler (workflows/dag.ts), the same activity options and the same noop activity on the same worker and queue, nothing else.`,
          `${REPEATS} runs each after one warm-up run each, alternating which goes first; wall clock from start to result, medians. Database: ${stack.database}. Workers in this process; Temporal dev server (pinned CLI) on this machine.`,
        ],
        samples: { adosMs: ados.map((s) => s.ms), bareMs: bare.map((s) => s.ms), adosEvents: ados.map((s) => s.events), bareEvents: bare.map((s) => s.events) },
      };
    } finally {
      await stack.stop();
    }
  },
};
