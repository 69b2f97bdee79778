/**
 * Group commit (shared/node/coalesce.ts): a call alone runs at once; calls made while a batch is in flight go out
 * together next; each caller gets its own result; one bad item in a shared batch fails only its own caller.
 */
import { coalesce } from '../../shared/node/coalesce';

/** A batch function that records its batches and finishes each one only when the test says. */
function controlledBatches<I, O>(compute: (item: I) => O) {
  const batches: I[][] = [];
  const pending: Array<() => void> = [];
  const run = (items: readonly I[]) =>
    new Promise<readonly O[]>((resolve, reject) => {
      batches.push([...items]);
      pending.push(() => {
        try {
          resolve(items.map(compute));
        } catch (error) {
          reject(error);
        }
      });
    });
  const finishNext = async () => {
    pending.shift()!();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { batches, run, finishNext };
}

describe('coalesce', () => {
  test('a lone call runs at once; calls made meanwhile go out together in the next batch, each caller getting its own result', async () => {
    const ctl = controlledBatches((n: number) => n * 10);
    const call = coalesce(ctl.run);
    const first = call(1);
    expect(ctl.batches).toEqual([[1]]);
    const rest = [call(2), call(3), call(4)];
    expect(ctl.batches).toEqual([[1]]);
    await ctl.finishNext();
    expect(ctl.batches).toEqual([[1], [2, 3, 4]]);
    await ctl.finishNext();
    await expect(first).resolves.toBe(10);
    await expect(Promise.all(rest)).resolves.toEqual([20, 30, 40]);
    // Idle again: the next call runs alone, at once.
    const later = call(5);
    expect(ctl.batches).toEqual([[1], [2, 3, 4], [5]]);
    await ctl.finishNext();
    await expect(later).resolves.toBe(50);
  });

  test('no batch is larger than maxBatch', async () => {
    const ctl = controlledBatches((n: number) => n);
    const call = coalesce(ctl.run, 2);
    const all = [1, 2, 3, 4, 5].map(call);
    for (let i = 0; i < 3; i++) await ctl.finishNext();
    await expect(Promise.all(all)).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(ctl.batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  test('when a shared batch fails, its items are retried one by one and only the bad one fails', async () => {
    const ctl = controlledBatches((n: number) => {
      if (n === 3) throw new Error('item 3 violates a constraint');
      return n;
    });
    const call = coalesce(ctl.run);
    const first = call(1);
    const shared = [call(2), call(3), call(4)];
    await ctl.finishNext(); // [1]
    await ctl.finishNext(); // [2, 3, 4] fails as a whole
    await ctl.finishNext(); // [2]
    await ctl.finishNext(); // [3] fails
    await ctl.finishNext(); // [4]
    await expect(first).resolves.toBe(1);
    const settled = await Promise.allSettled(shared);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error('item 3 violates a constraint'));
    expect(ctl.batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  test('a batch function that returns the wrong number of results is an error, not a silent mix-up', async () => {
    const call = coalesce(async (items: readonly number[]) => items.slice(1));
    await expect(call(1)).rejects.toThrow('coalesce: a batch of 1 returned 0 results');
  });

  test('maxBatch must be a whole number of at least 1', () => {
    expect(() => coalesce(async (items: readonly number[]) => items, 0)).toThrow('coalesce: maxBatch must be a whole number of at least 1 (got 0)');
  });
});
