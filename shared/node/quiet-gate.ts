/**
 * Lets work that has slack wait for a burst of arrivals to pass. A DAG layer's tasks reach a worker over a few tens
 * of milliseconds (one workflow task per batch of upstream completions); work the first of them starts at once
 * competes for the CPU and the database with the dispatch of the rest, and the layer's slowest start is what the
 * next layer waits for. `arrived()` marks an arrival; `quiet(maxWaitMs)` resolves once no arrival came for `quietMs`,
 * or after `maxWaitMs` at the latest (so a steady stream of arrivals never starves anyone).
 */
export interface QuietGate {
  arrived(): void;
  quiet(maxWaitMs: number): Promise<void>;
}

export function quietGate(quietMs: number): QuietGate {
  if (!Number.isFinite(quietMs) || quietMs < 0) throw new Error(`quietGate: quietMs must be a number of at least 0 (got ${quietMs})`);
  let lastArrival = Number.NEGATIVE_INFINITY;
  return {
    arrived: () => {
      lastArrival = Date.now();
    },
    quiet: async (maxWaitMs) => {
      const deadline = Date.now() + Math.max(0, maxWaitMs);
      for (;;) {
        const wakeAt = Math.min(lastArrival + quietMs, deadline);
        const left = wakeAt - Date.now();
        if (left <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, left));
      }
    },
  };
}
