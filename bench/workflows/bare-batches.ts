/**
 * The floor for bench/suites/task-runtime.ts: the same items in the same batches, up to the same number at once, each
 * batch one activity, by a bare Temporal workflow. What it leaves out is what a task runtime adds: the capability's
 * fence, effects and durable checkpoints, the runtime's checkpoints and audit in PostgreSQL, pacing, controls and
 * continue-as-new. Bench-only: bundled by the benchmark on its own, never by a worker.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface BareBatchesInput {
  items: number;
  batchSize: number;
  maxParallel: number;
  taskQueue: string;
  itemWorkMs: number;
}

/** A batch's items as the runtime hands them to its capability. */
export interface BareBatchItem {
  seq: number;
  key: string;
  payload: null;
}

/** The bare batch activity (bench/suites/task-runtime.ts): the capability's work per item, nothing written. */
export interface BareBatchActivities {
  bareBatch(input: { items: BareBatchItem[]; itemWorkMs: number }): Promise<{ items: number; checksum: string }>;
}

export async function bareBatches(input: BareBatchesInput): Promise<{ items: number; batches: number }> {
  const { bareBatch } = proxyActivities<BareBatchActivities>({ taskQueue: input.taskQueue, startToCloseTimeout: '5m', heartbeatTimeout: '10s' });
  const blocks = Math.ceil(input.items / input.batchSize);
  let next = 0;
  let done = 0;
  const lane = async () => {
    for (let block = next++; block < blocks; block = next++) {
      const fromSeq = block * input.batchSize + 1;
      const toSeq = Math.min((block + 1) * input.batchSize, input.items);
      const items = Array.from({ length: toSeq - fromSeq + 1 }, (_, i) => ({ seq: fromSeq + i, key: `item-${fromSeq + i}`, payload: null }));
      done += (await bareBatch({ items, itemWorkMs: input.itemWorkMs })).items;
    }
  };
  await Promise.all(Array.from({ length: input.maxParallel }, lane));
  return { items: done, batches: blocks };
}
