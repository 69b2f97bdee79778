/**
 * The streaming detectors on crafted series (spike, level shift, flatline, drift, seasonality), their causality,
 * snapshot and restore, the ensemble's vote and configuration errors, and grouping into anomalies.
 */
import { type EnsembleConfig, defaultEnsembleConfig, ensembleConfigSchema, mergeGapMs, validateEnsembleConfig } from '../../shared/contract/anomaly/detection';
import { createEnsemble, createGrouper, parseRules, type ScoredSample } from '../../shared/node/anomaly/detection';
import { IsolationForestDetector } from '../../shared/node/anomaly/detection/isolation-forest';
import { MahalanobisDetector } from '../../shared/node/anomaly/detection/mahalanobis';
import { SeededRandom } from '../../shared/node/anomaly/detection/random';
import { RobustZDetector } from '../../shared/node/anomaly/detection/robust-z';

const STEP = 5 * 60_000;
const DAY = 288;
const detectorDefaults = defaultEnsembleConfig().detectors;

/** A daily cycle (amplitude 10 around 50) with seeded Gaussian-ish noise of σ ≈ 1, one sample every 5 minutes. */
function seasonal(n: number, seed = 7): number[] {
  const random = new SeededRandom(seed);
  return Array.from({ length: n }, (_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / DAY) + (random.next() + random.next() + random.next() - 1.5) * 2);
}

const scoresOf = (detector: { push(v: number): number }, values: number[]) => values.map((v) => detector.push(v));
const max = (values: number[]) => values.reduce((a, b) => Math.max(a, b), 0);
const detectors = {
  isolationForest: () => new IsolationForestDetector(detectorDefaults.isolationForest),
  robustZ: () => new RobustZDetector(detectorDefaults.robustZ),
  mahalanobis: () => new MahalanobisDetector(detectorDefaults.mahalanobis),
};

/** How far above the ordinary samples' scores a spike must score: an isolation forest separates by less. */
const spikeMargin = { isolationForest: 0.05, robustZ: 0.15, mahalanobis: 0.15 };

describe.each(Object.entries(detectors))('%s', (name, make) => {
  test('scores a spike far above the ordinary samples of a seasonal series', () => {
    const values = seasonal(3 * DAY);
    values[2 * DAY + 50] += 60;
    const scores = scoresOf(make(), values);
    const ordinary = max(scores.slice(2 * DAY, 2 * DAY + 50));
    expect(scores[2 * DAY + 50]).toBeGreaterThan(0.5);
    expect(scores[2 * DAY + 50]).toBeGreaterThan(ordinary + spikeMargin[name as keyof typeof spikeMargin]);
  });

  test('scores the first samples of a level shift above anything before it', () => {
    const values = seasonal(3 * DAY).map((v, i) => (i >= 2 * DAY + 100 ? v + 40 : v));
    const scores = scoresOf(make(), values);
    expect(max(scores.slice(2 * DAY + 100, 2 * DAY + 104))).toBeGreaterThan(0.5);
    expect(max(scores.slice(2 * DAY + 100, 2 * DAY + 104))).toBeGreaterThan(max(scores.slice(2 * DAY, 2 * DAY + 100)));
  });

  test('causal: appending future samples changes no past score', () => {
    const values = seasonal(2 * DAY + 37, 3);
    const prefix = scoresOf(make(), values.slice(0, DAY + 11));
    const whole = scoresOf(make(), [...values, 500, -500, 0]);
    expect(whole.slice(0, prefix.length)).toEqual(prefix);
  });
});

test('robust z: a slow drift moves the baseline with it and is not flagged; a fast one is', () => {
  const random = new SeededRandom(5);
  const slow = Array.from({ length: 4 * DAY }, (_, i) => 100 + i * 0.01 + random.next());
  expect(max(scoresOf(detectors.robustZ(), slow).slice(DAY))).toBeLessThan(0.5);
  const fast = slow.map((v, i) => (i > 3 * DAY ? v + (i - 3 * DAY) * 0.5 : v));
  expect(max(scoresOf(detectors.robustZ(), fast).slice(3 * DAY))).toBeGreaterThan(0.5);
});

test('robust z: a daily pattern that breaks while staying in range is caught by the seasonal difference', () => {
  // Two hours held at 50 where the cycle peaks near 60: in the range of values, far from what the day before did.
  const peak = 2 * DAY + DAY / 4;
  const values = seasonal(3 * DAY).map((v, i) => (i >= peak - 12 && i < peak + 12 ? 50 : v));
  const withSeason = scoresOf(detectors.robustZ(), values);
  const withoutSeason = scoresOf(new RobustZDetector({ ...detectorDefaults.robustZ, season: 0 }), values);
  expect(max(withSeason.slice(peak - 12, peak + 12))).toBeGreaterThan(0.5);
  expect(max(withoutSeason.slice(peak - 12, peak + 12))).toBeLessThan(0.5);
  expect(max(withSeason.slice(2 * DAY, peak - 24))).toBeLessThan(0.5);
});

test('the ensemble stays quiet on an ordinary seasonal series and flags a spike with the detectors that agreed', () => {
  const values = seasonal(4 * DAY);
  values[3 * DAY + 20] += 80;
  const ensemble = createEnsemble(defaultEnsembleConfig());
  const scored = values.map((value, i) => ensemble.push({ ts: i * STEP, value }));
  expect(scored.filter((s) => s.anomalous && s.ts >= DAY * STEP).map((s) => s.ts)).toEqual([(3 * DAY + 20) * STEP]);
  const spike = scored[3 * DAY + 20];
  expect(spike.flagged.length).toBeGreaterThanOrEqual(2);
  expect(Object.keys(spike.detectors).sort()).toEqual(['isolationForest', 'mahalanobis', 'robustZ']);
});

test('the flatline rule catches what the vote may not, and names itself', () => {
  const config = ensembleConfigSchema.parse({ rules: parseRules('rules:\n  - { name: stuck, type: flatline, for: 1h }\n').rules });
  const values = seasonal(2 * DAY).map((v, i) => (i >= DAY + 10 ? 42 : v));
  const ensemble = createEnsemble(config);
  const scored = values.map((value, i) => ensemble.push({ ts: i * STEP, value }));
  const first = scored.find((s) => s.flagged.includes('rule:stuck'))!;
  // 42 from sample DAY+10; an hour is 12 steps later.
  expect(first.ts).toBe((DAY + 22) * STEP);
  expect(first).toMatchObject({ anomalous: true, score: 1 });
  expect(first.detectors['rule:stuck']).toBe(1);
});

/** Scores `values` in one go, and in two halves with a snapshot → JSON → restore between them. */
function wholeAndRestored(config: EnsembleConfig, values: number[], cut: number, configAfter = config) {
  const whole = createEnsemble(config);
  const expected = values.map((value, i) => whole.push({ ts: i * STEP, value }));
  const first = createEnsemble(config);
  const before = values.slice(0, cut).map((value, i) => first.push({ ts: i * STEP, value }));
  const state = JSON.parse(JSON.stringify(first.snapshot()));
  const second = createEnsemble(configAfter, state);
  const after = values.slice(cut).map((value, i) => second.push({ ts: (cut + i) * STEP, value }));
  return { expected, actual: [...before, ...after] };
}

test('restoring from a snapshot continues exactly as if never stopped (across refits of every detector)', () => {
  const values = seasonal(3 * DAY, 11);
  values[2 * DAY + 5] += 50;
  const config = ensembleConfigSchema.parse({ rules: parseRules('rules:\n  - { name: hi, type: threshold, above: 70, for: 2 }\n  - { name: stuck, type: flatline, for: 30m, tolerance: 0.5 }\n').rules });
  for (const cut of [DAY + 1, 2 * DAY + 4, 500]) {
    const { expected, actual } = wholeAndRestored(config, values, cut);
    expect(actual).toEqual(expected);
  }
});

test('a restored ensemble under a moved threshold keeps what its detectors learnt; under new parameters a detector starts afresh', () => {
  const values = seasonal(2 * DAY, 5);
  const config = defaultEnsembleConfig();
  const moved = { ...config, threshold: 0.7 };
  const { expected, actual } = wholeAndRestored(config, values, DAY + 50, moved);
  const detectorScores = (s: ScoredSample[]) => s.map((x) => x.detectors);
  expect(detectorScores(actual)).toEqual(detectorScores(expected));
  const retuned = ensembleConfigSchema.parse({ detectors: { robustZ: { baseline: 100 } } });
  const restarted = wholeAndRestored(config, values, DAY + 50, retuned).actual[DAY + 50];
  expect(restarted.detectors.robustZ).toBe(0);
  expect(restarted.detectors.isolationForest).toBe(expected[DAY + 50].detectors.isolationForest);
});

test('samples out of order, non-finite values and foreign state are refused with the field and the fix', () => {
  const ensemble = createEnsemble(defaultEnsembleConfig());
  ensemble.push({ ts: 1000, value: 1 });
  expect(() => ensemble.push({ ts: 1000, value: 2 })).toThrow("sample.ts: 1000 is not after the previous sample's 1000: push samples in time order");
  expect(() => ensemble.push({ ts: 2000, value: Number.NaN })).toThrow('sample.value: NaN at ts 2000 is not a finite number');
  expect(() => createEnsemble(defaultEnsembleConfig(), { version: 2 } as never)).toThrow(/invalid detector state .*drop it to start afresh/s);
  const state = ensemble.snapshot();
  const corrupt = { ...state, robustZ: { ...state.robustZ!, state: { baseline: 'x' } } };
  expect(() => createEnsemble(defaultEnsembleConfig(), corrupt)).toThrow(/invalid detector state of robustZ .*baseline/s);
  // Learnt under other parameters, the same state is not read at all: that detector starts afresh.
  expect(() => createEnsemble(ensembleConfigSchema.parse({ detectors: { robustZ: { baseline: 50 } } }), corrupt)).not.toThrow();
});

test('configuration: defaults, idempotent parsing, and errors that name the field', () => {
  const config = defaultEnsembleConfig();
  expect(ensembleConfigSchema.parse(JSON.parse(JSON.stringify(config)))).toEqual(config);
  expect(mergeGapMs(config)).toBe(30 * 60_000);
  const twoOff = validateEnsembleConfig({ vote: { kind: 'k-of-n' }, detectors: { robustZ: { enabled: false }, mahalanobis: { enabled: false } } });
  expect(twoOff).toEqual({ ok: false, issues: [{ path: 'vote.k', message: '2 is more than the 1 enabled detector(s) (isolationForest): lower k or enable more detectors' }] });
  expect(validateEnsembleConfig({ threshold: 1.5 })).toEqual({ ok: false, issues: [{ path: 'threshold', message: 'must be less than 1' }] });
  expect(validateEnsembleConfig({ detectors: { isolationForest: { trees: 0 } } })).toEqual({
    ok: false,
    issues: [{ path: 'detectors.isolationForest.trees', message: 'must be at least 1' }],
  });
  expect(validateEnsembleConfig({ vote: { kind: 'majority' } })).toMatchObject({ ok: false, issues: [{ path: 'vote.kind' }] });
  expect(() => createEnsemble({ ...config, mergeGap: '5 minutes' })).toThrow(/mergeGap: must be a whole number and a unit/);
});

test('the weighted vote: the weighted mean of the detectors\' scores against the threshold', () => {
  const config = ensembleConfigSchema.parse({ vote: { kind: 'weighted' }, detectors: { robustZ: { weight: 2 }, isolationForest: { weight: 1 } } });
  const ensemble = createEnsemble(config);
  const scored = seasonal(DAY + 10).map((value, i) => ensemble.push({ ts: i * STEP, value }));
  const last = scored[scored.length - 1];
  const { isolationForest, robustZ, mahalanobis } = last.detectors;
  expect(last.score).toBeCloseTo((isolationForest + 2 * robustZ + mahalanobis) / 4, 12);
  expect(last.anomalous).toBe(last.score >= config.threshold);
});

/** A scored sample for the grouper: anomalous when a detector list is given. */
const at = (minute: number, score: number, flagged?: string[]): ScoredSample => ({
  ts: minute * 60_000,
  value: 0,
  score,
  detectors: {},
  flagged: flagged ?? [],
  anomalous: flagged !== undefined,
});

test('grouping: detections within the merge gap are one anomaly with its span, peak and every detector that agreed', () => {
  const grouper = createGrouper({ mergeGapMs: 10 * 60_000 });
  const closed = [
    at(0, 0.1),
    at(5, 0.8, ['robustZ']),
    at(10, 0.2),
    at(14, 0.9, ['isolationForest', 'robustZ']),
    at(20, 0.1),
    at(24, 0.1),
    at(25, 0.7, ['rule:hi']),
  ].flatMap((s) => grouper.push(s));
  // 14 → 25 is 11 minutes, past the gap: the first anomaly closed when the sample at 25 came (24 − 14 = 10 is not past it).
  expect(closed).toEqual([{ start: 5 * 60_000, end: 14 * 60_000, peakTs: 14 * 60_000, peakScore: 0.9, detectors: ['isolationForest', 'robustZ'], samples: 2 }]);
  expect(grouper.open()).toMatchObject({ start: 25 * 60_000, samples: 1, detectors: ['rule:hi'] });
  const restored = createGrouper({ mergeGapMs: 10 * 60_000 }, JSON.parse(JSON.stringify(grouper.snapshot())));
  expect(restored.push(at(30, 0.95, ['mahalanobis']))).toEqual([]);
  expect(restored.flush()).toEqual([{ start: 25 * 60_000, end: 30 * 60_000, peakTs: 30 * 60_000, peakScore: 0.95, detectors: ['mahalanobis', 'rule:hi'], samples: 2 }]);
  expect(restored.open()).toBeUndefined();
  expect(() => createGrouper({ mergeGapMs: -1 })).toThrow('mergeGapMs: -1 must be zero or more milliseconds');
});
