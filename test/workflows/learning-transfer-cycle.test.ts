/**
 * transferLearningCycle on the time-skipping test server (which has no Schedules: each cycle is started as its schedule
 * would, with the ID `learning-transfer-<scheduled time>`, and simulated time moves 12 h between them) against
 * PostgreSQL (PGlite): three cycles in 36 simulated hours, the related synthetic domain promoted and the unrelated one
 * reverted as a negative transfer; the same three scheduled times run again (a second backfill) write nothing; a cycle
 * whose training and recording activities fail is retried and writes one version, one transfer, one audit entry; without
 * TemporalScheduledStartTime the ID's time (in any offset) keys the writes.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import type { TransferCycleRequest } from '../../shared/contract/learning/transfer/input';
import type { TransferCycleResult } from '../../shared/contract/learning/transfer/messages';
import { transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { liveModel, modelVersions, recordTransfer, transferNetwork } from '../../shared/node/learning/transfer/store';
import { transferPairSchema } from '../../shared/contract/learning/transfer/input';
import type { TransferFigures } from '../../shared/contract/learning/transfer/messages';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { RELATED_PAIR, startTransferWorker, UNRELATED_PAIR, type TransferWorker } from '../helpers/learning-transfer';
import { bundleWorkflows, installQuietRuntime, registerSearchAttributes } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/toolchain';

let env: TestWorkflowEnvironment;
let postgres: Awaited<ReturnType<typeof startEmbeddedPostgresThread>>;
let database: DatabaseHandle;
let workflowBundle: WorkflowBundle;
let worker: TransferWorker;

/** What a Schedule sets on the workflows it starts (the workflow's fallback for an ID without a time). */
const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

beforeAll(async () => {
  installQuietRuntime();
  [workflowBundle, env, postgres] = await Promise.all([bundleWorkflows(), createTimeSkippingEnv(), startEmbeddedPostgresThread()]);
  await registerSearchAttributes(env);
  database = await openDatabase(postgres.url, { poolSize: 4 });
  await migrateToLatest(database.db);
  worker = await startTransferWorker(env, database.db, workflowBundle, `lt${process.pid}`);
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await database?.close();
  await postgres?.stop();
  await env?.teardown();
});

/** Runs the cycle of one scheduled time, as the schedule would start it. */
function runCycle(scheduledAt: Date, input: TransferCycleRequest): Promise<TransferCycleResult> {
  return env.client.workflow.execute('transferLearningCycle', { workflowId: transferCycleWorkflowId(scheduledAt), taskQueue: worker.taskQueue, args: [input] });
}

const db = () => database.db;
const auditCount = async (workflowId: string) => (await db().selectFrom('audit_log').select('event').where('workflow_id', '=', workflowId).execute()).length;

test('three cycles in 36 simulated hours: the related domain is promoted each time, the unrelated one reverted as negative', async () => {
  const first = new Date(Math.floor((await env.currentTimeMs()) / 43_200_000) * 43_200_000 + 43_200_000);
  const input = { pairs: [RELATED_PAIR, UNRELATED_PAIR] };
  const results: TransferCycleResult[] = [];
  const startedAt = await env.currentTimeMs();
  for (let cycle = 0; cycle < 3; cycle++) {
    await env.sleep('12h');
    results.push(await runCycle(new Date(first.getTime() + cycle * 43_200_000), input));
  }
  expect((await env.currentTimeMs()) - startedAt).toBeGreaterThanOrEqual(36 * 3_600_000);
  expect(results.map((r) => r.outcomes.map((o) => [o.decision, o.negative, o.recorded]))).toEqual([
    [['promote', false, true], ['revert', true, true]],
    [['promote', false, true], ['revert', true, true]],
    [['promote', false, true], ['revert', true, true]],
  ]);
  for (const r of results) expect(r.outcomes[0].improvement).toBeGreaterThan(0.02);

  // Registry: the related domain's independent v1 kept, one transferred version per cycle, the latest live.
  const related = await modelVersions(db(), 'synthetic-related');
  expect(related.map((v) => [v.version, v.origin, v.live])).toEqual([[1, 'independent', false], [2, 'transfer', false], [3, 'transfer', false], [4, 'transfer', true]]);
  expect(related[3].parents).toEqual([{ domain: 'synthetic-related', version: 3 }, { domain: 'synthetic-base', version: 1 }]);
  const unrelated = await modelVersions(db(), 'synthetic-unrelated');
  expect(unrelated.map((v) => [v.version, v.live])).toEqual([[1, true]]);

  const network = await transferNetwork(db());
  const edge = (target: string) => network.edges.find((e) => e.target === target);
  expect(edge('synthetic-related')).toMatchObject({ source: 'synthetic-base', cycles: 3, promoted: 3, reverted: 0 });
  expect(edge('synthetic-unrelated')).toMatchObject({ cycles: 3, promoted: 0, reverted: 3 });
  const audited = await db().selectFrom('audit_log').select(['event', 'detail']).where('workflow_id', 'like', 'learning-transfer-%').execute();
  expect(audited.filter((a) => a.event === 'learning.transfer.negative')).toHaveLength(3);
  const promoted = audited.find((a) => a.event === 'learning.transfer.promote')?.detail as { independent: { auc: number }; transferred: { auc: number }; decision: string };
  expect(promoted.decision).toBe('promote');
  expect(promoted.transferred.auc).toBeGreaterThan(promoted.independent.auc);

  // A second backfill of the same three times: each cycle runs again and writes nothing.
  const again: TransferCycleResult[] = [];
  for (let cycle = 0; cycle < 3; cycle++) again.push(await runCycle(new Date(first.getTime() + cycle * 43_200_000), input));
  expect(again.flatMap((r) => r.outcomes.map((o) => o.recorded))).toEqual([false, false, false, false, false, false]);
  expect(again.map((r) => r.outcomes[0].registeredVersion)).toEqual([2, 3, 4]);
  expect((await modelVersions(db(), 'synthetic-related')).length).toBe(4);
  expect((await transferNetwork(db())).transfers).toHaveLength(6);
}, 120_000);

test('a cycle whose training and recording activities fail is retried and writes one version, one transfer, one audit entry', async () => {
  const scheduledAt = new Date(Math.floor((await env.currentTimeMs()) / 43_200_000) * 43_200_000 + 7 * 86_400_000);
  const before = (await modelVersions(db(), 'synthetic-related')).length;
  worker.failures.retrainWithTransfer = { attempts: 2, after: false };
  worker.failures.recordTransferDecision = { attempts: 1, after: true };
  const attemptsBefore = { ...worker.attempts };
  const result = await runCycle(scheduledAt, { pairs: [RELATED_PAIR] });
  expect(worker.attempts.retrainWithTransfer - (attemptsBefore.retrainWithTransfer ?? 0)).toBe(3);
  expect(worker.attempts.recordTransferDecision - (attemptsBefore.recordTransferDecision ?? 0)).toBe(2);
  // The first recording attempt committed before it failed; its retry finds the row and writes nothing more.
  expect(result.outcomes).toEqual([expect.objectContaining({ decision: 'promote', registeredVersion: before + 1, recorded: false })]);
  expect((await modelVersions(db(), 'synthetic-related')).length).toBe(before + 1);
  const rows = await db().selectFrom('learning_transfers').select('decision').where('scheduled_at', '=', scheduledAt).execute();
  expect(rows).toEqual([{ decision: 'promote' }]);
  expect(await auditCount(transferCycleWorkflowId(scheduledAt))).toBe(1);
}, 120_000);

test('a cycle without a scheduled time, or with bad input, fails at once naming the fix', async () => {
  const noTime = env.client.workflow.execute('transferLearningCycle', { workflowId: `lt-unscheduled-${process.pid}`, taskQueue: worker.taskQueue, args: [{ pairs: [RELATED_PAIR] }] });
  await expect(noTime).rejects.toThrow(WorkflowFailedError);
  await expect(noTime.catch((e: WorkflowFailedError) => Promise.reject(e.cause))).rejects.toThrow(/has no scheduled time: start it from a schedule/);
  const bad = runCycle(new Date('2030-06-01T00:00:00Z'), { pairs: [{ ...RELATED_PAIR, target: 'nowhere' as never }] });
  await expect(bad.catch((e: WorkflowFailedError) => Promise.reject(e.cause))).rejects.toThrow(/pairs\[0\]\.target: unknown domain "nowhere"/);
}, 60_000);

test('without TemporalScheduledStartTime (the test server sets none) the ID gives the scheduled time, in any offset, and keys every write', async () => {
  const at = '2032-03-01T00:00:00.000Z';
  const handle = await env.client.workflow.start('transferLearningCycle', { workflowId: transferCycleWorkflowId(at), taskQueue: worker.taskQueue, args: [{ pairs: [UNRELATED_PAIR] }] });
  const result = await handle.result();
  expect((await handle.describe()).typedSearchAttributes.get(TemporalScheduledStartTime)).toBeUndefined();
  expect(result.scheduledAt).toBe(at);
  expect(result.outcomes).toEqual([expect.objectContaining({ decision: 'revert', recorded: true })]);
  // The same instant in another offset, under another ID: the same scheduled time, so nothing is written again.
  const sameInstant = 'learning-transfer-2032-03-01T02:00:00+02:00';
  const again = await env.client.workflow.execute('transferLearningCycle', { workflowId: sameInstant, taskQueue: worker.taskQueue, args: [{ pairs: [UNRELATED_PAIR] }] });
  expect(again).toEqual({ scheduledAt: at, outcomes: [expect.objectContaining({ decision: 'revert', recorded: false })] });
  const rows = await db().selectFrom('learning_transfers').select(['workflow_id', 'decision']).where('scheduled_at', '=', new Date(at)).execute();
  expect(rows).toEqual([{ workflow_id: transferCycleWorkflowId(at), decision: 'revert' }]);
  expect([await auditCount(transferCycleWorkflowId(at)), await auditCount(sameInstant)]).toEqual([1, 0]);
}, 60_000);

test('a negative transfer takes back a live model the same pair promoted, and leaves another pair\'s promotion alone', async () => {
  const live = await liveModel(db(), 'synthetic-related');
  if (!live) throw new Error('the earlier tests promote a model of synthetic-related');
  const samePair = transferPairSchema.parse(RELATED_PAIR);
  const otherPair = transferPairSchema.parse({ ...RELATED_PAIR, pattern: 'top-k' });
  const figures = (pair: typeof samePair): TransferFigures => ({
    pair: `${pair.pattern}`, source: pair.source, target: pair.target, pattern: pair.pattern, method: pair.method, metric: 'auc',
    independent: live.metrics, transferred: { ...live.metrics, auc: live.metrics.auc * 0.9 }, improvement: -0.1,
    mapping: { mapped: [], targetOnly: [], sourceOnly: [] }, sourceVersion: 1, targetTrainRows: 30,
  });
  const negative = (pair: typeof samePair, at: string) => recordTransfer(db(), { scheduledAt: at, workflowId: transferCycleWorkflowId(at), pair, decision: 'revert', negative: true, improvement: -0.1, figures: figures(pair), model: live.model });
  // Another pair's negative transfer: the live model (promoted by RELATED_PAIR) stays.
  expect(await negative(otherPair, '2031-01-01T00:00:00.000Z')).toEqual({ recorded: true, liveVersion: live.version, writtenBy: transferCycleWorkflowId('2031-01-01T00:00:00.000Z') });
  // The same pair's: back to the version it was promoted over.
  const reverted = await negative(samePair, '2031-01-01T12:00:00.000Z');
  expect(reverted).toEqual({ recorded: true, liveVersion: live.parents.find((p) => p.domain === 'synthetic-related')?.version, writtenBy: transferCycleWorkflowId('2031-01-01T12:00:00.000Z') });
  expect((await liveModel(db(), 'synthetic-related'))?.version).toBe(reverted.liveVersion);
  expect((await modelVersions(db(), 'synthetic-related')).length).toBe(live.version);
}, 60_000);
