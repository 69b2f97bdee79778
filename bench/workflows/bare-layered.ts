/**
 * The floor for bench/suites/extraction.ts: the extraction benchmark's DAG scheduled by a bare Temporal workflow with
 * the same scheduler (workflows/dag.ts, waking on each settlement) and activities that only sleep, on their own task
 * queue of the same dev server. Whatever separates its makespan from the critical path is Temporal's round trip per
 * layer on this machine; what ADOS adds on top is the difference. Bench-only: bundled by the benchmark on its own.
 */
import { proxyActivities } from '@temporalio/workflow';
import { runDag } from '../../workflows/dag';

export interface BareLayeredInput {
  taskQueue: string;
  workMs: number;
  maxParallel: number;
  tasks: Array<{ id: string; dependsOn: string[] }>;
}

/** Start and end of each task's activity, as the activity recorded them (ms since the epoch). */
export type BareLayeredResult = Record<string, { startedAt: number; finishedAt: number }>;

export interface SleepActivities {
  sleepFor(ms: number): Promise<{ startedAt: number; finishedAt: number }>;
}

export async function bareLayeredDag(input: BareLayeredInput): Promise<BareLayeredResult> {
  const { sleepFor } = proxyActivities<SleepActivities>({ taskQueue: input.taskQueue, startToCloseTimeout: '60s' });
  const intervals: BareLayeredResult = {};
  await runDag(
    input.tasks,
    input.maxParallel,
    async (task) => {
      intervals[task.id] = await sleepFor(input.workMs);
      return task.id;
    },
    { wakeOnSettle: true },
  );
  return intervals;
}
