/**
 * `npm run bench -- transfer-learning`: the transfer-learning cycle's activities run in the cycle's order (as
 * transferLearningCycle calls them, through MockActivityEnvironment, on the benchmark database), for:
 * - the related synthetic pair and the real-data pair (NAB EC2 CPU → the other AWS series): the target's holdout AUC
 *   of the transferred model against its independent model, reported whatever it shows;
 * - the unrelated and opposed synthetic targets under every pattern and method: the share that are negative
 *   transfers, and of those the share reverted (the target's live model afterwards is not the transferred one;
 *   target: all);
 * - one cycle of the real-data pair, its wall time split into its activities (the first cycle, which stores the
 *   domains and trains the independent models, and a second).
 * Nothing here asserts.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTransferActivities } from '../../activities/learning/transfer/transfer-activities';
import { SYNTHETIC_FEATURE_MAP, transferPairKey, transferPairSchema, type TransferPairRequest } from '../../shared/contract/learning/transfer/input';
import type { TransferFigures } from '../../shared/contract/learning/transfer/messages';
import { transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import { migrateToLatest, openDatabase, type Db } from '../../shared/node/db';
import { liveModel } from '../../shared/node/learning/transfer/store';
import { decideTransfer } from '../../workflows/learning/transfer/transfer-decision';
import type { BenchMetric, BenchReport, BenchSuite } from '../harness';
import { benchDatabase } from '../lib/database';

const SCHEDULED_AT = '2030-01-01T00:00:00.000Z';
const synthetic = (target: string, pattern: string, method: string): TransferPairRequest =>
  ({ source: 'synthetic-base', target, pattern, method, featureMap: { ...SYNTHETIC_FEATURE_MAP } }) as TransferPairRequest;
const RELATED = synthetic('synthetic-related', 'weights', 'prior');
const REAL = { source: 'nab-ec2-cpu', target: 'nab-other-aws', pattern: 'weights', method: 'prior' } as TransferPairRequest;
const UNRELATED = ['synthetic-unrelated', 'synthetic-opposed'].flatMap((target) =>
  [['weights', 'prior'], ['weights', 'warm-start'], ['top-k', 'prior'], ['pca', 'projection']].map(([pattern, method]) => synthetic(target, pattern, method)),
);

interface PairRun {
  figures: TransferFigures;
  decision: string;
  negative: boolean;
  timings: Record<string, number>;
  liveIsTransferred: boolean;
}

/** One pair through the cycle's activities, timed, recorded under `scheduledAt`. */
async function runPair(db: Db, raw: TransferPairRequest, scheduledAt: string): Promise<PairRun> {
  const pair = transferPairSchema.parse(raw);
  const activities = createTransferActivities(db);
  const mock = new MockActivityEnvironment({ workflowExecution: { workflowId: transferCycleWorkflowId(scheduledAt), runId: 'bench' } });
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const value = (await mock.run(fn)) as T;
    timings[name] = Math.round(performance.now() - started);
    return value;
  };
  const prepared = await timed('prepareTransferDomains', () => activities.prepareTransferDomains({ pair }));
  const pattern = await timed('extractTransferPattern', () => activities.extractTransferPattern({ pair }));
  const adapted = await timed('adaptTransferPattern', () => activities.adaptTransferPattern({ pair, pattern }));
  const model = await timed('retrainWithTransfer', () => activities.retrainWithTransfer({ pair, adapted }));
  const metrics = await timed('validateTransfer', () => activities.validateTransfer({ pair, model }));
  const decided = decideTransfer(metrics.independent, metrics.transferred);
  const figures: TransferFigures = {
    pair: transferPairKey(pair), source: pair.source, target: pair.target, pattern: pair.pattern, method: pair.method, metric: 'auc',
    independent: metrics.independent, transferred: metrics.transferred, improvement: decided.improvement, mapping: adapted.mapping,
    sourceVersion: prepared.sourceVersion, targetTrainRows: prepared.targetTrainRows,
  };
  await timed('recordTransferDecision', () => activities.recordTransferDecision({ tenantId: 'ados', scheduledAt, pair, model, decided, figures }));
  const live = await liveModel(db, pair.target);
  return { figures, decision: decided.decision, negative: decided.negative, timings, liveIsTransferred: JSON.stringify(live?.model) === JSON.stringify(model) };
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

export const suite: BenchSuite = {
  name: 'transfer-learning',
  description: 'transfer gain (related synthetic and NAB real-data pairs), negative-transfer rate on unrelated pairs, one cycle split by activity',
  async run(): Promise<BenchReport> {
    const database = await benchDatabase();
    const handle = await openDatabase(database.url, { poolSize: database.poolSize });
    try {
      await migrateToLatest(handle.db);
      const db = handle.db;
      const realFirst = await runPair(db, REAL, SCHEDULED_AT);
      const realSecond = await runPair(db, REAL, '2030-01-01T12:00:00.000Z');
      const related = await runPair(db, RELATED, SCHEDULED_AT);
      const unrelated: PairRun[] = [];
      for (const pair of UNRELATED) unrelated.push(await runPair(db, pair, SCHEDULED_AT));
      const negatives = unrelated.filter((r) => r.negative);
      const gain = (r: PairRun) => r.figures.transferred.auc - r.figures.independent.auc;
      const total = (r: PairRun) => Object.values(r.timings).reduce((s, t) => s + t, 0);
      const metrics: BenchMetric[] = [
        { name: 'related synthetic pair: independent holdout AUC', value: round(related.figures.independent.auc), unit: 'AUC' },
        { name: 'related synthetic pair: transferred holdout AUC', value: round(related.figures.transferred.auc), unit: 'AUC' },
        { name: 'related synthetic pair: transfer gain', value: round(gain(related)), unit: 'AUC points' },
        { name: 'real-data pair (NAB EC2 CPU → other AWS): independent holdout AUC', value: round(realFirst.figures.independent.auc), unit: 'AUC' },
        { name: 'real-data pair: transferred holdout AUC', value: round(realFirst.figures.transferred.auc), unit: 'AUC' },
        { name: 'real-data pair: transfer gain', value: round(gain(realFirst)), unit: 'AUC points' },
        { name: 'unrelated pairs: negative-transfer rate', value: round(negatives.length / unrelated.length, 3), unit: 'share of transfers' },
        { name: 'unrelated pairs: negative transfers reverted', value: negatives.length === 0 ? 1 : round(negatives.filter((r) => r.decision === 'revert' && !r.liveIsTransferred).length / negatives.length, 3), unit: 'share of negatives', target: { op: '>=', value: 1 } },
        { name: 'real-data cycle (first: stores domains, trains independent models): wall time', value: total(realFirst), unit: 'ms' },
        { name: 'real-data cycle (second): wall time', value: total(realSecond), unit: 'ms' },
        ...Object.entries(realSecond.timings).map(([activity, ms]) => ({ name: `real-data cycle (second): ${activity}`, value: ms, unit: 'ms' })),
        ...Object.entries(realFirst.timings).filter(([activity]) => activity === 'prepareTransferDomains').map(([activity, ms]) => ({ name: `real-data cycle (first): ${activity}`, value: ms, unit: 'ms' })),
      ];
      return {
        benchmark: 'transfer-learning',
        description: suite.description,
        metrics,
        notes: [
          `database: ${database.kind}; decision: relative AUC change > 2% promotes, < −2% reverts, else keeps`,
          `related: ${related.decision} (${round(related.figures.improvement * 100, 2)}%, ${related.figures.targetTrainRows} target training rows); real-data: ${realFirst.decision} (${round(realFirst.figures.improvement * 100, 2)}%, ${realFirst.figures.targetTrainRows} target training rows)`,
          ...unrelated.map((r) => `${r.figures.pair}: ${r.decision} (${round(r.figures.improvement * 100, 2)}%)`),
        ],
        samples: { unrelatedImprovements: unrelated.map((r) => round(r.figures.improvement)) },
      };
    } finally {
      await handle.close();
      await database.stop();
    }
  },
};
