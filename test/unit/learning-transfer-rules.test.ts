/**
 * Transfer learning's pure parts: the decision rule at its edges, adaptation across mismatched feature sets, the
 * pair and cycle input, the schedule configuration, and the benchmark's split of a cycle's history.
 */
import { temporal } from '@temporalio/proto';
import type { HistoryEvent } from '../../bench/lib/history';
import { splitCycleHistory } from '../../bench/suites/transfer-learning';
import { transferPairSchema, validateTransferCycleInput } from '../../shared/contract/learning/transfer/input';
import { parseTransferCycleWorkflowId, transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import { ConfigError } from '../../shared/node/config';
import { adaptPattern, extractPattern, mapFeatures, TransferAdaptationError, type SourcePattern } from '../../shared/node/learning/transfer/patterns';
import { evaluate, trainModel, DEFAULT_FIT } from '../../shared/node/learning/transfer/model';
import { syntheticDomain } from '../../shared/node/learning/transfer/synthetic';
import { backfillRange } from '../../shared/node/schedules/schedules';
import { cronProblem, loadTransferScheduleConfig } from '../../shared/node/schedules/spec';
import { decideTransfer, TransferMetricsRefused } from '../../workflows/learning/transfer/transfer-decision';

describe('decideTransfer', () => {
  test('exactly +2% keeps, a hair above promotes', () => {
    expect(decideTransfer({ auc: 0.5 }, { auc: 0.51 })).toEqual({ decision: 'keep', improvement: 0.02, negative: false });
    expect(decideTransfer({ auc: 0.5 }, { auc: 0.5101 }).decision).toBe('promote');
  });
  test('exactly −2% keeps, a hair below reverts as a negative transfer', () => {
    expect(decideTransfer({ auc: 0.5 }, { auc: 0.49 })).toEqual({ decision: 'keep', improvement: -0.02, negative: false });
    expect(decideTransfer({ auc: 0.5 }, { auc: 0.4899 })).toEqual({ decision: 'revert', improvement: -0.0202, negative: true });
  });
  test('a tie keeps', () => {
    expect(decideTransfer({ auc: 0.8 }, { auc: 0.8 })).toEqual({ decision: 'keep', improvement: 0, negative: false });
  });
  test('NaN, out-of-range and zero-baseline metrics are refused, naming which', () => {
    expect(() => decideTransfer({ auc: Number.NaN }, { auc: 0.9 })).toThrow(/independent\.auc is NaN/);
    expect(() => decideTransfer({ auc: 0.9 }, { auc: Number.NaN })).toThrow(TransferMetricsRefused);
    expect(() => decideTransfer({ auc: 0.9 }, { auc: 1.2 })).toThrow(/transferred\.auc is 1\.2/);
    expect(() => decideTransfer({ auc: 0 }, { auc: 0.5 })).toThrow(/independent\.auc is 0/);
  });
});

describe('adaptation across mismatched feature sets', () => {
  const weights: SourcePattern = { kind: 'weights', featureNames: ['a', 'b', 'c', 'd'], weights: [1, -2, 3, -4], moved: [true, true, true, true] };

  test('maps by name and by featureMap, in the target\'s order; target-only features get no weight', () => {
    const adapted = adaptPattern(weights, ['d', 'extra', 'bee', 'a'], { bee: 'b' });
    expect(adapted.kind).toBe('weights');
    if (adapted.kind === 'pca') throw new Error('unreachable');
    expect(adapted.weights).toEqual([-4, 0, -2, 1]);
    expect(adapted.moved).toEqual([true, false, true, true]);
    expect(adapted.mapping).toEqual({ mapped: [['d', 'd'], ['bee', 'b'], ['a', 'a']], targetOnly: ['extra'], sourceOnly: ['c'] });
  });

  test('top-k moves only the k largest weights that map', () => {
    const model = { featureNames: ['a', 'b', 'c', 'd'], means: [0, 0, 0, 0], stds: [1, 1, 1, 1], weights: [1, -2, 3, -4], bias: 0 };
    const top2 = extractPattern(model, [], { pattern: 'top-k', topK: 2, components: 1 });
    const adapted = adaptPattern(top2, ['a', 'c', 'd'], {});
    if (adapted.kind === 'pca') throw new Error('unreachable');
    expect(adapted.weights).toEqual([0, 3, -4]);
    expect(adapted.moved).toEqual([false, true, true]);
  });

  test('a PCA basis over mapped features comes back orthonormal', () => {
    const basis: SourcePattern = { kind: 'pca', featureNames: ['a', 'b', 'c'], basis: [[0.6, 0.8, 0], [0, 0, 1]] };
    const adapted = adaptPattern(basis, ['b', 'a', 'z'], {});
    if (adapted.kind !== 'pca') throw new Error('unreachable');
    expect(adapted.basis).toHaveLength(1);
    const [row] = adapted.basis;
    expect(row[0]).toBeCloseTo(0.8);
    expect(row[1]).toBeCloseTo(0.6);
    expect(row[2]).toBe(0);
  });

  test('no feature in common, or a featureMap naming a missing feature, is refused with the fix', () => {
    expect(() => adaptPattern(weights, ['x', 'y'], {})).toThrow(/give the pair a featureMap/);
    expect(() => mapFeatures(['a'], ['x'], { x: 'nope' })).toThrow(/featureMap\.x: the source has no feature "nope"/);
    expect(() => mapFeatures(['a'], ['x'], { y: 'a' })).toThrow(TransferAdaptationError);
  });

  test('weights are in standardized units: a target feature on a 1000× scale keeps its weight', () => {
    const domain = syntheticDomain({ name: 'scaled', relation: 'base', baseSeed: 7, seed: 8, rows: 400, holdoutFraction: 0.5 });
    const rows = { features: domain.features, labels: domain.labels };
    const scaled = { features: domain.features.map((row) => row.map((v, j) => (j === 0 ? v * 1000 : v))), labels: domain.labels };
    const a = trainModel(domain.featureNames, rows, { ...DEFAULT_FIT, seed: 1 });
    const b = trainModel(domain.featureNames, scaled, { ...DEFAULT_FIT, seed: 1 });
    b.weights.forEach((w, j) => expect(w).toBeCloseTo(a.weights[j], 6));
    expect(evaluate(b, scaled).auc).toBeCloseTo(evaluate(a, rows).auc, 9);
  });
});

describe('inputs and configuration', () => {
  test('a pair names its unknown domain, a mismatched method and a self-transfer', () => {
    expect(transferPairSchema.safeParse({ source: 'synthetic-bse', target: 'nab-ec2-cpu', pattern: 'weights', method: 'prior' }).error?.issues[0].message).toMatch(/unknown domain "synthetic-bse": one of synthetic-base/);
    const pca = validateTransferCycleInput({ pairs: [{ source: 'synthetic-base', target: 'synthetic-related', pattern: 'pca', method: 'prior' }] });
    expect(pca.ok ? [] : pca.issues).toEqual([{ path: 'pairs[0].method', message: expect.stringMatching(/must be projection for pattern pca/) }]);
    const self = validateTransferCycleInput({ pairs: [{ source: 'synthetic-base', target: 'synthetic-base', pattern: 'weights', method: 'prior' }] });
    expect(self.ok ? [] : self.issues.map((i) => i.path)).toEqual(['pairs[0].target']);
  });

  test('cycle IDs carry the scheduled time both ways', () => {
    expect(transferCycleWorkflowId('2030-01-01T12:00:00.000Z')).toBe('learning-transfer-2030-01-01T12:00:00Z');
    expect(parseTransferCycleWorkflowId('learning-transfer-2030-01-01T12:00:00Z')).toBe('2030-01-01T12:00:00.000Z');
    expect(parseTransferCycleWorkflowId('learning-transfer')).toBeUndefined();
  });

  test('the schedule defaults to every 12h with jitter and a catch-up window; bad values name their variable', () => {
    const config = loadTransferScheduleConfig({});
    expect(config.timing).toEqual({ every: '12h', jitter: '10m', catchupWindow: '6h' });
    expect(config.pairs.length).toBeGreaterThan(0);
    expect(() => loadTransferScheduleConfig({ ADOS_TRANSFER_SCHEDULE_EVERY: 'twelve hours' })).toThrow(/ADOS_TRANSFER_SCHEDULE_EVERY: must be a whole number and a unit/);
    expect(() => loadTransferScheduleConfig({ ADOS_TRANSFER_SCHEDULE_CRON: '0 25 * * *' })).toThrow(/ADOS_TRANSFER_SCHEDULE_CRON: hour "25": must be from 0 to 23/);
    expect(() => loadTransferScheduleConfig({ ADOS_TRANSFER_SCHEDULE_EVERY: '5m', ADOS_TRANSFER_SCHEDULE_JITTER: '10m' })).toThrow(/ADOS_TRANSFER_SCHEDULE_JITTER: must be shorter than the interval/);
    expect(() => loadTransferScheduleConfig({ ADOS_TRANSFER_PAIRS: '[{"source":"x"}]' })).toThrow(ConfigError);
    expect(loadTransferScheduleConfig({ ADOS_TRANSFER_SCHEDULE_CRON: '0 */6 * * *' }).timing).toEqual({ cron: '0 */6 * * *', jitter: '10m', catchupWindow: '6h' });
  });

  test('cron checks', () => {
    expect(cronProblem('0 */12 * * *')).toBeUndefined();
    expect(cronProblem('* * *')).toMatch(/must have 5 fields/);
    expect(cronProblem('*/0 * * * *')).toMatch(/step must be at least 1/);
  });

  test('a backfill range in the future, reversed, or not a time is refused naming the flag', () => {
    const now = new Date('2030-01-02T00:00:00Z');
    expect(() => backfillRange('2030-01-01T00:00:00Z', '2030-01-03T00:00:00Z', now)).toThrow(/--to: 2030-01-03T00:00:00.000Z is in the future/);
    expect(() => backfillRange('2030-01-01T12:00:00Z', '2030-01-01T00:00:00Z', now)).toThrow(/--from: must be before --to/);
    expect(() => backfillRange('yesterday', '2030-01-01T00:00:00Z', now)).toThrow(/--from: "yesterday" is not a time/);
    expect(backfillRange('2030-01-01T00:00:00Z', '2030-01-01T12:00:00Z', now).end.toISOString()).toBe('2030-01-01T12:00:00.000Z');
  });
});

describe('the benchmark\'s split of a cycle\'s history', () => {
  const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  const activity = (id: number, type: string, scheduled: number, started: number, completed: number) => [
    { eventId: id, eventTime: at(scheduled), activityTaskScheduledEventAttributes: { activityType: { name: type } } },
    { eventId: id + 1, eventTime: at(started), activityTaskStartedEventAttributes: { scheduledEventId: id } },
    { eventId: id + 2, eventTime: at(completed), activityTaskCompletedEventAttributes: { scheduledEventId: id, startedEventId: id + 1 } },
  ];

  test('each activity type\'s wait and run, and the workflow\'s share as the rest of start → completion', () => {
    const events: HistoryEvent[] = [
      { eventId: 1, eventTime: at(1000), workflowExecutionStartedEventAttributes: {} },
      ...activity(5, 'prepareTransferDomains', 1020, 1025, 1225),
      ...activity(10, 'retrainWithTransfer', 1240, 1242, 1542),
      { eventId: 20, eventTime: at(1600), workflowExecutionCompletedEventAttributes: {} },
    ].map((e) => temporal.api.history.v1.HistoryEvent.fromObject(e));
    expect(splitCycleHistory(events)).toEqual({
      totalMs: 600,
      activities: { prepareTransferDomains: { waitMs: 5, runMs: 200 }, retrainWithTransfer: { waitMs: 2, runMs: 300 } },
      workflowMs: 93,
    });
  });

  test('a history that did not complete is refused', () => {
    const started = temporal.api.history.v1.HistoryEvent.fromObject({ eventId: 1, eventTime: at(1000), workflowExecutionStartedEventAttributes: {} });
    expect(() => splitCycleHistory([started])).toThrow(/did not complete/);
  });
});
