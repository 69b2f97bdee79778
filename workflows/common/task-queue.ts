import { workflowInfo } from '@temporalio/workflow';
import { DEFAULT_TASK_QUEUE_PREFIX, prefixFromControlTaskQueue } from '../../shared/contract/task-queues';

/**
 * The deployment's task-queue prefix, from the control queue this run is on, so the prefix is configured once (on
 * the workers) and never travels in workflow input. A replay worker (Worker.runReplayHistories, the determinism gate
 * in test/replay) runs workflows on a queue of its own, "<replayName>-<n>": nothing is dispatched there and the task
 * queue of a scheduled activity is not compared with the history, so the default prefix replays the same commands.
 * A live run on a queue that is not a control queue is a deployment error.
 */
export function runTaskQueuePrefix(): string {
  const { taskQueue, unsafe } = workflowInfo();
  try {
    return prefixFromControlTaskQueue(taskQueue);
  } catch (error) {
    if (unsafe.isReplaying) return DEFAULT_TASK_QUEUE_PREFIX;
    throw error;
  }
}
