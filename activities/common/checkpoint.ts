/**
 * Checkpoints for long activities: progress is heartbeated as checkpoint details `{ processed, cursor, partial }`,
 * and a retried attempt resumes from them (`Context.current().info.heartbeatDetails`).
 *
 *   const checkpoints = await Checkpointer.resume({ initial: { processed: 0, cursor: 0, partial: … }, store });
 *   let { cursor } = checkpoints.last;                    // where this attempt starts
 *   while (cursor < n) {
 *     checkpoints.beat();                                 // liveness between checkpoints (re-sends the last details)
 *     … work, write effects …
 *     await checkpoints.checkpoint({ processed, cursor, partial });
 *   }
 *
 * Why a durable store as well: the SDK throttles heartbeats (at most one per 0.8 × heartbeatTimeout reaches the
 * server), so the details a retry receives can be several checkpoints old. A store (e.g. TaskEffects' checkpoints
 * row, written before the heartbeat) holds the latest checkpoint exactly; the retry resumes from whichever of the two
 * is further. Without a store, the heartbeat details alone are used.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';

export interface CheckpointDetails<P = unknown> {
  /** Items done so far (by every attempt). */
  processed: number;
  /** Where the next attempt starts (the first item not done). */
  cursor: number;
  /** Whatever else the activity needs to resume (e.g. a running checksum). */
  partial?: P;
}

export interface CheckpointStore<P> {
  load(): Promise<CheckpointDetails<P> | undefined>;
  save(details: CheckpointDetails<P>): Promise<void>;
}

/** The part of the activity Context a checkpointer uses (Context.current() by default). */
export interface HeartbeatContext {
  info: { heartbeatDetails?: unknown };
  heartbeat(details?: unknown): void;
}

export type ResumeSource = 'start' | 'heartbeat' | 'checkpoint';

export interface ResumePoint<P> {
  details: CheckpointDetails<P>;
  source: ResumeSource;
  /** The heartbeat details this attempt received, when they were a checkpoint. */
  heartbeat?: CheckpointDetails<P>;
  /** The durable checkpoint, when there was one. */
  stored?: CheckpointDetails<P>;
}

const detailsSchema = z.object({
  processed: z.number().int().min(0),
  cursor: z.number().int().min(0),
  partial: z.unknown().optional(),
});

/** Details heartbeated by an attempt, or undefined when they are not a checkpoint (none, or another shape). */
export function parseCheckpointDetails<P>(value: unknown): CheckpointDetails<P> | undefined {
  const parsed = detailsSchema.safeParse(value);
  return parsed.success ? (parsed.data as CheckpointDetails<P>) : undefined;
}

/** Picks where to resume: the further of the heartbeat details and the durable checkpoint; heartbeat on a tie. */
export function chooseResumePoint<P>(initial: CheckpointDetails<P>, heartbeat?: CheckpointDetails<P>, stored?: CheckpointDetails<P>): ResumePoint<P> {
  if (heartbeat && (!stored || heartbeat.cursor >= stored.cursor)) return { details: heartbeat, source: 'heartbeat', heartbeat, stored };
  if (stored) return { details: stored, source: 'checkpoint', heartbeat, stored };
  return { details: initial, source: 'start' };
}

export interface CheckpointerOptions<P> {
  /** Where a first attempt starts. */
  initial: CheckpointDetails<P>;
  store?: CheckpointStore<P>;
  context?: HeartbeatContext;
}

export class Checkpointer<P = unknown> {
  private current: CheckpointDetails<P>;

  private constructor(
    readonly resumedFrom: ResumePoint<P>,
    private readonly context: HeartbeatContext,
    private readonly store: CheckpointStore<P> | undefined,
  ) {
    this.current = resumedFrom.details;
  }

  /** Reads the last checkpoint (heartbeat details and the store) and heartbeats it at once. */
  static async resume<P>(options: CheckpointerOptions<P>): Promise<Checkpointer<P>> {
    const context = options.context ?? Context.current();
    const heartbeat = parseCheckpointDetails<P>(context.info.heartbeatDetails);
    const stored = await options.store?.load();
    const checkpointer = new Checkpointer(chooseResumePoint(options.initial, heartbeat, stored), context, options.store);
    checkpointer.beat();
    return checkpointer;
  }

  /** The last checkpoint: where a retry of this attempt would start. */
  get last(): CheckpointDetails<P> {
    return this.current;
  }

  /**
   * A liveness heartbeat between checkpoints: re-sends the last checkpoint (never progress that is not
   * checkpointed), so a retry never resumes past work whose effects are not written. Cheap: the SDK throttles.
   */
  beat(): void {
    this.context.heartbeat(this.current);
  }

  /** Records a checkpoint: durably first (when there is a store; it may refuse, e.g. when fenced out), then heartbeats it. */
  async checkpoint(details: CheckpointDetails<P>): Promise<void> {
    if (details.cursor < this.current.cursor) {
      throw new Error(`checkpoint cursor went back from ${this.current.cursor} to ${details.cursor}`);
    }
    await this.store?.save(details);
    this.current = details;
    this.context.heartbeat(details);
  }
}
