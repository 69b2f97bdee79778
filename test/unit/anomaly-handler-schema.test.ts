/**
 * The anomaly pipeline's pure parts: the handler schema generated from the template (its name, its parameters, a
 * document schema extraction accepts, the extraction ID's hash), the anomaly's root cause from its samples, the stage
 * tests' judgement and the alert rate, and the pipeline input's validation messages.
 */
import { defaultEnsembleConfig } from '../../shared/contract/anomaly/detection';
import { tenantOfWorkflowId } from '../../shared/contract/workflow-tenant';
import { validateAnomalyPipelineInput, type MetricSample } from '../../shared/contract/anomaly/pipeline';
import { validateSchemaSet } from '../../shared/contract/extraction/validate';
import { anomalyPipelineWorkflowId, parseAnomalyPipelineWorkflowId } from '../../shared/contract/workflow-ids';
import { setHash8 } from '../../shared/node/extraction/hashing';
import { classifyAnomalyType } from '../../workflows/anomaly/handler-root-cause';
import { generateHandlerSchema, handlerName, handlerSlug, singleDocumentHash8, type HandlerParameters } from '../../workflows/anomaly/handler-schema';
import { addAlerts, alertRateOf, judgeFlagsAnomaly, judgeQuietOnNormal } from '../../workflows/anomaly/handler-tests';

const detection = { ...defaultEnsembleConfig(), threshold: 0.6 };

const parameters = (fields: Partial<HandlerParameters> = {}): HandlerParameters => ({
  tenantId: 'acme',
  metric: 'ec2_cpu_utilization_825cc2',
  anomalyType: 'level_shift',
  affectedMetrics: ['elb_request_count_8c0756'],
  firstObserved: '2014-04-10T07:15:00.000Z',
  severity: 'high',
  detection,
  anomaly: { start: '2014-04-10T07:15:00.000Z', end: '2014-04-10T09:00:00.000Z', peakTs: '2014-04-10T07:20:00.000Z', peakScore: 0.91, detectors: ['robustZ', 'mahalanobis'] },
  approvers: ['alice', 'bob'],
  approvalTimeout: '90m',
  ...fields,
});

/** Samples every 5 minutes from 2014-04-10T00:00Z. */
const series = (values: readonly number[], offset = 0): MetricSample[] =>
  values.map((value, i) => ({ ts: new Date(Date.UTC(2014, 3, 10) + (offset + i) * 300_000).toISOString(), value }));
/** A noisy level (a deterministic wobble around `level`). */
const noisy = (n: number, level: number) => Array.from({ length: n }, (_, i) => level + ((i * 7) % 5) - 2);

describe('the handler schema from the template', () => {
  it('is named <Metric>_<RootCause>_Handler_v1, and its slug is the runtime service and extraction set name', () => {
    const schema = generateHandlerSchema(parameters());
    expect(schema.name).toBe('Ec2CpuUtilization825cc2_LevelShift_Handler_v1');
    expect(schema.slug).toBe('ec2-cpu-utilization825cc2-level-shift-handler-v1');
    expect(schema.file).toBe('ec2-cpu-utilization825cc2-level-shift-handler-v1.yaml');
    expect(handlerName('art_daily_flatmiddle', 'flatline')).toBe('ArtDailyFlatmiddle_Flatline_Handler_v1');
    expect(handlerName('2xx.rate', 'spike')).toBe('M2xxRate_Spike_Handler_v1');
  });

  it('fits a long metric name into the 63 characters of an agent name, keeping the root cause and the version', () => {
    const name = handlerName('a_very_long_metric_name_from_some_exporter_with_many_labels_attached', 'pattern_change');
    expect(name.length).toBe(63);
    expect(name).toMatch(/^AVeryLongMetric[A-Za-z]*_PatternChange_Handler_v1$/);
    expect(handlerSlug(name).length).toBeLessThanOrEqual(63);
  });

  it('carries the parameters: anomaly type, affected metrics, first observed, severity, the detector configuration', () => {
    const { document } = generateHandlerSchema(parameters());
    expect(document.metadata).toEqual({
      generatedBy: 'anomalyPipeline',
      tenant: 'acme',
      handler: {
        metric: 'ec2_cpu_utilization_825cc2',
        anomalyType: 'level_shift',
        affectedMetrics: ['ec2_cpu_utilization_825cc2', 'elb_request_count_8c0756'],
        firstObserved: '2014-04-10T07:15:00.000Z',
        severity: 'high',
        detection,
        anomaly: { start: '2014-04-10T07:15:00.000Z', end: '2014-04-10T09:00:00.000Z', peakTs: '2014-04-10T07:20:00.000Z', peakScore: 0.91, detectors: ['mahalanobis', 'robustZ'] },
      },
    });
    expect(document).toMatchObject({
      reasoning: { strategies: ['mahalanobis', 'robustZ'] },
      governance: { mode: 'supervised', escalationPolicy: [{ level: 1, notify: 'alice, bob', afterMinutes: 0 }, { level: 2, notify: 'acme governance approvers', afterMinutes: 90 }] },
      integration: { apis: expect.arrayContaining([{ name: 'score', method: 'POST', path: '/score' }]) },
    });
  });

  it('declares what the handler host sends its agent class and what it answers', () => {
    const { document } = generateHandlerSchema(parameters());
    expect(document.communication).toEqual({
      inputs: [expect.objectContaining({ name: 'batch', type: 'object' })],
      outputs: [expect.objectContaining({ name: 'scored', type: 'number' }), expect.objectContaining({ name: 'flagged', type: 'object' }), expect.objectContaining({ name: 'peakScore', type: 'number' })],
    });
  });

  it('is a schema extraction accepts even in strict mode (no error, no warning)', () => {
    const { file, document, name } = generateHandlerSchema(parameters());
    const report = validateSchemaSet([{ file, document }], { strict: true });
    expect(report.issues).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.schemas.map((s) => s.schema?.name)).toEqual([name]);
  });

  it('is deterministic, and its extraction ID hash is the one `ados extract` computes for the same set', () => {
    const a = generateHandlerSchema(parameters());
    const b = generateHandlerSchema(parameters());
    expect(JSON.stringify(a.document)).toBe(JSON.stringify(b.document));
    expect(singleDocumentHash8(a.file, a.document)).toBe(setHash8([{ file: a.file, document: a.document }]));
    expect(singleDocumentHash8(a.file, a.document)).not.toBe(singleDocumentHash8(a.file, generateHandlerSchema(parameters({ severity: 'low' })).document));
  });
});

describe('the root cause from the samples and the normal window before them', () => {
  const baseline = series(noisy(100, 50));
  const at = (values: number[]) => series(values, 100);

  it.each([
    ['a short excursion up: spike', [51, 95, 52], 'spike'],
    ['a short excursion down: dip', [49, 5, 50], 'dip'],
    ['the level moved and stayed: level_shift', [80, 82, 79, 81, 80, 83, 80, 79], 'level_shift'],
    ['the metric stopped moving: flatline', [50, 50, 50, 50, 50, 50], 'flatline'],
    ['a different wiggle at the usual level: pattern_change', [48, 52, 48, 52, 48, 52, 48, 52], 'pattern_change'],
  ] as const)('%s', (_what, values, expected) => {
    const anomaly = at([...values]);
    const peak = anomaly.reduce((far, s) => (Math.abs(s.value - 50) > Math.abs(far.value - 50) ? s : far));
    expect(classifyAnomalyType(anomaly, baseline, peak.ts)).toBe(expected);
  });

  it('a spike whose samples are mostly back to normal is still a spike, however long the span', () => {
    const anomaly = at([51, 49, 120, 50, 51, 49, 50]);
    expect(classifyAnomalyType(anomaly, baseline, anomaly[2].ts)).toBe('spike');
  });
});

describe('the stage tests and the alert rate', () => {
  const normal = series(noisy(10, 50));
  const anomaly = series([90, 91, 92], 10);

  it('flags-anomaly passes when one of the anomaly\'s own samples is flagged, not one of the warm-up', () => {
    expect(judgeFlagsAnomaly(normal, anomaly, { scored: 13, flagged: [anomaly[1].ts] })).toMatchObject({ name: 'flags-anomaly', passed: true, flagged: 1, judged: 3, samples: 13 });
    const warmUpOnly = judgeFlagsAnomaly(normal, anomaly, { scored: 13, flagged: [normal[4].ts] });
    expect(warmUpOnly).toMatchObject({ passed: false, flagged: 0 });
    expect(warmUpOnly.detail).toBe("flagged none of the anomaly's 3 samples (after 10 normal ones)");
  });

  it('quiet-on-normal fails on any flag, naming the first', () => {
    expect(judgeQuietOnNormal(normal, { scored: 10, flagged: [] })).toMatchObject({ name: 'quiet-on-normal', passed: true, flagged: 0 });
    expect(judgeQuietOnNormal(normal, { scored: 10, flagged: [normal[3].ts, normal[7].ts] })).toMatchObject({
      passed: false,
      flagged: 2,
      detail: `flagged 2 of 10 normal samples (first at ${normal[3].ts})`,
    });
  });

  it('the alert rate counts flags among the watched samples only', () => {
    const watched = series(noisy(8, 50), 20);
    expect(alertRateOf(watched, { scored: 18, flagged: [normal[0].ts, watched[2].ts, watched[5].ts] })).toEqual({ samples: 8, alerts: 2, rate: 0.25, from: watched[0].ts, to: watched[7].ts });
    expect(alertRateOf([], { scored: 10, flagged: [] })).toEqual({ samples: 0, alerts: 0, rate: 0 });
  });

  it('adds up a watch\'s reads: samples, alerts, the span from the first read to the last, the reads that found samples', () => {
    const start = { samples: 0, alerts: 0, rate: 0, reads: 0 };
    const first = addAlerts(start, { samples: 300, alerts: 3, rate: 0.01, from: 'a', to: 'b' });
    expect(first).toEqual({ samples: 300, alerts: 3, rate: 0.01, from: 'a', to: 'b', reads: 1 });
    // A read that found nothing changes nothing.
    expect(addAlerts(first, undefined)).toBe(first);
    expect(addAlerts(first, { samples: 0, alerts: 0, rate: 0 })).toBe(first);
    expect(addAlerts(first, { samples: 100, alerts: 5, rate: 0.05, from: 'c', to: 'd' })).toEqual({ samples: 400, alerts: 8, rate: 0.02, from: 'a', to: 'd', reads: 2 });
  });
});

describe('the pipeline input', () => {
  const valid = {
    tenantId: 'acme',
    metric: 'ec2_cpu_utilization_825cc2',
    severity: 'high',
    detection,
    approval: { approvers: ['alice'] },
    anomaly: { start: '2014-04-10T07:15:00Z', end: '2014-04-10T07:25:00Z', peakTs: '2014-04-10T07:20:00Z', peakScore: 0.9, detectors: ['robustZ'], samples: series([1, 2, 3], 87) },
  };

  it('defaults the first gate\'s timeout to an hour, the requester to the monitor, the windows', () => {
    const checked = validateAnomalyPipelineInput(valid);
    expect(checked.ok && checked.value).toMatchObject({ approval: { approvers: ['alice'], quorum: 1, timeout: '1h' }, requestedBy: 'anomaly-monitor', baselineSamples: 600, watchSamples: 300, watchFor: '24h', watchInterval: '15m', affectedMetrics: [] });
  });

  it('bounds the prod watch: at most 1000 intervals, each a duration longer than zero', () => {
    expect(validateAnomalyPipelineInput({ ...valid, watchFor: '6d', watchInterval: '10m' }).ok).toBe(true);
    const tooMany = validateAnomalyPipelineInput({ ...valid, watchFor: '30d', watchInterval: '1m' });
    expect(!tooMany.ok && tooMany.issues).toEqual([
      { path: 'watchFor', message: 'watchFor 30d at watchInterval 1m is 43200 intervals, more than 1000: shorten watchFor or lengthen watchInterval' },
    ]);
    const zero = validateAnomalyPipelineInput({ ...valid, watchInterval: '0s' });
    expect(!zero.ok && zero.issues).toEqual([{ path: 'watchInterval', message: 'must be longer than zero' }]);
    const word = validateAnomalyPipelineInput({ ...valid, watchFor: 'a day' });
    expect(!word.ok && word.issues).toEqual([{ path: 'watchFor', message: 'must be a whole number and a unit (ms, s, m, h, d), e.g. "72h"' }]);
  });

  it('names the field and the fix', () => {
    const checked = validateAnomalyPipelineInput({
      ...valid,
      severity: 'huge',
      approval: { approvers: [] },
      anomaly: { ...valid.anomaly, peakTs: '2014-04-10T08:00:00Z', samples: [valid.anomaly.samples[1], valid.anomaly.samples[0]] },
    });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.issues).toEqual(
      expect.arrayContaining([
        { path: 'severity', message: 'one of low, medium, high, critical' },
        { path: 'approval.approvers', message: 'list at least one approver' },
        { path: 'anomaly.peakTs', message: '2014-04-10T08:00:00Z is outside the anomaly (2014-04-10T07:15:00Z … 2014-04-10T07:25:00Z)' },
        { path: 'anomaly.samples[1].ts', message: `${valid.anomaly.samples[0].ts} is not after the sample before it: give the samples in time order` },
      ]),
    );
  });

  it('its workflow ID is anomaly-<tenant>-<metric>-<start>, and parses back', () => {
    const id = anomalyPipelineWorkflowId('acme', 'ec2_cpu_utilization_825cc2', '2014-04-10T07:15:00Z');
    expect(id).toBe('anomaly-acme-ec2_cpu_utilization_825cc2-20140410T071500000Z');
    expect(parseAnomalyPipelineWorkflowId(id)).toEqual({ tenantId: 'acme', metric: 'ec2_cpu_utilization_825cc2', start: '20140410T071500000Z' });
    expect(parseAnomalyPipelineWorkflowId('anomaly-monitor-acme-cpu')).toBeUndefined();
    // The CLI's tenant scope (`ados anomaly approve|reject --tenant`) reads the tenant from it.
    expect(tenantOfWorkflowId(id)).toBe('acme');
  });
});
