/**
 * The floor for bench/suites/extraction.ts: the extraction benchmark's DAG scheduled by a bare Temporal workflow the
 * way schemaExtraction schedules it (runDag from workflows/dag.ts, the same maxParallel, the extract capability's
 * activity options from capabilityActivityOptions), with activities that only sleep the same simulated work, on their
 * own task queue of the same dev server. Whatever separates its makespan from the critical path is Temporal's round trip
 * per layer on this machine; what ADOS adds on top is the difference. Bench-only: bundled by the benchmark on its own.
 */
import { proxyActivities } from '@temporalio/workflow';
import { CAPABILITIES } from '../../shared/contract/capabilities';
import { capabilityActivityOptions } from '../../workflows/common/capability-activity';
import { runDag } from '../../workflows/dag';

export interface BareLayeredInput {
  /** The deployment's task-queue prefix (for the options), and the queue the sleep worker polls. */
  prefix: string;
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
  // Per task, as schemaExtraction builds its extractor; a sleep cannot fail, so no error type is non-retryable.
  const sleeper = (task: string) =>
    proxyActivities<SleepActivities>({
      ...capabilityActivityOptions('extract', CAPABILITIES.extract, input.prefix, { extraStartToCloseMs: input.workMs }, [], `extract ${task}`).options,
      taskQueue: input.taskQueue,
    });
  const intervals: BareLayeredResult = {};
  await runDag(input.tasks, input.maxParallel, async (task) => {
    intervals[task.id] = await sleeper(task.id).sleepFor(input.workMs);
    return task.id;
  });
  return intervals;
}
