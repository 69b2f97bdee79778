import { z } from 'zod';
import type { ScoredSample } from './ensemble';

/** Anomalous samples at most the merge gap apart, as one anomaly: its span, its peak, and every detector that agreed. */
export interface DetectedAnomaly {
  start: number;
  end: number;
  peakTs: number;
  peakScore: number;
  detectors: string[];
  /** Anomalous samples in it. */
  samples: number;
}

const detectedAnomalySchema = z
  .object({
    start: z.number(),
    end: z.number(),
    peakTs: z.number(),
    peakScore: z.number(),
    detectors: z.array(z.string()),
    samples: z.number().int().min(1),
  })
  .strict();

export const grouperStateSchema = z.object({ open: detectedAnomalySchema.optional() }).strict();
/** The anomaly still open (plain JSON). */
export type GrouperState = z.output<typeof grouperStateSchema>;

export interface Grouper {
  /** Takes the next scored sample; returns the anomalies it closed (at most one). */
  push(sample: ScoredSample): DetectedAnomaly[];
  /** Closes the open anomaly, if any, and returns it. */
  flush(): DetectedAnomaly[];
  /** The anomaly still growing, if any. */
  open(): DetectedAnomaly | undefined;
  snapshot(): GrouperState;
}

class GapGrouper implements Grouper {
  private current?: DetectedAnomaly;

  constructor(
    private readonly mergeGapMs: number,
    state?: GrouperState,
  ) {
    this.current = state?.open ? structuredClone(state.open) : undefined;
  }

  push(sample: ScoredSample): DetectedAnomaly[] {
    const closed: DetectedAnomaly[] = [];
    if (this.current && sample.ts - this.current.end > this.mergeGapMs) {
      closed.push(this.current);
      this.current = undefined;
    }
    if (!sample.anomalous) return closed;
    const open = this.current;
    if (!open) {
      this.current = { start: sample.ts, end: sample.ts, peakTs: sample.ts, peakScore: sample.score, detectors: [...sample.flagged].sort(), samples: 1 };
      return closed;
    }
    open.end = sample.ts;
    open.samples += 1;
    if (sample.score > open.peakScore) {
      open.peakScore = sample.score;
      open.peakTs = sample.ts;
    }
    for (const name of sample.flagged) if (!open.detectors.includes(name)) open.detectors.push(name);
    open.detectors.sort();
    return closed;
  }

  flush(): DetectedAnomaly[] {
    const closed = this.current ? [this.current] : [];
    this.current = undefined;
    return closed;
  }

  open(): DetectedAnomaly | undefined {
    return this.current ? structuredClone(this.current) : undefined;
  }

  snapshot(): GrouperState {
    return this.current ? { open: structuredClone(this.current) } : {};
  }
}

/** Groups anomalous samples into anomalies: a sample more than `mergeGapMs` after the open anomaly's end closes it. */
export function createGrouper(options: { mergeGapMs: number }, state?: GrouperState): Grouper {
  if (!Number.isFinite(options.mergeGapMs) || options.mergeGapMs < 0) {
    throw new Error(`mergeGapMs: ${options.mergeGapMs} must be zero or more milliseconds (mergeGapMs(config) gives the configuration's)`);
  }
  let restored: GrouperState | undefined;
  if (state !== undefined) {
    const parsed = grouperStateSchema.safeParse(state);
    if (!parsed.success) throw new Error(`invalid grouper state (not a snapshot() of a grouper): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    restored = parsed.data;
  }
  return new GapGrouper(options.mergeGapMs, restored);
}
