import type { RowWeight } from './scoring';

/** Detections of one series against its windows, NAB's way: inside a window a true positive, outside a false one. */
export interface WindowCounts {
  /** Windows with at least one detection. */
  tp: number;
  /** Detections outside every window. */
  fp: number;
  /** Windows with none. */
  fn: number;
  /** Window start → first detection in it (ms), per detected window. */
  latenciesMs: number[];
}

/**
 * Counts the detections (row indexes) of one series; rows of the probationary period, and windows that lie wholly in
 * it, are left out as NAB's scoring leaves them out.
 */
export function countWindows(weights: readonly RowWeight[], timestamps: readonly number[], detections: readonly number[]): WindowCounts {
  const windowStart = new Map<number, number>();
  weights.forEach((w, i) => {
    if (!w.probationary && w.window >= 0 && !windowStart.has(w.window)) windowStart.set(w.window, timestamps[i]);
  });
  const firstDetection = new Map<number, number>();
  let fp = 0;
  for (const i of detections) {
    const w = weights[i];
    if (w.probationary) continue;
    if (w.window < 0) fp += 1;
    else if (!firstDetection.has(w.window)) firstDetection.set(w.window, timestamps[i]);
  }
  const latenciesMs = [...firstDetection].map(([window, ts]) => ts - windowStart.get(window)!);
  return { tp: firstDetection.size, fp, fn: windowStart.size - firstDetection.size, latenciesMs };
}

/** Precision, recall and F1 over summed counts (0 where undefined). */
export function precisionRecallF1(counts: Pick<WindowCounts, 'tp' | 'fp' | 'fn'>): { precision: number; recall: number; f1: number } {
  const precision = counts.tp + counts.fp > 0 ? counts.tp / (counts.tp + counts.fp) : 0;
  const recall = counts.tp + counts.fn > 0 ? counts.tp / (counts.tp + counts.fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
