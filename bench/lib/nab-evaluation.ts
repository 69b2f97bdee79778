/**
 * Scores detectors on the NAB subset the way bench/suites/anomaly-detection.ts reports them, each by the same code:
 * - raw: NAB's own way, every row with score ≥ threshold a detection, one threshold for the corpus chosen by NAB's
 *   optimizer (shared/node/anomaly/nab/scoring.ts);
 * - alarms: what ADOS raises, the starts of the anomalies the grouper forms from rows with score ≥ threshold (merge
 *   gap as configured), the corpus threshold chosen the same way (best total) over a sweep of candidate thresholds.
 * Precision, recall, F1, false alarms and latency are counted on the alarms at that threshold.
 */
import { createGrouper } from '../../shared/node/anomaly/detection';
import type { NabSeries } from '../../shared/node/anomaly/nab/corpus';
import {
  type CostMatrix,
  NAB_PROFILES,
  normalizeScore,
  nullDetectorScore,
  optimizeThreshold,
  type RowWeight,
  rowWeights,
  scoreDetections,
} from '../../shared/node/anomaly/nab/scoring';
import { countWindows, precisionRecallF1 } from '../../shared/node/anomaly/nab/window-metrics';

export interface PreparedCorpus {
  series: NabSeries[];
  weights: RowWeight[][];
  cost: CostMatrix;
  nullScore: number;
  windowCount: number;
}

export function prepareCorpus(series: NabSeries[], cost: CostMatrix = NAB_PROFILES.standard): PreparedCorpus {
  const weights = series.map((s) => rowWeights(s, cost));
  const nullScore = nullDetectorScore(
    series.map((s, i) => ({ name: s.name, weights: weights[i] })),
    cost,
  );
  return { series, weights, cost, nullScore, windowCount: series.reduce((n, s) => n + s.windows.length, 0) };
}

/** The row indexes where an anomaly opens, grouping rows with score ≥ threshold by the merge gap. */
export function alarmStarts(timestamps: readonly number[], scores: readonly number[], threshold: number, mergeGapMs: number): number[] {
  const grouper = createGrouper({ mergeGapMs });
  const starts: number[] = [];
  const indexByTs = new Map<number, number>();
  const collect = (closed: Array<{ start: number }>) => closed.forEach((a) => starts.push(indexByTs.get(a.start)!));
  scores.forEach((score, i) => {
    if (score < threshold) return;
    indexByTs.set(timestamps[i], i);
    collect(grouper.push({ ts: timestamps[i], value: 0, score, detectors: {}, flagged: [], anomalous: true }));
  });
  collect(grouper.flush());
  return starts;
}

/** Candidate thresholds: distinct scores at ranks spaced geometrically from the top, so the tail is searched finely. */
export function candidateThresholds(scoresBySeries: ReadonlyArray<readonly number[]>, count = 160): number[] {
  const all = scoresBySeries.flat().filter((s) => s > 0).sort((a, b) => b - a);
  const picked = new Set<number>();
  for (let k = 0; k < count; k += 1) {
    const rank = Math.min(all.length - 1, Math.floor(Math.exp((k / (count - 1)) * Math.log(all.length))) - 1);
    if (rank >= 0) picked.add(all[rank]);
  }
  return [...picked].sort((a, b) => b - a);
}

export interface DetectorEvaluation {
  rawThreshold: number;
  rawNab: number;
  alarmThreshold: number;
  alarmNab: number;
  precision: number;
  recall: number;
  f1: number;
  /** The most false alarms on one anomaly-free file, and their mean over those files. */
  maxFalseAlarmsAnomalyFree: number;
  meanFalseAlarmsAnomalyFree: number;
  medianLatencyMinutes: number;
  alarmsPerFile: Record<string, { tp: number; fp: number; fn: number }>;
}

const ANOMALY_FREE = 'artificialNoAnomaly/';

export function evaluate(corpus: PreparedCorpus, scoresBySeries: number[][], mergeGapMs: number): DetectorEvaluation {
  const { series, weights, cost } = corpus;
  const raw = optimizeThreshold(
    series.map((s, i) => ({ name: s.name, weights: weights[i], scores: scoresBySeries[i] })),
    cost,
  );
  let best = { threshold: 1, total: -Infinity, starts: [] as number[][] };
  for (const threshold of candidateThresholds(scoresBySeries)) {
    const starts = series.map((s, i) => alarmStarts(s.timestamps, scoresBySeries[i], threshold, mergeGapMs));
    const total = starts.reduce((sum, st, i) => sum + scoreDetections(weights[i], st, cost), 0);
    if (total > best.total) best = { threshold, total, starts };
  }
  const counts = series.map((s, i) => countWindows(weights[i], s.timestamps, best.starts[i] ?? []));
  const sum = counts.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), { tp: 0, fp: 0, fn: 0 });
  const falseAlarms = series.flatMap((s, i) => (s.name.startsWith(ANOMALY_FREE) ? [counts[i].fp] : []));
  const latencies = counts.flatMap((c) => c.latenciesMs).sort((a, b) => a - b);
  const median = latencies.length === 0 ? NaN : latencies.length % 2 ? latencies[latencies.length >> 1] : (latencies[latencies.length / 2 - 1] + latencies[latencies.length / 2]) / 2;
  return {
    rawThreshold: raw.threshold,
    rawNab: normalizeScore(raw.score, corpus.nullScore, corpus.windowCount, cost),
    alarmThreshold: best.threshold,
    alarmNab: normalizeScore(best.total, corpus.nullScore, corpus.windowCount, cost),
    ...precisionRecallF1(sum),
    maxFalseAlarmsAnomalyFree: Math.max(0, ...falseAlarms),
    meanFalseAlarmsAnomalyFree: falseAlarms.reduce((a, b) => a + b, 0) / Math.max(1, falseAlarms.length),
    medianLatencyMinutes: median / 60_000,
    alarmsPerFile: Object.fromEntries(series.map((s, i) => [s.name, { tp: counts[i].tp, fp: counts[i].fp, fn: counts[i].fn }])),
  };
}
