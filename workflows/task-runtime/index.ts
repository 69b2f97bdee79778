import type { TaskRuntimeRequest } from '../../shared/contract/task-runtime/input';
import type { TaskRuntimeResult, TaskRuntimeState } from '../../shared/contract/task-runtime/messages';

/**
 * `taskRuntime`, whose module is evaluated only when a run of it starts (the SDK evaluates a bundle's module scope for
 * every workflow run, and other kinds never need it). The workflow itself is workflows/task-runtime/task-runtime.ts.
 */
export async function taskRuntime(input: TaskRuntimeRequest, carried?: TaskRuntimeState): Promise<TaskRuntimeResult> {
  const { taskRuntime: run } = require('./task-runtime') as typeof import('./task-runtime');
  return run(input, carried);
}
