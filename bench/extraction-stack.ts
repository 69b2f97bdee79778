/**
 * What the extraction benchmarks run on: ADOS in this process (bench/lib/in-process-stack.ts: the pinned Temporal dev
 * server, the benchmark database, the control worker and an `extract` capability worker), plus, for the floor, a
 * bare workflow and sleep-only activities on workers created like ADOS's (the sleep worker runs as many activities at
 * once as the extract worker). Times come from what the runs record: each extract activity's start and end (the
 * result's per-agent startedAt / finishedAt) and the workflow's start and close in its history.
 */
import { hostname } from 'node:os';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { getExtractionResult, startExtraction } from '../client/extraction';
import type { ExtractionInput, ExtractionResult } from '../shared/contract/extraction/messages';
import { recordedIntervals, type Documents, type Interval } from '../test/helpers/extraction';
import { eventMs, historyTimings, type HistoryTimings } from './lib/history';
import { makespan } from './lib/makespan';
import { startInProcessStack, type InProcessStack } from './lib/in-process-stack';
import type { BareLayeredInput, BareLayeredResult, SleepActivities } from './workflows/bare-layered';

export interface FloorRun extends HistoryTimings {
  /** First activity start to last activity end, as the sleep activities recorded them. */
  makespanMs: number;
  intervals: Interval[];
}

export interface ExtractionBench extends InProcessStack {
  /** Only with `floor`: the same DAG on a bare workflow with sleep-only activities (bench/workflows/bare-layered.ts). */
  measureFloor(tasks: BareLayeredInput['tasks'], workMs: number, maxParallel: number): Promise<FloorRun>;
}

export async function startExtractionBench(maxConcurrent: number, options: { floor?: boolean } = {}): Promise<ExtractionBench> {
  const sleepFor: SleepActivities['sleepFor'] = async (ms) => {
    const startedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { startedAt, finishedAt: Date.now() };
  };
  const stack = await startInProcessStack({
    capabilities: ['extract'],
    maxConcurrent,
    extraWorkers: async ({ env, prefix }) =>
      options.floor
        ? [
            await Worker.create({
              connection: env.nativeConnection,
              namespace: 'default',
              taskQueue: `${prefix}.bare`,
              workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/bare-layered'), logger: new DefaultLogger('WARN') }),
              identity: `bench-bare@${hostname()}`,
            }),
            await Worker.create({
              connection: env.nativeConnection,
              namespace: 'default',
              taskQueue: `${prefix}.bare-work`,
              activities: { sleepFor },
              maxConcurrentActivityTaskExecutions: maxConcurrent,
              identity: `bench-bare-work@${hostname()}`,
            }),
          ]
        : [],
  });
  let floorRuns = 0;
  return {
    ...stack,
    measureFloor: async (tasks, workMs, maxParallel) => {
      if (!options.floor) throw new Error('startExtractionBench was started without { floor: true }');
      const input: BareLayeredInput = { prefix: stack.prefix, taskQueue: `${stack.prefix}.bare-work`, workMs, maxParallel, tasks };
      const workflowId = `bench-floor-${stack.prefix}-${++floorRuns}`;
      const recorded: BareLayeredResult = await stack.client.workflow.execute('bareLayeredDag', { taskQueue: `${stack.prefix}.bare`, workflowId, args: [input] });
      const intervals = Object.entries(recorded).map(([name, i]) => ({ name, start: i.startedAt, end: i.finishedAt }));
      const events = (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      return { makespanMs: makespan(intervals), intervals, ...historyTimings(events) };
    },
  };
}

export interface MeasuredRun extends HistoryTimings {
  result: ExtractionResult;
  /** First extract activity start to last extract activity end, as the activities recorded them. */
  makespanMs: number;
  intervals: Interval[];
  /** The longest dependency chain, weighted by each agent's recorded extract duration. */
  measuredCriticalPathMs: number;
  /** Workflow execution start to close, from its history. */
  workflowMs: number;
  /** extractAgent activities scheduled, from the history. */
  extractActivities: number;
}

let tenantCounter = 0;
export const freshTenant = (): string => `bench_${process.pid}_${++tenantCounter}`;

/** Runs one extraction to its end (it must succeed) and measures it from its records. */
export async function measureRun(bench: ExtractionBench, documents: Documents, options: Partial<ExtractionInput>): Promise<MeasuredRun> {
  const input: ExtractionInput = { tenantId: freshTenant(), setName: 'bench', requestedBy: 'bench', documents, ...options };
  const { workflowId } = await startExtraction(bench.client, bench.config, input);
  const result = await getExtractionResult(bench.client, workflowId);
  if (result.outcome !== 'succeeded') throw new Error(`bench run ${workflowId} ended ${result.outcome}: ${result.reason}`);
  const events = (await bench.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const intervals = recordedIntervals(result);
  const duration = new Map(intervals.map((i) => [i.name, i.end - i.start]));
  const dependsOn = new Map(documents.map((d) => [d.document.name as string, (d.document.dependsOn as string[]) ?? []]));
  const chain = new Map<string, number>();
  for (const name of result.order) chain.set(name, (duration.get(name) ?? 0) + Math.max(0, ...(dependsOn.get(name) ?? []).map((d) => chain.get(d) ?? 0)));
  return {
    result,
    makespanMs: makespan(intervals),
    intervals,
    measuredCriticalPathMs: Math.max(0, ...chain.values()),
    workflowMs: eventMs(events.at(-1)) - eventMs(events[0]),
    extractActivities: events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractAgent').length,
    ...historyTimings(events),
  };
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
