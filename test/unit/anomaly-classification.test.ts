/**
 * The anomaly monitor's pure rules: classification (first rule that holds decides), the severity an unknown anomaly
 * goes to the pipeline with, signatures, the threshold false-positive feedback moves, and the investigator's finding.
 */
import { findingOf } from '../../shared/contract/anomaly/investigation';
import { anomalySignature, MAX_THRESHOLD, THRESHOLD_STEP, thresholdAfterFalsePositive, type AnomalyToClassify, type MonitoredAnomaly } from '../../shared/contract/anomaly/monitor';
import { classifyAnomaly, severityOf } from '../../workflows/anomaly/classify-rules';

const HOUR = 3_600_000;
const limits = { novelAfter: 10, persistThresholdMs: HOUR };

function anomaly(minutes: number, extra: Partial<MonitoredAnomaly> = {}): MonitoredAnomaly {
  const start = Date.parse('2014-02-14T10:00:00Z');
  return {
    id: 'anomaly-acme-cpu-20140214T100000000Z',
    tenantId: 'acme',
    metric: 'cpu',
    start: new Date(start).toISOString(),
    end: new Date(start + minutes * 60_000).toISOString(),
    peakTs: new Date(start).toISOString(),
    peakScore: 0.8,
    detectors: ['robustZ', 'mahalanobis'],
    samples: 3,
    signature: 'mahalanobis+robustZ/burst',
    threshold: 0.5,
    ...extra,
  };
}

const item = (minutes: number, extra: Partial<AnomalyToClassify> = {}): AnomalyToClassify => ({
  anomaly: anomaly(minutes),
  seenBefore: 0,
  knownSignature: false,
  falsePositiveSignature: false,
  ...extra,
});

describe('classifyAnomaly', () => {
  test('a signature an operator marked a false positive is recorded, before every other rule', () => {
    expect(classifyAnomaly(item(120, { falsePositiveSignature: true, knownSignature: true, seenBefore: 50 }), limits)).toMatchObject({ class: 'false_positive', action: 'record' });
  });

  test('a known signature is notified, even when it recurs often or lasts long', () => {
    expect(classifyAnomaly(item(120, { knownSignature: true, seenBefore: 50 }), limits)).toMatchObject({ class: 'known', action: 'notify' });
  });

  test('more than novelAfter earlier sightings make it novel (investigated); exactly novelAfter does not', () => {
    expect(classifyAnomaly(item(5, { seenBefore: 11 }), limits)).toMatchObject({ class: 'novel', action: 'investigate' });
    expect(classifyAnomaly(item(5, { seenBefore: 10 }), limits)).toMatchObject({ class: 'transient', action: 'record' });
  });

  test('an unmatched anomaly lasting the persist threshold or longer goes to the pipeline; a shorter one is transient', () => {
    expect(classifyAnomaly(item(60), limits)).toMatchObject({ class: 'unknown', action: 'pipeline' });
    expect(classifyAnomaly(item(59), limits)).toMatchObject({ class: 'transient', action: 'record' });
    expect(classifyAnomaly(item(59), { ...limits, persistThresholdMs: 30 * 60_000 })).toMatchObject({ class: 'unknown' });
  });

  test('the reason names what decided', () => {
    expect(classifyAnomaly(item(90), limits).reason).toBe('matches no signature and lasted 1.5 h (threshold 1.0 h)');
    expect(classifyAnomaly(item(5, { seenBefore: 12 }), limits).reason).toContain('seen 12 times before in the window (more than 10)');
  });
});

test('severity follows the peak score', () => {
  expect([0.5, 0.6, 0.75, 0.9, 1].map(severityOf)).toEqual(['low', 'medium', 'high', 'critical', 'critical']);
});

test('a signature is the sorted set of detectors and the shape', () => {
  expect(anomalySignature({ detectors: ['robustZ', 'isolationForest', 'robustZ'], samples: 1 })).toBe('isolationForest+robustZ/point');
  expect(anomalySignature({ detectors: ['rule:flat'], samples: 12 })).toBe('rule:flat/burst');
  expect(anomalySignature({ detectors: [], samples: 13 })).toBe('none/sustained');
});

test('a false positive raises the threshold one step, never above the ceiling, never down', () => {
  expect(thresholdAfterFalsePositive(0.5)).toBe(0.5 + THRESHOLD_STEP);
  expect(thresholdAfterFalsePositive(MAX_THRESHOLD - 0.01)).toBe(MAX_THRESHOLD);
  expect(thresholdAfterFalsePositive(0.98)).toBe(0.98);
});

test("the investigator's finding says which way and how far the anomaly moved the metric", () => {
  const input = { anomaly: anomaly(10), seenBefore: 11, novelWindow: '24h' };
  const up = findingOf(input, { during: { samples: 3, mean: 150 }, baseline: { samples: 12, mean: 100 }, earlier: [] });
  expect(up).toMatchObject({ direction: 'up', relativeChange: 0.5 });
  expect(up.summary).toBe('cpu: recurring mahalanobis+robustZ/burst (11 earlier in 24h), up +50.0% against the baseline, peak score 0.80');
  expect(findingOf(input, { during: { samples: 3, mean: 50 }, baseline: { samples: 12, mean: 100 }, earlier: [] }).direction).toBe('down');
  expect(findingOf(input, { during: { samples: 3, mean: 50 }, baseline: { samples: 0 }, earlier: [] })).toMatchObject({ direction: 'flat' });
});
