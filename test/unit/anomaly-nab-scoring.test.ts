/**
 * Our NAB scoring (shared/node/anomaly/nab) on hand-made cases. The shared case: 20 rows one minute apart, one window
 * over rows 8–11 (width 4), standard profile (tp 1, fp 0.11, fn 1). Probation: min(floor(0.15·20), 750) = 3 rows
 * (0–2). Scaled sigmoid S(y) = 2/(1 + e^{5y}) − 1, S(−1) = 0.986614.
 * - Rows 3–7 (before any window): −fpWeight = −0.11 each.
 * - In the window, row i sits at y = −(11 − i + 1)/4 and weighs S(y)/S(−1):
 *   row 8: y = −1 → 1; row 9: y = −0.75 → 0.954044/0.986614 = 0.966989; row 10: y = −0.5 → 0.859793;
 *   row 11: y = −0.25 → 0.562124.
 * - After it, row i sits at y = |11 − i|/(4 − 1) and weighs 0.11·S(y): row 12: y = 1/3 → 0.11·(−0.682262) = −0.075049;
 *   row 14: y = 1 → 0.11·(−0.986614) = −0.108528; rows 12–19 sum to −0.835654.
 */
import { parseNabCsv, parseNabTimestamp } from '../../shared/node/anomaly/nab/corpus';
import {
  NAB_PROFILES,
  normalizeScore,
  nullDetectorScore,
  optimizeThreshold,
  probationaryLength,
  rowWeights,
  scaledSigmoid,
  scoreDetections,
  scoresByThreshold,
} from '../../shared/node/anomaly/nab/scoring';
import { countWindows, precisionRecallF1 } from '../../shared/node/anomaly/nab/window-metrics';
import { windowedGaussianScores } from '../../shared/node/anomaly/nab/windowed-gaussian';

const cost = NAB_PROFILES.standard;
const timestamps = Array.from({ length: 20 }, (_, i) => i * 60_000);
const series = { name: 'hand.csv', timestamps, windows: [[8 * 60_000, 11 * 60_000]] as Array<[number, number]> };
const weights = rowWeights(series, cost);

test('the scaled sigmoid: 0.9866 at the left edge, 0 at the right edge, −1 far past the window', () => {
  expect(scaledSigmoid(-1)).toBeCloseTo(0.986614, 6);
  expect(scaledSigmoid(0)).toBe(0);
  expect(scaledSigmoid(1)).toBeCloseTo(-0.986614, 6);
  expect(scaledSigmoid(3.5)).toBe(-1);
});

test('probation: 15% of the rows, at most 750', () => {
  expect(probationaryLength(20)).toBe(3);
  expect(probationaryLength(4032)).toBe(604);
  expect(probationaryLength(100_000)).toBe(750);
});

test('each row weighs what the header computes', () => {
  expect(weights.slice(0, 3).every((w) => w.probationary)).toBe(true);
  expect(weights[3]).toEqual({ window: -1, weight: -0.11, probationary: false });
  expect(weights[8].weight).toBeCloseTo(1, 9);
  expect(weights[9].weight).toBeCloseTo(0.966989, 6);
  expect(weights[10].weight).toBeCloseTo(0.859793, 6);
  expect(weights[11].weight).toBeCloseTo(0.562124, 6);
  expect(weights[12].weight).toBeCloseTo(-0.075049, 6);
  expect(weights[14].weight).toBeCloseTo(-0.108528, 6);
  expect(weights.slice(8, 12).every((w) => w.window === 0)).toBe(true);
});

test('a set of detections scores the window\'s best one plus every false positive; probation counts for nothing', () => {
  // Rows 9 and 12: 0.966989 − 0.075049 = 0.891940.
  expect(scoreDetections(weights, [9, 12], cost)).toBeCloseTo(0.89194, 5);
  // Only the earliest detection in a window counts: rows 9, 10 and 11 give row 9's 0.966989.
  expect(scoreDetections(weights, [9, 10, 11], cost)).toBeCloseTo(0.966989, 6);
  // No detection: the window is missed, −fnWeight.
  expect(scoreDetections(weights, [], cost)).toBe(-1);
  // A detection in the probationary period is ignored: still −1.
  expect(scoreDetections(weights, [1], cost)).toBe(-1);
  // Row 5 (no window before it, −0.11) and row 10 (0.859793): 0.749793.
  expect(scoreDetections(weights, [5, 10], cost)).toBeCloseTo(0.749793, 6);
});

test('the sweep gives the total at every threshold, and the optimizer picks the best', () => {
  const scores = timestamps.map((_, i) => (i === 9 ? 0.9 : i === 12 ? 0.8 : i === 5 ? 0.7 : 0));
  const sweep = scoresByThreshold([{ name: series.name, weights, scores }], cost);
  // 1.1: nothing detected, −1; 0.9: row 9, 0.966989; 0.8: + row 12, 0.891940; 0.7: + row 5, 0.781940;
  // 0: every scorable row (3–19): 1 − 5·0.11 − 0.835654 = −0.385654.
  expect(sweep.map((s) => s.threshold)).toEqual([1.1, 0.9, 0.8, 0.7, 0]);
  const totals = [-1, 0.966989, 0.89194, 0.78194, -0.385654];
  sweep.forEach((s, i) => expect(s.score).toBeCloseTo(totals[i], 5));
  expect(sweep[1]).toMatchObject({ tp: 1, fp: 0, fn: 3, tn: 13 });
  expect(optimizeThreshold([{ name: series.name, weights, scores }], cost).threshold).toBe(0.9);
});

test('normalization: the null detector scores 0 and a perfect one 100', () => {
  // The null detector (0.5 everywhere) at its best threshold: detecting every row, −0.385654, beats nothing (−1).
  const nullScore = nullDetectorScore([{ name: series.name, weights }], cost);
  expect(nullScore).toBeCloseTo(-0.385654, 5);
  expect(normalizeScore(nullScore, nullScore, 1, cost)).toBe(0);
  expect(normalizeScore(1, nullScore, 1, cost)).toBe(100);
  // The optimizer's 0.966989: 100·(0.966989 + 0.385654)/(1 + 0.385654) = 97.6176.
  expect(normalizeScore(0.966989, nullScore, 1, cost)).toBeCloseTo(97.6176, 3);
});

test('a window edge that is not a row of the series is refused with the file and window named', () => {
  expect(() => rowWeights({ ...series, windows: [[30_000, 11 * 60_000]] }, cost)).toThrow(/hand\.csv: window 0 .* must start and end at rows/);
});

test('precision, recall and F1 count windows detected, detections outside them, windows missed; latency from the window start', () => {
  // Rows 5 (false), 10 and 11 (window 0, first at row 10: 2 minutes after its start at row 8), 1 (probation, ignored).
  const counts = countWindows(weights, timestamps, [1, 5, 10, 11]);
  expect(counts).toEqual({ tp: 1, fp: 1, fn: 0, latenciesMs: [120_000] });
  // precision 1/2, recall 1/1, F1 2·0.5·1/1.5 = 0.6667.
  const prf = precisionRecallF1(counts);
  expect(prf.precision).toBe(0.5);
  expect(prf.recall).toBe(1);
  expect(prf.f1).toBeCloseTo(2 / 3, 9);
  expect(precisionRecallF1({ tp: 0, fp: 0, fn: 0 })).toEqual({ precision: 0, recall: 0, f1: 0 });
});

test('the windowed-Gaussian baseline: 0.5 at the mean, near 1 for a value far in the tail, from past values only', () => {
  const values = [...Array.from({ length: 50 }, (_, i) => 10 + (i % 2 === 0 ? 1 : -1)), 10, 30];
  const scores = windowedGaussianScores(values, { windowSize: 100, stepSize: 10 });
  expect(scores[0]).toBe(0);
  // Mean 10 (σ 1 over the first 50 values): 10 scores 1 − Q(0) = 0.5; 30 is 20σ out: 1 − Q(20) ≈ 1.
  expect(scores[50]).toBeCloseTo(0.5, 6);
  expect(scores[51]).toBeGreaterThan(0.9999);
  expect(windowedGaussianScores(values.slice(0, 40), { windowSize: 100, stepSize: 10 })).toEqual(scores.slice(0, 40));
});

test('NAB files: timestamps are UTC wall times; a bad line is reported by its number', () => {
  expect(parseNabTimestamp('2014-04-10 07:15:00.000000')).toBe(Date.UTC(2014, 3, 10, 7, 15));
  expect(parseNabCsv('timestamp,value\n2014-02-14 14:30:00,0.132\n', 'f.csv')).toEqual({ timestamps: [Date.UTC(2014, 1, 14, 14, 30)], values: [0.132] });
  expect(() => parseNabCsv('timestamp,value\n2014-02-14 14:30:00,0.1\n2014-02-14 14:35:00,abc\n', 'f.csv')).toThrow('f.csv line 3: must be "timestamp,value"');
  expect(() => parseNabCsv('time,value\n', 'f.csv')).toThrow('f.csv line 1');
});
