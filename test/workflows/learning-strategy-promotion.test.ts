/**
 * The strategyPromotion workflow on the time-skipping test server with the real control worker and activities
 * (PGlite in memory): a shadow model that beats the live policy at its confidence bound waits for a human at the
 * approval gate, acting on nothing meanwhile; approved, it chooses; its next runs earning less than before roll it
 * back (audited), and the bandit chooses again. A model that does not beat live by the margin ends `not_better`
 * without asking anyone. A long watch continues as new (every 2 checks here) and the continued run keeps or rolls
 * back as the first would. The seeding is the recorded scenarios' (test/replay/learning-strategy-scenarios.ts).
 *
 * In the same environment (one bundle and test server for the file): a delivery run's reward activity whose first
 * attempt commits and then fails (the worker loses the answer) is retried by Temporal and the bandit is updated once;
 * and the `strategyTraining` workflow (what its Schedule starts) trains the tenants with new rewarded runs, reports a
 * tenant with none as unchanged, and a retry of its training (same key) returns the stored model.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { startDeliveryRun } from '../../client/delivery';
import type { StrategyRewardRequest } from '../../shared/contract/learning/strategy/bandit';
import type { StrategyTrainingResult } from '../../shared/contract/learning/strategy/training';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { loadConfig } from '../../shared/node/config';
import { createLogger } from '../../shared/node/logger';
import { createCapabilityWorkers } from '../../workers/capability-worker';
import { decide } from '../../client/common/approval';
import { parseStrategyPromotionWorkflowId, strategyPromotionStatusQuery, type StrategyPromotionResult } from '../../shared/contract/learning/strategy/promotion';
import { rewardRun, trainShadowModel } from '../../shared/node/learning/strategy/service';
import { findDecision, findModel, loadArmStates, saveSettings } from '../../shared/node/learning/strategy/store';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/toolchain';
import { eventually } from '../helpers/eventually';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { atApprovalGate, promotionInput, seedTrainedTenant, selectFor, startPromotion, watchChain } from '../replay/learning-strategy-scenarios';

let env: TestWorkflowEnvironment;
let stack: AdosStack;
const faultyWorkers: Worker[] = [];
const running: Promise<void>[] = [];
/** The attempts of the faulty reward activity, and what each returned from the real one before failing or not. */
const rewardAttempts: { attempt: number; applied: boolean }[] = [];
const FAULTY_PREFIX = `f${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  installQuietRuntime();
  const workflowBundle = await bundleWorkflows();
  env = await createTimeSkippingEnv();
  stack = await startStack({ env, workflowBundle, capabilities: ['noop'] });
  // A second deployment (its own task queues) in the same namespace and database, whose reward activity really
  // commits and then fails on its first attempt: the answer lost after the commit.
  const namespace = env.namespace ?? 'default';
  // As workers/control-worker.ts builds them (the tenant gate needs a client, routing reports Temporal's API).
  const activities = createActivities({ db: stack.db, temporal: { workflowService: env.nativeConnection.workflowService, namespace }, client: new Client({ connection: env.nativeConnection, namespace }) });
  const recordStrategyReward = async (request: StrategyRewardRequest) => {
    const result = await activities.recordStrategyReward(request);
    const { attempt } = Context.current().info;
    rewardAttempts.push({ attempt, applied: result.applied });
    if (attempt === 1) throw ApplicationFailure.retryable('the worker lost the answer after the reward committed', 'InjectedAfterCommit');
    return result;
  };
  faultyWorkers.push(
    await Worker.create({ connection: env.nativeConnection, namespace, taskQueue: controlTaskQueue(FAULTY_PREFIX), workflowBundle, activities: { ...activities, recordStrategyReward }, shutdownGraceTime: '2s' }),
    ...(await createCapabilityWorkers({ connection: env.nativeConnection, namespace, taskQueuePrefix: FAULTY_PREFIX, capabilities: ['noop'], db: stack.db, logger: createLogger('test-capability-worker', 'warn'), identity: 'faulty-cap', shutdownGraceTime: '2s' })),
  );
  for (const worker of faultyWorkers) running.push(worker.run());
}, 180_000);

afterAll(async () => {
  for (const worker of faultyWorkers) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.allSettled(running);
  await stack?.shutdown();
  await env?.teardown();
});

test('approved after a better estimate, the model chooses; its next runs earning less roll it back', async () => {
  const tenantId = 'promo_rollback';
  const version = await seedTrainedTenant(stack, tenantId);
  const handle = await startPromotion(stack, promotionInput(tenantId, version));

  const waiting = await atApprovalGate(handle);
  expect(waiting.evaluation).toMatchObject({ better: true });
  expect(waiting.evaluation!.shadow.low).toBeGreaterThan(waiting.evaluation!.live.value + 0.05);
  // Shadow mode until approved: the model is recorded beside the decision and chooses nothing.
  expect((await findModel(stack.db, tenantId, version))!.status).toBe('shadow');
  const before = await selectFor(stack, tenantId, `live-before-${tenantId}`);
  expect(before.policy).toBe('linucb');
  expect(before.shadow).toMatchObject({ arm: 'serial', modelVersion: version });

  await decide(stack.client, handle.workflowId, { decision: 'approve', approver: 'alice', comment: 'the estimate holds' });
  await eventually('the model live', 30_000, async () => ((await findModel(stack.db, tenantId, version))!.status === 'live' ? true : undefined));
  // Three runs the live model chose, all failing: their mean reward is below the pre-promotion level.
  for (let i = 0; i < 3; i++) {
    const workflowId = `live-after-${tenantId}-${i}`;
    expect((await selectFor(stack, tenantId, workflowId)).policy).toBe(`cql-v${version}`);
    await rewardRun(stack.db, { tenantId, workflowId, succeeded: false, durationSeconds: 60, escalations: 2 });
  }

  const result: StrategyPromotionResult = await handle.result();
  expect(result.outcome).toBe('rolled_back');
  expect(result.watched!.runs).toBe(3);
  expect(result.watched!.meanReward).toBeLessThan(result.baseline!);
  expect((await findModel(stack.db, tenantId, version))!.status).toBe('retired');
  const audit = await stack.db.selectFrom('audit_log').select('event').where('workflow_id', '=', handle.workflowId).execute();
  expect(audit.map((a) => a.event)).toEqual(expect.arrayContaining(['strategy.promotion_evaluated', 'approval.requested', 'strategy.promoted', 'strategy.rolled_back', 'run.finished']));
  // Rolled back: the bandit chooses again.
  expect((await selectFor(stack, tenantId, `after-rollback-${tenantId}`)).policy).toBe('linucb');
}, 60_000);

test('a model that does not beat live by the margin ends not_better, never at the gate', async () => {
  const tenantId = 'promo_margin';
  const version = await seedTrainedTenant(stack, tenantId);
  const handle = await startPromotion(stack, promotionInput(tenantId, version, { margin: 1 }));
  const result: StrategyPromotionResult = await handle.result();
  expect(result.outcome).toBe('not_better');
  expect(result.evaluation.lead).toBeLessThan(0);
  expect((await findModel(stack.db, tenantId, version))!.status).toBe('shadow');
}, 60_000);

test('a long watch continues as new with its state and keeps the model when its runs earn as much as before', async () => {
  const tenantId = 'promo_chain';
  // Approved, live, three hours of checks two per run (a hand-over or more), then three good runs.
  const chain = await watchChain(stack, tenantId);
  expect(chain.outcome).toBe('kept');
  expect(chain.lastRunId).not.toBe(chain.firstRunId);
  const last = await stack.client.workflow.getHandle(chain.workflowId, chain.lastRunId).query(strategyPromotionStatusQuery);
  expect(last).toMatchObject({ stage: 'finished', outcome: 'kept', watched: { runs: 3 }, evaluation: { better: true } });
  expect(last.chainIndex).toBeGreaterThanOrEqual(1);
  const version = parseStrategyPromotionWorkflowId(chain.workflowId)!.modelVersion;
  expect((await findModel(stack.db, tenantId, version))!.status).toBe('live');
  const audit = await stack.db.selectFrom('audit_log').select('event').where('workflow_id', '=', chain.workflowId).orderBy('id').execute();
  const events = audit.map((a) => a.event);
  expect(events.filter((e) => e === 'strategy.watch_continued').length).toBe(last.chainIndex);
  expect(events.filter((e) => e === 'strategy.promoted')).toHaveLength(1);
  expect(events.slice(-2)).toEqual(['strategy.promotion_kept', 'run.finished']);
}, 60_000);

test('the reward activity fails after committing, Temporal retries it, and the bandit is updated once', async () => {
  const tenantId = 'reward_retry';
  await saveSettings(stack.db, tenantId, { arms: ['serial'], alpha: 1, epsilon: 0 });
  const config = loadConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', ADOS_TASK_QUEUE_PREFIX: FAULTY_PREFIX });
  const { workflowId } = await startDeliveryRun(env.client, config, {
    tenantId,
    runId: 'reward-retry',
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 10 },
    environments: ['dev'],
    maxParallel: 1,
    plan: { tasks: [{ id: 'noop', capability: 'noop', input: {} }] },
  });
  const result = await env.client.workflow.getHandle(workflowId).result();
  expect(result.outcome).toBe('succeeded');
  // Attempt 1 applied the reward and failed; attempt 2 (Temporal's retry) found it applied.
  expect(rewardAttempts).toEqual([{ attempt: 1, applied: true }, { attempt: 2, applied: false }]);
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
  expect(markers.length).toBeGreaterThanOrEqual(2);
  const decision = await findDecision(stack.db, workflowId);
  expect(decision!.reward).toBeGreaterThan(0.5);
  const { states, version } = await loadArmStates(stack.db, tenantId, ['serial']);
  expect(states[0].pulls).toBe(1);
  expect(version).toBe(1);
  expect(states[0].rewardSum).toBeCloseTo(decision!.reward!, 12);
}, 60_000);

test('strategyTraining trains the tenants with new rewarded runs; none new: unchanged; the same key: the same model', async () => {
  const tenantId = 'train_wf';
  const seeded = await seedTrainedTenant(stack, tenantId);
  const workflowId = `learning-strategy-training-test-${Date.now()}`;
  // One more rewarded run than the seeded model saw.
  await selectFor(stack, tenantId, `train-more-${tenantId}`);
  await rewardRun(stack.db, { tenantId, workflowId: `train-more-${tenantId}`, succeeded: true, durationSeconds: 5, escalations: 0 });
  const scheduled = await stack.client.workflow.execute('strategyTraining', { args: [{}], workflowId, taskQueue: controlTaskQueue(stack.taskQueuePrefix) });
  const { models } = scheduled as StrategyTrainingResult;
  expect(models).toContainEqual({ tenantId, outcome: 'trained', version: seeded + 1, runs: 41 });
  // The other tests' tenants: those with runs after their model are trained too; promo_margin (none since) is not listed.
  expect(models.every((m) => m.outcome === 'trained')).toBe(true);
  expect(models.map((m) => m.tenantId)).not.toContain('promo_margin');

  const again: StrategyTrainingResult = await stack.client.workflow.execute('strategyTraining', { args: [{ tenantIds: [tenantId, 'train_none'] }], workflowId: `${workflowId}-again`, taskQueue: controlTaskQueue(stack.taskQueuePrefix) });
  expect(again.models[0]).toMatchObject({ tenantId, outcome: 'unchanged', version: seeded + 1 });
  expect(again.models[1]).toMatchObject({ tenantId: 'train_none', outcome: 'too_few_runs', reason: expect.stringContaining('30') });

  // `ados learn train` (a real CLI process) runs the same workflow for the tenant: nothing new since, unchanged.
  const cli = await runAdosCli(['learn', 'train', '--tenant', tenantId, '--json'], cleanEnv({ DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', ADOS_TASK_QUEUE_PREFIX: stack.taskQueuePrefix, ADOS_TENANT: tenantId }), 60_000);
  expect(cli.stderr).toBe('');
  expect(JSON.parse(cli.stdout)).toMatchObject({ tenantId, outcome: 'unchanged', version: seeded + 1, workflowId: expect.stringMatching(/^learning-strategy-training-train_wf-\d+$/) });

  // A retried attempt after the model was stored: its training key finds it; nothing new is trained.
  const { runId } = await stack.client.workflow.getHandle(workflowId).describe();
  expect(await trainShadowModel(stack.db, tenantId, { trainingKey: `${workflowId}/${runId}/${tenantId}` })).toEqual({ tenantId, outcome: 'trained', version: seeded + 1, runs: 41 });
}, 60_000);
