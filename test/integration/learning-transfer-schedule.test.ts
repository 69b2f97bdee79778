/**
 * Transfer learning on a real Temporal dev server (one for this file) and PostgreSQL (PGlite), through the real
 * Schedule and the real `ados schedule` / `ados learn transfers` CLI: the schedule is created idempotently (every 12 h,
 * overlap SKIP, catch-up window, jitter); pausing is audited with who and why and shown in the schedule's note; a
 * backfill of three past times runs the real-data pair (NAB's EC2 CPU series → the other AWS series) three times, once
 * each, with the decision and figures recorded; bad requests exit 2 naming the field; a cycle whose ID has no time takes
 * it from TemporalScheduledStartTime (set explicitly here, and by a real `ados schedule trigger`) and writes once per time.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { transferPairSchema } from '../../shared/contract/learning/transfer/input';
import type { TransferCycleResult, TransferFigures } from '../../shared/contract/learning/transfer/messages';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { parseTransferCycleWorkflowId, transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { ensureSchedule, scheduleAuditId, transferScheduleOptions } from '../../shared/node/schedules/schedules';
import { TRANSFER_SCHEDULE_ID } from '../../shared/node/schedules/spec';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { eventually } from '../helpers/eventually';
import { REAL_DATA_PAIR, runCliInProcess, startTransferWorker, type TransferWorker } from '../helpers/learning-transfer';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { bundleWorkflows, installQuietRuntime } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/toolchain';

const HALF_DAY = 43_200_000;
const PREFIX = `lts${process.pid}`;
/** What a Schedule sets on every workflow it starts: the action's nominal time. */
const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

let env: TestWorkflowEnvironment;
let postgres: Awaited<ReturnType<typeof startEmbeddedPostgresThread>>;
let database: DatabaseHandle;
let workflowBundle: WorkflowBundle;
let worker: TransferWorker;
let cliEnv: NodeJS.ProcessEnv;
let cliVars: Record<string, string>;
/** `ados …` in this process; the binary itself runs once (learn transfers). */
const ados = (args: string[]) => runCliInProcess(args, cliVars);

const scheduleOptions = () =>
  transferScheduleOptions({ scheduleId: TRANSFER_SCHEDULE_ID, timing: { every: '12h', jitter: '1s', catchupWindow: '6h' }, pairs: [transferPairSchema.parse(REAL_DATA_PAIR)], tenantId: 'ados' }, PREFIX);

beforeAll(async () => {
  installQuietRuntime();
  [workflowBundle, env, postgres] = await Promise.all([bundleWorkflows(), createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] }), startEmbeddedPostgresThread()]);
  database = await openDatabase(postgres.url, { poolSize: 4 });
  await migrateToLatest(database.db);
  worker = await startTransferWorker(env, database.db, workflowBundle, PREFIX);
  cliVars = { TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', DATABASE_URL: postgres.url, ADOS_TASK_QUEUE_PREFIX: PREFIX };
  cliEnv = cleanEnv(cliVars);
}, 120_000);

afterAll(async () => {
  await env?.client.schedule.getHandle(TRANSFER_SCHEDULE_ID).delete().catch(() => undefined);
  await worker?.stop();
  await database?.close();
  await postgres?.stop();
  await env?.teardown();
});

test('the schedule is created once, paused and unpaused with an audited note, and a backfill of 3 past times runs the real-data pair 3 times', async () => {
  expect(await ensureSchedule(env.client, scheduleOptions())).toBe('created');
  expect(await ensureSchedule(env.client, scheduleOptions())).toBe('updated');
  const described = await env.client.schedule.getHandle(TRANSFER_SCHEDULE_ID).describe();
  expect(described.spec.intervals?.map((i) => i.every)).toEqual([HALF_DAY]);
  expect(described.policies.overlap).toBe('SKIP');
  expect(described.policies.catchupWindow).toBe(6 * 3_600_000);
  expect(described.spec.jitter).toBe(1000);

  const paused = await ados(['schedule', 'pause', TRANSFER_SCHEDULE_ID, '--reason', 'relabeling the source', '--as', 'ops', '--json']);
  expect({ code: paused.code, stderr: paused.stderr }).toEqual({ code: 0, stderr: '' });
  const pausedView = JSON.parse(paused.stdout) as { paused: boolean; note: string };
  expect(pausedView.paused).toBe(true);
  expect(pausedView.note).toMatch(/^paused by ops at .+: relabeling the source$/);
  const audit = await database.db.selectFrom('audit_log').select(['event', 'detail']).where('workflow_id', '=', scheduleAuditId(TRANSFER_SCHEDULE_ID)).execute();
  expect(audit).toEqual([{ event: 'schedule.paused', detail: expect.objectContaining({ by: 'ops', reason: 'relabeling the source' }) }]);

  // Backfills run while paused too; unpause first so the note says so.
  const unpaused = await ados(['schedule', 'unpause', TRANSFER_SCHEDULE_ID, '--reason', 'relabeling done', '--as', 'ops']);
  expect(unpaused.code).toBe(0);
  expect(unpaused.stdout).toMatch(/active: unpaused by ops/);

  const last = Math.floor(Date.now() / HALF_DAY) * HALF_DAY - HALF_DAY;
  const times = [last - 2 * HALF_DAY, last - HALF_DAY, last].map((t) => new Date(t));
  const backfill = await ados(['schedule', 'backfill', TRANSFER_SCHEDULE_ID, '--from', new Date(times[0].getTime() - 60_000).toISOString(), '--to', new Date(last + 60_000).toISOString()]);
  expect({ code: backfill.code, stderr: backfill.stderr }).toEqual({ code: 0, stderr: '' });

  const rows = await eventually('three transfers are recorded', 100_000, async () => {
    const found = await database.db.selectFrom('learning_transfers').selectAll().orderBy('scheduled_at').execute();
    return found.length >= 3 ? found : undefined;
  });
  expect(rows.map((r) => r.scheduled_at.toISOString())).toEqual(times.map((t) => t.toISOString()));
  expect(rows.map((r) => r.workflow_id)).toEqual(times.map((t) => transferCycleWorkflowId(t)));
  for (const row of rows) {
    const figures = row.figures as TransferFigures;
    expect(['promote', 'keep', 'revert']).toContain(row.decision);
    expect(row.negative).toBe(row.decision === 'revert');
    expect(figures.independent.auc).toBeGreaterThan(0);
    expect(figures.transferred.auc).toBeGreaterThan(0);
    expect(figures.mapping.mapped.length).toBe(11);
    expect(row.improvement).toBeCloseTo((figures.transferred.auc - figures.independent.auc) / figures.independent.auc, 6);
  }
  // The same model and data each time: the three cycles decide alike.
  expect(new Set(rows.map((r) => r.decision)).size).toBe(1);
  const decisions = await database.db.selectFrom('audit_log').select('event').where('workflow_id', 'in', rows.map((r) => r.workflow_id)).execute();
  expect(decisions).toHaveLength(3);

  const network = await runAdosCli(['learn', 'transfers', '--json'], cliEnv, 60_000);
  expect(network.code).toBe(0);
  expect((JSON.parse(network.stdout) as { edges: Array<{ source: string; target: string; cycles: number }> }).edges).toEqual([expect.objectContaining({ source: 'nab-ec2-cpu', target: 'nab-other-aws', cycles: 3 })]);
}, 120_000);

test('ados schedule refuses unknown schedules, a backfill into the future and invalid timing with exit 2, naming the field', async () => {
  for (const args of [['describe', 'nope'], ['trigger', 'nope'], ['pause', 'nope', '--reason', 'x'], ['backfill', 'nope', '--from', '2020-01-01T00:00:00Z', '--to', '2020-01-02T00:00:00Z'], ['update', 'nope', '--every', '6h']]) {
    const unknown = await ados(['schedule', ...args]);
    expect({ args, code: unknown.code }).toEqual({ args, code: 2 });
    expect(unknown.stderr).toMatch(/schedule: no schedule "nope" in this namespace: `ados schedule list` shows the schedules/);
  }
  const noReason = await ados(['schedule', 'pause', TRANSFER_SCHEDULE_ID, '--reason', ' ']);
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toMatch(/--reason: required: say why/);
  const future = await ados(['schedule', 'backfill', TRANSFER_SCHEDULE_ID, '--from', '2020-01-01T00:00:00Z', '--to', '2999-01-01T00:00:00Z']);
  expect(future.code).toBe(2);
  expect(future.stderr).toMatch(/--to: 2999-01-01T00:00:00.000Z is in the future/);
  const cron = await ados(['schedule', 'update', TRANSFER_SCHEDULE_ID, '--cron', '0 25 * * *']);
  expect(cron.code).toBe(2);
  expect(cron.stderr).toMatch(/--cron: hour "25": must be from 0 to 23/);
  const interval = await ados(['schedule', 'update', TRANSFER_SCHEDULE_ID, '--every', 'often']);
  expect(interval.code).toBe(2);
  expect(interval.stderr).toMatch(/--every: must be a whole number and a unit/);
  const updated = await ados(['schedule', 'update', TRANSFER_SCHEDULE_ID, '--every', '6h', '--json']);
  expect(updated.code).toBe(0);
  expect((JSON.parse(updated.stdout) as { spec: { intervals: Array<{ every: number }> } }).spec.intervals).toEqual([expect.objectContaining({ every: 6 * 3_600_000 })]);
  const listed = await ados(['schedule', 'list', '--json']);
  expect((JSON.parse(listed.stdout) as Array<{ scheduleId: string; workflowType: string }>).map((s) => [s.scheduleId, s.workflowType])).toEqual([[TRANSFER_SCHEDULE_ID, 'transferLearningCycle']]);
}, 60_000);

test('a cycle whose ID carries no time takes it from TemporalScheduledStartTime and keys its writes by it; a Schedule trigger sets ID and attribute alike', async () => {
  const input = transferScheduleOptions({ scheduleId: TRANSFER_SCHEDULE_ID, timing: { every: '12h', jitter: '1s', catchupWindow: '6h' }, pairs: [transferPairSchema.parse(REAL_DATA_PAIR)], tenantId: 'ados' }, PREFIX).action;
  if (input.type !== 'startWorkflow') throw new Error('the transfer schedule starts a workflow');
  // A past time none of the backfills above ran; two starts under IDs without a time, both carrying it.
  const at = new Date(Math.floor(Date.now() / HALF_DAY) * HALF_DAY - 10 * HALF_DAY);
  const start = (workflowId: string): Promise<TransferCycleResult> =>
    env.client.workflow.execute('transferLearningCycle', { workflowId, taskQueue: worker.taskQueue, args: input.args as [unknown], typedSearchAttributes: [{ key: TemporalScheduledStartTime, value: at }] });
  const [firstId, secondId] = [`${PREFIX}-adhoc-a`, `${PREFIX}-adhoc-b`];
  const first = await start(firstId);
  expect(first).toEqual({ scheduledAt: at.toISOString(), outcomes: [expect.objectContaining({ recorded: true })] });
  const second = await start(secondId);
  expect(second).toEqual({ scheduledAt: at.toISOString(), outcomes: [expect.objectContaining({ decision: first.outcomes[0].decision, recorded: false })] });
  const rows = await database.db.selectFrom('learning_transfers').select('workflow_id').where('scheduled_at', '=', at).execute();
  expect(rows).toEqual([{ workflow_id: firstId }]);
  const audited = async (workflowId: string) => (await database.db.selectFrom('audit_log').select('event').where('workflow_id', '=', workflowId).execute()).length;
  expect([await audited(firstId), await audited(secondId)]).toEqual([1, 0]);

  // The real Schedule: `ados schedule trigger` starts learning-transfer-<time> with TemporalScheduledStartTime = that time.
  const schedule = env.client.schedule.getHandle(TRANSFER_SCHEDULE_ID);
  const seen = new Set((await schedule.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
  const triggered = await ados(['schedule', 'trigger', TRANSFER_SCHEDULE_ID]);
  expect({ code: triggered.code, stderr: triggered.stderr, stdout: triggered.stdout }).toEqual({ code: 0, stderr: '', stdout: `triggered ${TRANSFER_SCHEDULE_ID}\n` });
  const workflowId = await eventually('the trigger starts a cycle', 30_000, async () => {
    const d = await schedule.describe();
    return [...d.info.recentActions.map((a) => a.action), ...d.info.runningActions].map((a) => a.workflow.workflowId).find((id) => !seen.has(id));
  });
  const handle = env.client.workflow.getHandle(workflowId);
  const result = (await handle.result()) as TransferCycleResult;
  const attribute = (await handle.describe()).typedSearchAttributes.get(TemporalScheduledStartTime);
  expect(attribute?.toISOString()).toBe(result.scheduledAt);
  expect(parseTransferCycleWorkflowId(workflowId)).toBe(result.scheduledAt);
  expect(result.outcomes).toEqual([expect.objectContaining({ recorded: true })]);
}, 90_000);
