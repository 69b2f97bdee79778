/**
 * `npm run bench -- transfer-learning`, on the pinned Temporal dev server, the benchmark database and a control worker
 * (bench/lib/in-process-stack.ts):
 * - the real-data pair (NAB EC2 CPU → the other AWS series) run as real `transferLearningCycle` workflows, one per
 *   scheduled time: each cycle's wall time split by activity type from the workflow's own history (scheduled → started:
 *   waiting for the worker; started → completed: running), and the workflow's own share (start to completion minus its
 *   activities: workflow tasks, search-attribute upserts, the hops between activities). The first cycle stores the
 *   domains and trains the independent models; the steady state is the median of ADOS_BENCH_REPEATS later cycles;
 * - the real-data pair's transfer gain from that first cycle's recorded figures, and the related synthetic pair's from
 *   the cycle's activities run in the cycle's order (through MockActivityEnvironment): the target's holdout AUC of the
 *   transferred model against its independent model, reported whatever it shows;
 * - the unrelated and opposed synthetic targets under every pattern and method, the same way: the share that are
 *   negative transfers, and of those the share reverted (the target's live model afterwards is not the transferred
 *   one; target: all).
 * Nothing here asserts.
 */
import { createTransferActivities } from '../../activities/learning/transfer/transfer-activities';
import { SYNTHETIC_FEATURE_MAP, transferPairKey, transferPairSchema, type TransferCycleRequest, type TransferPairRequest } from '../../shared/contract/learning/transfer/input';
import type { TransferCycleResult, TransferFigures } from '../../shared/contract/learning/transfer/messages';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import { loadBenchConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { liveModel } from '../../shared/node/learning/transfer/store';
import { decideTransfer } from '../../workflows/learning/transfer/transfer-decision';
import { median, type BenchMetric, type BenchReport, type BenchSuite } from '../harness';
import { eventMs, type HistoryEvent } from '../lib/history';
import type { InProcessStack } from '../lib/in-process-stack';

const HALF_DAY = 43_200_000;
/** The direct runs' scheduled time; the cycles through Temporal are scheduled from the next day on, 12 h apart. */
const SCHEDULED_AT = '2030-01-01T00:00:00.000Z';
const FIRST_CYCLE_AT = Date.parse('2030-01-02T00:00:00.000Z');
const STEADY_CYCLES = Math.max(3, loadBenchConfig().repeats);
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
  liveIsTransferred: boolean;
}

/** One pair through the cycle's activities in the cycle's order, recorded under `scheduledAt`. */
async function runPairDirectly(db: Db, raw: TransferPairRequest, scheduledAt: string): Promise<PairRun> {
  const { MockActivityEnvironment } = await import('@temporalio/testing');
  const pair = transferPairSchema.parse(raw);
  const activities = createTransferActivities(db);
  const mock = new MockActivityEnvironment({ workflowExecution: { workflowId: transferCycleWorkflowId(scheduledAt), runId: 'bench' } });
  const run = <T>(fn: () => Promise<T>): Promise<T> => mock.run(fn) as Promise<T>;
  const prepared = await run(() => activities.prepareTransferDomains({ pair }));
  const pattern = await run(() => activities.extractTransferPattern({ pair }));
  const adapted = await run(() => activities.adaptTransferPattern({ pair, pattern }));
  const model = await run(() => activities.retrainWithTransfer({ pair, adapted }));
  const metrics = await run(() => activities.validateTransfer({ pair, model }));
  const decided = decideTransfer(metrics.independent, metrics.transferred);
  const figures: TransferFigures = {
    pair: transferPairKey(pair), source: pair.source, target: pair.target, pattern: pair.pattern, method: pair.method, metric: 'auc',
    independent: metrics.independent, transferred: metrics.transferred, improvement: decided.improvement, mapping: adapted.mapping,
    sourceVersion: prepared.sourceVersion, targetTrainRows: prepared.targetTrainRows,
  };
  await run(() => activities.recordTransferDecision({ tenantId: 'ados', scheduledAt, pair, model, decided, figures }));
  const live = await liveModel(db, pair.target);
  return { figures, decision: decided.decision, negative: decided.negative, liveIsTransferred: JSON.stringify(live?.model) === JSON.stringify(model) };
}

/** Per activity type, summed over the history (a cycle of one pair runs each once): ms waiting and ms running. */
interface ActivitySplit {
  waitMs: number;
  runMs: number;
}

/** A cycle's history, split: start → completion, each activity type's wait and run, and the rest (the workflow's). */
export interface CycleSplit {
  totalMs: number;
  activities: Record<string, ActivitySplit>;
  workflowMs: number;
}

export function splitCycleHistory(events: readonly HistoryEvent[]): CycleSplit {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const activities: Record<string, ActivitySplit> = {};
  let start: number | undefined;
  let end: number | undefined;
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) start = eventMs(e);
    if (e.workflowExecutionCompletedEventAttributes) end = eventMs(e);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? 'unknown', at: eventMs(e) });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(String(st.scheduledEventId), eventMs(e));
    const done = e.activityTaskCompletedEventAttributes;
    const of = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (done && of) {
      const startedAt = started.get(String(done.scheduledEventId)) ?? of.at;
      const split = (activities[of.type] ??= { waitMs: 0, runMs: 0 });
      split.waitMs += startedAt - of.at;
      split.runMs += eventMs(e) - startedAt;
    }
  }
  if (start === undefined || end === undefined) throw new Error('the cycle\'s history has no start or no completion: it did not complete');
  const totalMs = end - start;
  const inActivities = Object.values(activities).reduce((sum, a) => sum + a.waitMs + a.runMs, 0);
  return { totalMs, activities, workflowMs: totalMs - inActivities };
}

/** One real `transferLearningCycle` for `scheduledAt` (started as its schedule would, by ID), and its history's split. */
async function runCycle(stack: InProcessStack, scheduledAt: Date, input: TransferCycleRequest): Promise<{ result: TransferCycleResult; split: CycleSplit }> {
  const handle = await stack.client.workflow.start('transferLearningCycle', { workflowId: transferCycleWorkflowId(scheduledAt), taskQueue: controlTaskQueue(stack.prefix), args: [input] });
  const result = (await handle.result()) as TransferCycleResult;
  const history = await handle.fetchHistory();
  return { result, split: splitCycleHistory(history.events ?? []) };
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

function splitMetrics(label: string, split: CycleSplit): BenchMetric[] {
  return [
    { name: `${label}: wall time, workflow started → completed`, value: split.totalMs, unit: 'ms' },
    ...Object.entries(split.activities).flatMap(([activity, a]) => [
      { name: `${label}: ${activity}, started → completed`, value: a.runMs, unit: 'ms' },
      { name: `${label}: ${activity}, scheduled → started`, value: a.waitMs, unit: 'ms' },
    ]),
    { name: `${label}: workflow overhead (wall time − activities)`, value: split.workflowMs, unit: 'ms' },
  ];
}

/** Per field, the median over the cycles' splits (each a cycle of the same pair, so with the same activities). */
function medianSplit(splits: CycleSplit[]): CycleSplit {
  const activities: Record<string, ActivitySplit> = {};
  for (const name of Object.keys(splits[0].activities)) {
    activities[name] = { waitMs: median(splits.map((s) => s.activities[name]?.waitMs ?? 0)), runMs: median(splits.map((s) => s.activities[name]?.runMs ?? 0)) };
  }
  return { totalMs: median(splits.map((s) => s.totalMs)), activities, workflowMs: median(splits.map((s) => s.workflowMs)) };
}

export const suite: BenchSuite = {
  name: 'transfer-learning',
  description: 'transfer gain (related synthetic and NAB real-data pairs), negative-transfer rate on unrelated pairs, one cycle through Temporal split by activity from its history',
  async run(): Promise<BenchReport> {
    // Imported here, so that the history split above loads without a worker (test/unit/learning-transfer-rules.test.ts).
    const { startInProcessStack } = await import('../lib/in-process-stack');
    const stack = await startInProcessStack({ capabilities: ['noop'], maxConcurrent: 1 });
    try {
      const db = stack.db;
      const cycleAt = (k: number) => new Date(FIRST_CYCLE_AT + k * HALF_DAY);
      const first = await runCycle(stack, cycleAt(0), { pairs: [REAL] });
      const steady: CycleSplit[] = [];
      for (let k = 1; k <= STEADY_CYCLES; k++) steady.push((await runCycle(stack, cycleAt(k), { pairs: [REAL] })).split);
      const realRow = await db.selectFrom('learning_transfers').select(['figures', 'decision']).where('scheduled_at', '=', cycleAt(0)).where('target', '=', 'nab-other-aws').executeTakeFirstOrThrow();
      const real = { figures: realRow.figures as TransferFigures, decision: realRow.decision };

      const related = await runPairDirectly(db, RELATED, SCHEDULED_AT);
      const unrelated: PairRun[] = [];
      for (const pair of UNRELATED) unrelated.push(await runPairDirectly(db, pair, SCHEDULED_AT));
      const negatives = unrelated.filter((r) => r.negative);
      const gain = (r: { figures: TransferFigures }) => r.figures.transferred.auc - r.figures.independent.auc;
      const metrics: BenchMetric[] = [
        { name: 'related synthetic pair: independent holdout AUC', value: round(related.figures.independent.auc), unit: 'AUC' },
        { name: 'related synthetic pair: transferred holdout AUC', value: round(related.figures.transferred.auc), unit: 'AUC' },
        { name: 'related synthetic pair: transfer gain', value: round(gain(related)), unit: 'AUC points' },
        { name: 'real-data pair (NAB EC2 CPU → other AWS): independent holdout AUC', value: round(real.figures.independent.auc), unit: 'AUC' },
        { name: 'real-data pair: transferred holdout AUC', value: round(real.figures.transferred.auc), unit: 'AUC' },
        { name: 'real-data pair: transfer gain', value: round(gain(real)), unit: 'AUC points' },
        { name: 'unrelated pairs: negative-transfer rate', value: round(negatives.length / unrelated.length, 3), unit: 'share of transfers' },
        { name: 'unrelated pairs: negative transfers reverted', value: negatives.length === 0 ? 1 : round(negatives.filter((r) => r.decision === 'revert' && !r.liveIsTransferred).length / negatives.length, 3), unit: 'share of negatives', target: { op: '>=', value: 1 } },
        ...splitMetrics(`real-data cycle (median of ${STEADY_CYCLES})`, medianSplit(steady)),
        ...splitMetrics('real-data cycle (first: stores domains, trains independent models)', first.split),
      ];
      return {
        benchmark: 'transfer-learning',
        description: suite.description,
        metrics,
        notes: [
          `database: ${stack.database}; Temporal: the pinned dev server, one control worker in this process; decision: relative AUC change > 2% promotes, < −2% reverts, else keeps`,
          `the cycles' split is read from each workflow's history (ActivityTaskScheduled/Started/Completed and WorkflowExecutionStarted/Completed event times); a cycle of one pair runs each activity once; scheduled → started is the wait for the worker, started → completed the activity's run, the overhead the workflow's tasks and the hops between activities`,
          `related: ${related.decision} (${round(related.figures.improvement * 100, 2)}%, ${related.figures.targetTrainRows} target training rows); real-data: ${real.decision} (${round(real.figures.improvement * 100, 2)}%, ${real.figures.targetTrainRows} target training rows), cycle outcome ${first.result.outcomes.map((o) => o.decision).join(', ')}`,
          ...unrelated.map((r) => `${r.figures.pair}: ${r.decision} (${round(r.figures.improvement * 100, 2)}%)`),
        ],
        samples: {
          unrelatedImprovements: unrelated.map((r) => round(r.figures.improvement)),
          steadyCycleWallMs: steady.map((s) => s.totalMs),
          steadyCycleWorkflowMs: steady.map((s) => s.workflowMs),
        },
      };
    } finally {
      await stack.stop();
    }
  },
};
