/**
 * The task runtime's pure rules, beside the workflow that uses them and unit-tested without a server: how the cursor
 * moves as batches finish out of order, how a failed batch's open items are split into sub-batches, the fencing
 * generation of a run of the chain, the events kept in reserve for a hand-over, and the rate and ETA.
 */

/** A finished batch: the items it covered (past the cursor when it was scheduled) and how they ended. */
export interface CompletedBatch {
  fromSeq: number;
  toSeq: number;
  processed: number;
  deadLettered: number;
}

/** The counts a checkpoint holds: everything up to the cursor, and nothing past it. */
export interface CommittedCounts {
  cursor: number;
  processed: number;
  deadLettered: number;
  batches: number;
}

/**
 * Moves the cursor over the finished batches that continue it, in order, and takes them out of `completed`; a batch
 * that finished before one scheduled earlier waits there until that one finishes.
 */
export function commitCompleted(committed: CommittedCounts, completed: Map<number, CompletedBatch>): CommittedCounts {
  const next = { ...committed };
  for (let batch = completed.get(next.cursor + 1); batch; batch = completed.get(next.cursor + 1)) {
    completed.delete(batch.fromSeq);
    next.cursor = batch.toSeq;
    next.processed += batch.processed;
    next.deadLettered += batch.deadLettered;
    next.batches += 1;
  }
  return next;
}

/** A sub-batch: items `fromSeq` … `toSeq` of one block, all still open. */
export interface SubBatch {
  fromSeq: number;
  toSeq: number;
}

/**
 * The sub-batches that process a range's open items (ascending seqs) again. After a failure, the first open item runs
 * alone (where a capability that goes in order stopped: it fails again and is a dead letter, or it passes) and the
 * rest run together, one sub-batch per contiguous run of items, so a failing item costs a few activities, not one per
 * item of its batch. A split block scheduled again (`afterFailure` false) runs its contiguous runs as they are.
 */
export function subBatches(open: readonly number[], afterFailure: boolean): SubBatch[] {
  const batches: SubBatch[] = [];
  open.forEach((seq, index) => {
    const last = batches[batches.length - 1];
    const alone = afterFailure && index <= 1;
    if (last && !alone && last.toSeq === seq - 1) last.toSeq = seq;
    else batches.push({ fromSeq: seq, toSeq: seq });
  });
  return batches;
}

/** Fencing generations per run of the chain: more than any run schedules (its history is bounded far below). */
const GENERATIONS_PER_RUN = 1_000_000;

/**
 * The first fencing generation of run `chainIndex`: every batch a later run schedules has a higher generation than
 * any earlier run's, so it takes over its block's fence (activities/common/effects.ts).
 */
export function generationBase(chainIndex: number): number {
  return (chainIndex + 1) * GENERATIONS_PER_RUN;
}

/**
 * Events to keep free for handing over: each batch in flight (and one more being started) still adds its start,
 * completion, a pacing timer and workflow tasks; the hand-over adds a checkpoint, a workflow task and the
 * continue-as-new itself.
 */
export function handOverReserve(parallelism: number): number {
  return (parallelism + 1) * 12 + 40;
}

/** Items per second over the running time, and the seconds left at that rate (none until there is a rate). */
export function rateAndEta(done: number, activeMs: number, remaining: number): { ratePerSecond: number; etaSeconds?: number } {
  const ratePerSecond = activeMs > 0 && done > 0 ? done / (activeMs / 1000) : 0;
  return ratePerSecond > 0 ? { ratePerSecond, etaSeconds: Math.max(0, remaining) / ratePerSecond } : { ratePerSecond };
}
