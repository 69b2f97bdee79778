/**
 * The strategyPromotion workflow on the time-skipping test server with the real control worker and activities
 * (PGlite in memory): a shadow model that beats the live policy at its confidence bound waits for a human at the
 * approval gate, acting on nothing meanwhile; approved, it chooses; its next runs earning less than before roll it
 * back (audited), and the bandit chooses again. A model that does not beat live by the margin ends `not_better`
 * without asking anyone. The seeding is the recorded scenarios' (test/replay/learning-strategy-scenarios.ts).
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decide } from '../../client/common/approval';
import { strategyPromotionStatusQuery, type StrategyPromotionResult } from '../../shared/contract/learning/strategy/promotion';
import { rewardRun } from '../../shared/node/learning/strategy/service';
import { findModel } from '../../shared/node/learning/strategy/store';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/toolchain';
import { eventually } from '../helpers/eventually';
import { promotionInput, seedTrainedTenant, selectFor, startPromotion } from '../replay/learning-strategy-scenarios';

let env: TestWorkflowEnvironment;
let stack: AdosStack;

beforeAll(async () => {
  installQuietRuntime();
  const workflowBundle = await bundleWorkflows();
  env = await createTimeSkippingEnv();
  stack = await startStack({ env, workflowBundle, capabilities: ['noop'] });
}, 90_000);

afterAll(async () => {
  await stack?.shutdown();
  await env?.teardown();
});

test('approved after a better estimate, the model chooses; its next runs earning less roll it back', async () => {
  const tenantId = 'promo_rollback';
  const version = await seedTrainedTenant(stack, tenantId);
  const handle = await startPromotion(stack, promotionInput(tenantId, version));

  const waiting = await eventually('the promotion at the approval gate', 30_000, async () => {
    const status = await handle.query(strategyPromotionStatusQuery);
    return status.stage === 'awaiting_approval' ? status : undefined;
  });
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
