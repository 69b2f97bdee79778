/**
 * Recorded scenarios of strategyPromotion (test/histories/<set>/strategyPromotion-*.json), spread into
 * record-histories.ts's SCENARIOS, and the seeding the workflow test shares: a tenant's logged runs where `serial`
 * earned more, a shadow model trained on them, then a promotion that is approved, watched and rolled back, and one
 * that does not beat live by the margin.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { decide } from '../../client/common/approval';
import { shadowState } from '../../shared/contract/learning/strategy/offline-rl';
import { strategyPromotionStatusQuery, strategyPromotionWorkflowId, type PromotionOutcome, type StrategyPromotionInput, type StrategyPromotionResult, type StrategyPromotionStatus } from '../../shared/contract/learning/strategy/promotion';
import { applyArm, findArm } from '../../shared/contract/learning/strategy/strategy';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import type { StrategyTrainingResult } from '../../shared/contract/learning/strategy/training';
import { rewardRun, selectStrategy, trainShadowModel } from '../../shared/node/learning/strategy/service';
import { applyReward, findModel, recordDecision, saveSettings } from '../../shared/node/learning/strategy/store';
import { eventually } from '../helpers/eventually';
import type { AdosStack } from '../helpers/stack';

export const PROMOTION_ARMS = ['as-planned', 'serial'];
export const PROMOTION_GOAL = { type: 'deploy', complexity: 'medium', risk: 'medium', maxCost: 10 } as const;
export const PROMOTION_PLAN = { tasks: 3, environments: 1, includesProd: false, alternatesShare: 0 };

/** 40 logged runs, each arm half the time (propensity 0.5): serial earned 0.9, as-planned 0.2; then a shadow model. */
export async function seedTrainedTenant(stack: AdosStack, tenantId: string): Promise<number> {
  await saveSettings(stack.db, tenantId, { arms: PROMOTION_ARMS, alpha: 1, epsilon: 0.1 });
  for (let i = 0; i < 40; i++) {
    const arm = PROMOTION_ARMS[i % 2];
    const context = [0, 0, 1, 0, 0, 0.5, 0.9, 0.5, 0.5, (i % 24) / 24];
    const workflowId = `logged-${tenantId}-${i}`;
    await recordDecision(stack.db, {
      workflowId, tenantId, arm, policy: 'linucb', arms: PROMOTION_ARMS, strategy: applyArm(findArm(arm)!, 4), context, state: shadowState(context, PROMOTION_PLAN, 4), goal: PROMOTION_GOAL, scores: [], propensity: 0.5, stateVersion: i,
    });
    const reward = arm === 'serial' ? 0.9 : 0.2;
    await applyReward(stack.db, workflowId, { reward, quality: reward, cost: 0, riskPenalty: 0, measurement: { succeeded: true, durationSeconds: 1, reportedCost: 0, escalations: 0 } });
  }
  return (await trainShadowModel(stack.db, tenantId)).version!;
}

export function promotionInput(tenantId: string, modelVersion: number, extra: Partial<StrategyPromotionInput> = {}): StrategyPromotionInput {
  return { tenantId, modelVersion, requestedBy: 'carol', approval: { approvers: ['alice'], quorum: 1, timeout: '24h' }, watchRuns: 3, checkEvery: '1h', ...extra };
}

export function startPromotion(stack: AdosStack, input: StrategyPromotionInput): Promise<WorkflowHandle> {
  return stack.client.workflow.start('strategyPromotion', {
    args: [input],
    workflowId: strategyPromotionWorkflowId(input.tenantId, input.modelVersion),
    taskQueue: controlTaskQueue(stack.taskQueuePrefix),
  });
}

/** A delivery run's selection as the tenant's runs make it (no run behind it). */
/**
 * Waits until the promotion's approval gate is open: its stage reads awaiting_approval a moment before the gate has
 * recorded approval.requested (and set its deadline), and a decision sent in between is refused as too early.
 */
export function atApprovalGate(handle: WorkflowHandle): Promise<StrategyPromotionStatus> {
  return eventually('the promotion at the approval gate', 30_000, async () => {
    const status = await handle.query(strategyPromotionStatusQuery);
    return status.stage === 'awaiting_approval' && status.approval?.deadline ? status : undefined;
  });
}

export function selectFor(stack: AdosStack, tenantId: string, workflowId: string) {
  return selectStrategy(stack.db, { tenantId, workflowId, goal: PROMOTION_GOAL, plannedParallelism: 4, at: '2030-01-01T10:00:00Z', plan: PROMOTION_PLAN });
}

/** Waits at the gate, approves as alice, waits for the model to be live, then gives it three failing runs. */
export async function approveThenFail(stack: AdosStack, handle: WorkflowHandle, tenantId: string, modelVersion: number): Promise<void> {
  await atApprovalGate(handle);
  await decide(stack.client, handle.workflowId, { decision: 'approve', approver: 'alice', comment: 'the estimate holds' });
  await eventually('the model live', 30_000, async () => ((await findModel(stack.db, tenantId, modelVersion))!.status === 'live' ? true : undefined));
  for (let i = 0; i < 3; i++) {
    const workflowId = `live-after-${tenantId}-${i}`;
    await selectFor(stack, tenantId, workflowId);
    await rewardRun(stack.db, { tenantId, workflowId, succeeded: false, durationSeconds: 60, escalations: 2 });
  }
}

export interface StrategyPromotionScenario {
  workflowType: 'strategyPromotion' | 'strategyTraining';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: PromotionOutcome | 'succeeded';
}

/**
 * A watch of two checks per run, approved, then three hours without a run (a hand-over or more), then three good
 * runs: kept. Returns the chain's first run and its last.
 */
export async function watchChain(stack: AdosStack, tenantId: string): Promise<{ workflowId: string; firstRunId: string; lastRunId: string; outcome: string }> {
  const version = await seedTrainedTenant(stack, tenantId);
  const handle = await startPromotion(stack, promotionInput(tenantId, version, { watchChecksPerRun: 2 }));
  const firstRunId = (await handle.describe()).runId;
  await atApprovalGate(handle);
  await decide(stack.client, handle.workflowId, { decision: 'approve', approver: 'alice', comment: 'go' });
  await eventually('the model live', 30_000, async () => ((await findModel(stack.db, tenantId, version))!.status === 'live' ? true : undefined));
  await stack.env.sleep('3h');
  const latest = stack.client.workflow.getHandle(handle.workflowId);
  await eventually('the watch continued as new', 30_000, async () => (((await latest.query(strategyPromotionStatusQuery)).chainIndex ?? 0) >= 1 ? true : undefined));
  for (let i = 0; i < 3; i++) {
    const workflowId = `live-chain-${tenantId}-${i}`;
    await selectFor(stack, tenantId, workflowId);
    await rewardRun(stack.db, { tenantId, workflowId, succeeded: true, durationSeconds: 1, escalations: 0 });
  }
  const result: StrategyPromotionResult = await latest.result();
  return { workflowId: handle.workflowId, firstRunId, lastRunId: (await latest.describe()).runId, outcome: result.outcome };
}

export const LEARNING_STRATEGY_SCENARIOS: StrategyPromotionScenario[] = [
  {
    workflowType: 'strategyPromotion',
    name: 'rolled-back',
    description: 'a shadow model better at its bound waits for alice, goes live, its three runs fail: rolled back',
    expected: 'rolled_back',
    async run(stack) {
      const tenantId = 'replay_promotion';
      const version = await seedTrainedTenant(stack, tenantId);
      const handle = await startPromotion(stack, promotionInput(tenantId, version));
      await approveThenFail(stack, handle, tenantId, version);
      const result: StrategyPromotionResult = await handle.result();
      return { workflowId: handle.workflowId, outcome: result.outcome };
    },
  },
  {
    workflowType: 'strategyPromotion',
    name: 'not-better',
    description: 'a margin no estimate clears: not_better, the gate never opens',
    expected: 'not_better',
    async run(stack) {
      const tenantId = 'replay_margin';
      const version = await seedTrainedTenant(stack, tenantId);
      const handle = await startPromotion(stack, promotionInput(tenantId, version, { margin: 1 }));
      const result: StrategyPromotionResult = await handle.result();
      return { workflowId: handle.workflowId, outcome: result.outcome };
    },
  },
  // The two ends of a watch handed over by continue-as-new: its first run, and (another chain) its last.
  ...(['first', 'last'] as const).map((end): StrategyPromotionScenario => ({
    workflowType: 'strategyPromotion',
    name: end === 'first' ? 'promotion-watch-handed-over' : 'promotion-watch-continued',
    description: end === 'first'
      ? 'approved, live, watched two checks per run: the first run hands the watch over by continue-as-new (this history)'
      : 'the last run of a handed-over watch: three good runs, the model is kept (this history)',
    expected: 'kept',
    async run(stack) {
      const chain = await watchChain(stack, `replay_chain_${end}`);
      return { workflowId: chain.workflowId, runId: end === 'first' ? chain.firstRunId : chain.lastRunId, outcome: chain.outcome };
    },
  })),
  {
    workflowType: 'strategyTraining',
    name: 'schedule-trained',
    description: 'the Schedule\'s input (all tenants): one tenant with a new rewarded run is trained',
    expected: 'succeeded',
    async run(stack) {
      const tenantId = 'replay_training';
      await seedTrainedTenant(stack, tenantId);
      await selectFor(stack, tenantId, `train-more-${tenantId}`);
      await rewardRun(stack.db, { tenantId, workflowId: `train-more-${tenantId}`, succeeded: true, durationSeconds: 5, escalations: 0 });
      const workflowId = 'learning-strategy-training-replay';
      const result: StrategyTrainingResult = await stack.client.workflow.execute('strategyTraining', { args: [{}], workflowId, taskQueue: controlTaskQueue(stack.taskQueuePrefix) });
      return { workflowId, outcome: result.models.some((m) => m.tenantId === tenantId && m.outcome === 'trained') ? 'succeeded' : JSON.stringify(result.models) };
    },
  },
];
