import { z } from 'zod';
import type { robustZConfigSchema } from '../../../contract/anomaly/detection';
import { Ring } from './ring';
import { squash } from './score';

export type RobustZConfig = z.output<typeof robustZConfigSchema>;

export const robustZStateSchema = z
  .object({ baseline: z.array(z.number()), recent: z.array(z.number()), seasonalBaseline: z.array(z.number()) })
  .strict();
export type RobustZState = z.output<typeof robustZStateSchema>;

/** 1.4826 × MAD estimates σ for normal data; 1.2533 × mean absolute deviation does too (the fallback when MAD is 0). */
const MAD_TO_SIGMA = 1.4826;
const MEAN_ABS_TO_SIGMA = 1.2533;

/** Index of the first element of `sorted` that is ≥ `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The median of a sorted, non-empty list. */
function sortedMedian(sorted: readonly number[]): number {
  const n = sorted.length;
  const mid = n >>> 1;
  return n % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median of |v − m| over a sorted list whose median is m, in O(n): the deviations below m grow leftwards from
 * the middle and those above grow rightwards, so merging the two walks yields them in order.
 */
function sortedMad(sorted: readonly number[], m: number): number {
  const n = sorted.length;
  let left = lowerBound(sorted, m) - 1;
  let right = left + 1;
  const wanted = n >>> 1;
  let previous = 0;
  let current = 0;
  for (let taken = 0; taken <= wanted; taken += 1) {
    previous = current;
    const fromLeft = left >= 0 ? m - sorted[left] : Infinity;
    const fromRight = right < n ? sorted[right] - m : Infinity;
    if (fromLeft <= fromRight) {
      current = fromLeft;
      left -= 1;
    } else {
      current = fromRight;
      right += 1;
    }
  }
  return n % 2 === 1 ? current : (previous + current) / 2;
}

/** Median and MAD of a rolling window, kept sorted beside the ring (insert and remove by binary search, no sort). */
class RollingBaseline {
  private readonly ring: Ring;
  private readonly sorted: number[];

  constructor(capacity: number, values: readonly number[]) {
    this.ring = new Ring(capacity, values);
    this.sorted = this.ring.toArray().sort((a, b) => a - b);
  }

  get size(): number {
    return this.sorted.length;
  }

  /** How far `value` lies from the median, in robust spreads (at least `minSpreadRatio` of the window's range). */
  z(value: number, minSpreadRatio: number): number {
    const sorted = this.sorted;
    const m = sortedMedian(sorted);
    let spread = MAD_TO_SIGMA * sortedMad(sorted, m);
    if (spread === 0) {
      let total = 0;
      for (const v of sorted) total += Math.abs(v - m);
      spread = (MEAN_ABS_TO_SIGMA * total) / sorted.length;
    }
    spread = Math.max(spread, minSpreadRatio * (sorted[sorted.length - 1] - sorted[0]), Number.MIN_VALUE);
    return Math.abs(value - m) / spread;
  }

  push(value: number): void {
    const evicted = this.ring.push(value);
    if (evicted !== undefined) this.sorted.splice(lowerBound(this.sorted, evicted), 1);
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  values(): number[] {
    return this.ring.toArray();
  }
}

/**
 * Robust z-score of each value against the median and MAD of the `baseline` values before it, and, with a season,
 * of its seasonal difference (the value minus the one a season before) against the same of past seasonal
 * differences: the larger of the two. The seasonal one sees a daily pattern break where the value stays in range.
 */
export class RobustZDetector {
  private readonly baseline: RollingBaseline;
  /** The last `season` values, for the seasonal difference. */
  private readonly recent: Ring;
  private readonly seasonalBaseline: RollingBaseline;

  constructor(
    private readonly config: RobustZConfig,
    state?: RobustZState,
  ) {
    this.baseline = new RollingBaseline(config.baseline, state?.baseline ?? []);
    this.recent = new Ring(Math.max(1, config.season), state?.recent ?? []);
    this.seasonalBaseline = new RollingBaseline(config.baseline, state?.seasonalBaseline ?? []);
  }

  /** The robust z of `value` (0 while a baseline is shorter than the warm-up). */
  statistic(value: number): number {
    const { warmup, minSpreadRatio } = this.config;
    const direct = this.baseline.size >= warmup ? this.baseline.z(value, minSpreadRatio) : 0;
    const seasonal = this.seasonalDifference(value);
    const periodic = seasonal !== undefined && this.seasonalBaseline.size >= warmup ? this.seasonalBaseline.z(seasonal, minSpreadRatio) : 0;
    return Math.max(direct, periodic);
  }

  /** Scores `value`, then adds it to the baselines. */
  push(value: number): number {
    const score = squash(this.statistic(value), this.config.scale);
    const seasonal = this.seasonalDifference(value);
    if (seasonal !== undefined) this.seasonalBaseline.push(seasonal);
    this.baseline.push(value);
    if (this.config.season > 0) this.recent.push(value);
    return score;
  }

  private seasonalDifference(value: number): number | undefined {
    const { season } = this.config;
    return season > 0 && this.recent.size === season ? value - this.recent.at(0) : undefined;
  }

  snapshot(): RobustZState {
    return { baseline: this.baseline.values(), recent: this.config.season > 0 ? this.recent.toArray() : [], seasonalBaseline: this.seasonalBaseline.values() };
  }
}
