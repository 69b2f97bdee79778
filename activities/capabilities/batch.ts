import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { Checkpointer, type CheckpointDetails } from '../common/checkpoint';
import { FencedOutError, type TaskEffects } from '../common/effects';
import { defineBuiltIn } from './define';

/** What a `batch` task's input holds. */
export const batchInput = z.object({
  /** The items: a count N (items 0 … N-1) or the list itself. */
  items: z.union([
    z.number().int('must be a whole number').min(0, 'must be zero or more').max(1_000_000, 'at most 1,000,000 items'),
    z.array(z.unknown()).max(100_000, 'at most 100,000 listed items (give a count for more)'),
  ]),
  /** Items between checkpoints: the most a crash makes the next attempt redo. */
  checkpointEvery: z.number().int().min(1, 'must be at least 1').max(1_000_000).default(500),
  /** Items per effect write (one statement); capped at checkpointEvery. */
  writeEvery: z.number().int().min(1, 'must be at least 1').max(10_000).default(50),
  /** Simulated work per item, for tests, chaos and benchmarks. */
  itemWorkMs: z.number().min(0).max(60_000, 'at most 60000').default(0),
});
export type BatchInput = z.output<typeof batchInput>;

export interface BatchPartial {
  /** Sum of the items' digests (first 32 bits) mod 2^32, as of the cursor: the same whatever the attempts. */
  checksum: number;
}

const batchOutput = z.object({
  items: z.number().int(),
  checksum: z.string(),
  checkpointEvery: z.number().int(),
  attempt: z.number().int(),
  resumedFrom: z.number().int(),
  resumeSource: z.string(),
  /** Effects this attempt wrote. */
  written: z.number().int(),
  /** Items this attempt found already written by an earlier attempt (redone work, not written twice). */
  redone: z.number().int(),
});
export type BatchOutput = z.output<typeof batchOutput>;

export function itemDigest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) ?? 'undefined').digest('hex').slice(0, 16);
}

export function addToChecksum(checksum: number, digest: string): number {
  return (checksum + Number.parseInt(digest.slice(0, 8), 16)) >>> 0;
}

/** Waits `ms` (the simulated work), heartbeating the last checkpoint at least every second. Not cancellable. */
async function work(ms: number, checkpoints: Checkpointer<BatchPartial>): Promise<void> {
  for (let left = ms; left > 0; left -= 1000) {
    await sleep(Math.min(left, 1000));
    checkpoints.beat();
  }
}

/**
 * `batch`: processes `input.items` in order, writing one side effect (a row in `effects`) per item, exactly once per
 * task even across crashes, and checkpoints every `checkpointEvery` items: effects first, then the durable checkpoint,
 * then the heartbeat `{ processed, cursor, partial: { checksum } }`. A retried attempt resumes from the last
 * checkpoint, so a worker that dies redoes at most one checkpoint interval. Every write carries the attempt as a
 * fencing token: once another attempt has taken over, this one's writes are refused and it stops.
 */
export const batch = defineBuiltIn('batch', {
  version: '1.0.0',
  input: batchInput,
  output: batchOutput,
  handler: async (input, ctx) => {
    // Checkpointer reads the heartbeat details and heartbeats through the activity context itself.
    const context = Context.current();
    const { attempt } = ctx;
    const log = ctx.logger;
    const total = typeof input.items === 'number' ? input.items : input.items.length;
    const valueAt = (index: number): unknown => (typeof input.items === 'number' ? index : input.items[index]);
    const writeEvery = Math.min(input.writeEvery, input.checkpointEvery);

    let effects: TaskEffects | undefined;
    try {
      // The fence first: from here on, no earlier attempt of this task can write.
      effects = await ctx.effects();
      const checkpoints = await Checkpointer.resume<BatchPartial>({
        initial: { processed: 0, cursor: 0, partial: { checksum: 0 } },
        store: effects.checkpointStore<BatchPartial>(),
        context,
      });
      const resumed = checkpoints.resumedFrom;
      await effects.startAttempt(resumed.details.cursor, resumed.source);
      log.info(
        { resumedFrom: resumed.details.cursor, resumeSource: resumed.source, heartbeatCursor: resumed.heartbeat?.cursor, items: total },
        resumed.source === 'start' ? 'batch started' : 'batch resumed',
      );

      let cursor = resumed.details.cursor;
      let checksum = resumed.details.partial?.checksum ?? 0;
      while (cursor < total) {
        // Cancellation (worker shutdown past its grace, run cancelled, or this attempt timed out and another took over)
        // is honoured between writes, after saving the checkpoint. Always saved, even when nothing is new: it is a
        // fenced write, so an attempt that was superseded learns it here (refused, recorded, logged) rather than
        // stopping unnoticed; for a live attempt it is a no-op at worst.
        if (ctx.signal.aborted) {
          const reason = ctx.signal.reason;
          log.info({ cursor, reason: String((reason as Error)?.message ?? reason) }, 'batch cancelled: saving the checkpoint');
          await checkpoints.checkpoint({ processed: cursor, cursor, partial: { checksum } });
          throw reason instanceof CancelledFailure ? reason : new CancelledFailure(String(reason ?? 'cancelled'));
        }
        const nextCheckpoint = (Math.floor(cursor / input.checkpointEvery) + 1) * input.checkpointEvery;
        const end = Math.min(cursor + writeEvery, nextCheckpoint, total);
        if (input.itemWorkMs > 0) await work((end - cursor) * input.itemWorkMs, checkpoints);
        const rows = [];
        for (let item = cursor; item < end; item++) {
          const digest = itemDigest(valueAt(item));
          rows.push({ item, digest });
          checksum = addToChecksum(checksum, digest);
        }
        checkpoints.beat();
        await effects.write(rows);
        cursor = end;
        if (cursor === nextCheckpoint || cursor === total) {
          const details: CheckpointDetails<BatchPartial> = { processed: cursor, cursor, partial: { checksum } };
          await checkpoints.checkpoint(details);
        }
      }
      const totals = effects.attemptTotals;
      await effects.finish('completed');
      log.info({ ...totals, items: total }, 'batch completed');
      return {
        items: total,
        checksum: checksum.toString(16).padStart(8, '0'),
        checkpointEvery: input.checkpointEvery,
        attempt,
        resumedFrom: resumed.details.cursor,
        resumeSource: resumed.source,
        written: totals.written,
        redone: totals.redone,
      };
    } catch (error) {
      if (error instanceof FencedOutError) {
        await effects?.finish('fenced', error.message).catch(() => undefined);
        // Retryable: should this attempt still be the live one in Temporal's eyes, a retry takes a fresh fence.
        throw ApplicationFailure.create({ type: 'FencedOut', message: error.message });
      }
      const cancelled = error instanceof CancelledFailure;
      await effects?.finish(cancelled ? 'cancelled' : 'failed', (error as Error)?.message ?? String(error)).catch(() => undefined);
      throw error;
    }
  },
});
