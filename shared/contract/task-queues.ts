/**
 * Task queue names. One queue for the control plane (workflows + database activities) and one per
 * capability, so that routing is done by Temporal: a task can only be picked up by a worker that
 * polls its capability's queue.
 */
export const DEFAULT_TASK_QUEUE_PREFIX = 'ados';

const CONTROL_SUFFIX = '.control';

export function controlTaskQueue(prefix = DEFAULT_TASK_QUEUE_PREFIX): string {
  return `${prefix}${CONTROL_SUFFIX}`;
}

export function capabilityTaskQueue(capability: string, prefix = DEFAULT_TASK_QUEUE_PREFIX): string {
  return `${prefix}.cap.${capability}`;
}

/**
 * Workflows learn the deployment's prefix from the queue they run on, so that the prefix is
 * configured once (on the worker) and never has to travel in workflow input.
 */
export function prefixFromControlTaskQueue(taskQueue: string): string {
  if (!taskQueue.endsWith(CONTROL_SUFFIX)) {
    throw new Error(`task queue "${taskQueue}" is not a control queue (expected "<prefix>${CONTROL_SUFFIX}")`);
  }
  return taskQueue.slice(0, -CONTROL_SUFFIX.length);
}
