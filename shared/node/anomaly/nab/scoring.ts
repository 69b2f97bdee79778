/**
 * NAB's scoring (Lavin and Ahmad 2015; numenta/NAB nab/sweeper.py, optimizer.py, runner.py), implemented here from
 * its description and code reading: every labeled window rewards its earliest detection by a scaled sigmoid of where
 * in the window it falls, a window with none costs fnWeight, every detection outside windows costs fpWeight scaled by
 * how far past the preceding window it is (a full cost with no window before it), the first 15% of each file
 * (at most 750 rows) is a probationary period that is not scored, one threshold is chosen for the whole corpus as the
 * one with the best total, and the total is normalized so the null detector scores 0 and a perfect one 100.
 */

/** A profile's weights (NAB's config/profiles.json). */
export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const NAB_PROFILES = {
  standard: { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 },
  reward_low_FP_rate: { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 },
  reward_low_FN_rate: { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 },
} as const satisfies Record<string, CostMatrix>;

export const PROBATIONARY_PERCENT = 0.15;

/** One labeled series: row timestamps (epoch ms) and its anomaly windows [start, end], both rows of the series. */
export interface LabeledSeries {
  name: string;
  timestamps: readonly number[];
  windows: ReadonlyArray<readonly [number, number]>;
}

/**
 * 2·sigmoid(−5y) − 1: 0.9866 at the window's left edge (y = −1), 0 at its right edge (y = 0), towards −1 past it;
 * −1 beyond y = 3.
 */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3) return -1;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1;
}

/** Rows not scored at the start of a series of `rows` rows. */
export function probationaryLength(rows: number, percent = PROBATIONARY_PERCENT): number {
  return Math.min(Math.floor(percent * rows), percent * 5000);
}

/** What a detection at one row would count: its weighted score and the window it would be a detection of. */
export interface RowWeight {
  /** The window's index in the series, or −1 outside every window. */
  window: number;
  /** tpWeight·S/S(−1) inside a window, fpWeight·S (negative) outside. */
  weight: number;
  /** In the probationary period: detections there count for nothing. */
  probationary: boolean;
}

/** Each row's weight as a detection (NAB's calcSweepScore). Throws when a window edge is not a row of the series. */
export function rowWeights(series: LabeledSeries, cost: CostMatrix, probationPercent = PROBATIONARY_PERCENT): RowWeight[] {
  const index = new Map<number, number>();
  series.timestamps.forEach((ts, i) => index.set(ts, i));
  const bounds = series.windows.map(([start, end], w) => {
    const from = index.get(start);
    const to = index.get(end);
    if (from === undefined || to === undefined || to < from) {
      throw new Error(`${series.name}: window ${w} [${new Date(start).toISOString()}, ${new Date(end).toISOString()}] must start and end at rows of the series, in order`);
    }
    return { from, to };
  });
  const maxTp = scaledSigmoid(-1);
  const probation = probationaryLength(series.timestamps.length, probationPercent);
  const weights: RowWeight[] = [];
  let next = 0;
  let previous: { to: number; width: number } | undefined;
  for (let i = 0; i < series.timestamps.length; i += 1) {
    while (next < bounds.length && bounds[next].to < i) {
      previous = { to: bounds[next].to, width: bounds[next].to - bounds[next].from + 1 };
      next += 1;
    }
    const inside = next < bounds.length && bounds[next].from <= i;
    let weight: number;
    if (inside) {
      const { from, to } = bounds[next];
      const width = to - from + 1;
      weight = (scaledSigmoid(-(to - i + 1) / width) * cost.tpWeight) / maxTp;
    } else if (previous === undefined) {
      weight = -cost.fpWeight;
    } else {
      weight = scaledSigmoid(Math.abs(previous.to - i) / (previous.width - 1)) * cost.fpWeight;
    }
    weights.push({ window: inside ? next : -1, weight, probationary: i < probation });
  }
  return weights;
}

/** A total with its confusion counts, counted over rows as NAB counts them. */
export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

/** A series' row weights beside its anomaly scores. */
export interface WeightedSeries {
  name: string;
  weights: readonly RowWeight[];
  scores: readonly number[];
}

/**
 * The corpus total at every distinct score taken as the threshold (a row is a detection when its score ≥ threshold),
 * from above the highest (no detection at all) down to the lowest: NAB's calcScoreByThreshold.
 */
export function scoresByThreshold(corpus: readonly WeightedSeries[], cost: CostMatrix): ThresholdScore[] {
  const rows: Array<{ score: number; weight: number; window: string | null }> = [];
  const windowBest = new Map<string, number>();
  for (const series of corpus) {
    series.weights.forEach((w, i) => {
      if (w.probationary) return;
      const window = w.window >= 0 ? `${series.name}|${w.window}` : null;
      if (window !== null) windowBest.set(window, -cost.fnWeight);
      rows.push({ score: series.scores[i], weight: w.weight, window });
    });
  }
  rows.sort((a, b) => b.score - a.score);
  let fpTotal = 0;
  let tn = rows.filter((r) => r.window === null).length;
  let fn = rows.length - tn;
  let tp = 0;
  let fp = 0;
  let windowTotal = -cost.fnWeight * windowBest.size;
  let threshold = 1.1;
  const out: ThresholdScore[] = [];
  for (const row of rows) {
    if (row.score !== threshold) {
      out.push({ threshold, score: fpTotal + windowTotal, tp, tn, fp, fn });
      threshold = row.score;
    }
    if (row.window === null) {
      fp += 1;
      tn -= 1;
      fpTotal += row.weight;
    } else {
      tp += 1;
      fn -= 1;
      const best = windowBest.get(row.window)!;
      if (row.weight > best) {
        windowBest.set(row.window, row.weight);
        windowTotal += row.weight - best;
      }
    }
  }
  out.push({ threshold, score: fpTotal + windowTotal, tp, tn, fp, fn });
  return out;
}

/** The threshold with the best corpus total (NAB's optimizer; the first, i.e. highest, of equal totals). */
export function optimizeThreshold(corpus: readonly WeightedSeries[], cost: CostMatrix): ThresholdScore {
  return scoresByThreshold(corpus, cost).reduce((best, row) => (row.score > best.score ? row : best));
}

/**
 * The total of one series when the given rows are its detections: each window's best detection or −fnWeight, plus
 * every detection outside windows. Probationary rows count for nothing.
 */
export function scoreDetections(weights: readonly RowWeight[], detections: Iterable<number>, cost: CostMatrix): number {
  const windows = new Set<number>();
  for (const w of weights) if (!w.probationary && w.window >= 0) windows.add(w.window);
  const best = new Map<number, number>();
  let total = 0;
  for (const i of detections) {
    const w = weights[i];
    if (w.probationary) continue;
    if (w.window < 0) total += w.weight;
    else best.set(w.window, Math.max(best.get(w.window) ?? -Infinity, w.weight));
  }
  for (const window of windows) total += best.get(window) ?? -cost.fnWeight;
  return total;
}

/** 100·(score − null)/(perfect − null): the null detector scores 0, detecting every window at its left edge 100. */
export function normalizeScore(raw: number, nullScore: number, windowCount: number, cost: CostMatrix): number {
  const perfect = windowCount * cost.tpWeight;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}

/** The null detector's total: a constant score of 0.5 on every row, at its own best threshold (NAB's baseline). */
export function nullDetectorScore(corpus: ReadonlyArray<{ name: string; weights: readonly RowWeight[] }>, cost: CostMatrix): number {
  return optimizeThreshold(
    corpus.map((s) => ({ ...s, scores: s.weights.map(() => 0.5) })),
    cost,
  ).score;
}
