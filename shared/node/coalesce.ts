/**
 * Group commit for calls that each cost a database round trip. The first call runs at once; calls made while a
 * batch is in flight wait and go out together in the next batch. Under load that turns N statements queued behind
 * each other into about two; alone, a call costs what it did. If a shared batch fails, its items are retried one
 * by one, so one bad item fails only its own caller.
 */
export function coalesce<I, O>(runBatch: (items: readonly I[]) => Promise<readonly O[]>, maxBatch = 64): (item: I) => Promise<O> {
  // It never waits for company (as PostgreSQL's commit_delay does): a lone call is as fast as without it.
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`coalesce: maxBatch must be a whole number of at least 1 (got ${maxBatch})`);
  type Waiting = { item: I; resolve: (out: O) => void; reject: (error: unknown) => void };
  let queue: Waiting[] = [];
  let running = false;

  const runChecked = async (items: readonly I[]): Promise<readonly O[]> => {
    const outs = await runBatch(items);
    if (outs.length !== items.length) throw new Error(`coalesce: a batch of ${items.length} returned ${outs.length} results`);
    return outs;
  };

  const drain = async (): Promise<void> => {
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        try {
          const outs = await runChecked(batch.map((w) => w.item));
          batch.forEach((w, i) => w.resolve(outs[i]));
        } catch (error) {
          if (batch.length === 1) {
            batch[0].reject(error);
            continue;
          }
          for (const w of batch) {
            await runChecked([w.item]).then(([out]) => w.resolve(out), w.reject);
          }
        }
      }
    } finally {
      running = false;
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!running) void drain();
    });
}
