/**
 * The strategy bandit's operations over its tables: select a run's strategy, apply its reward once, train the shadow
 * model, and report a tenant's bandit and off-policy estimates. The activities and the CLI call these.
 */
import {
  CONTEXT_DIMENSION,
  contextVector,
  rewardOf,
  strategySelectionRequestSchema,
  strategyRewardRequestSchema,
  type ArmScore,
  type Goal,
  type StrategyDecision,
  type StrategyRewardRequest,
  type StrategyRewardResult,
  type StrategySelectionRequest,
} from '../../../contract/learning/strategy/bandit';
import { sql } from 'kysely';
import { SHADOW_DISCOUNT, shadowState } from '../../../contract/learning/strategy/offline-rl';
import type { TrainedModel, TrainingCheckpoint } from '../../../contract/learning/strategy/training';
import { judgePromotion, type PromotionEvaluation } from '../../../contract/learning/strategy/promotion';
import { applyArm, findArm, STRATEGY_ARM_NAMES } from '../../../contract/learning/strategy/strategy';
import type { Db } from '../../db';
import { DEFAULT_CQL_OPTIONS, greedyAction, qValues, trainCql, trainCqlResumable, type Transition } from './cql';
import { armTheta, chooseArm, scoreArms } from './linucb';
import { alwaysArm, assertEnoughRuns, drEstimate, ipsEstimate, MIN_LOGGED_RUNS, Z_95, type Estimate, type LoggedRun } from './off-policy';
import {
  applyReward,
  applyWarmStart,
  findDecision,
  findModel,
  findModelByTrainingKey,
  newestModel,
  latestModel,
  listDecisions,
  listWarmStarts,
  modelPolicy,
  loadArmStates,
  loadSettings,
  recordDecision,
  reportedCost,
  saveShadowModel,
  tenantSuccessRate,
  type StoredDecision,
} from './store';

/** A model's Q values as scores, so the ε-greedy choice and its propensity work as for LinUCB. */
function modelScores(weights: Record<string, number[]>, state: readonly number[], arms: readonly string[]): ArmScore[] {
  const q = qValues(weights, state);
  return arms.filter((arm) => arm in q).map((arm) => ({ arm, estimate: q[arm], bonus: 0, score: q[arm] }));
}

/**
 * Chooses the run's strategy and records the decision. LinUCB (ε-greedy over its scores) chooses, unless a model was
 * promoted to live: then the model does (ε-greedy over its Q values) and LinUCB's scores are recorded beside it. The
 * newest shadow model's choice is recorded too, never acted on.
 */
export async function selectStrategy(db: Db, raw: StrategySelectionRequest, random: () => number = Math.random): Promise<StrategyDecision> {
  const request = strategySelectionRequestSchema.parse(raw);
  const known = await findDecision(db, request.workflowId);
  if (known) return decisionOf(known);
  const settings = await loadSettings(db, request.tenantId);
  const context = contextVector(request.goal, await tenantSuccessRate(db, request.tenantId), new Date(request.at));
  await applyWarmStart(db, request.tenantId, request.goal, context, settings.arms);
  const { states, version } = await loadArmStates(db, request.tenantId, settings.arms);
  const scores = scoreArms(states, context, settings.alpha);
  const state = shadowState(context, request.plan, request.plannedParallelism);
  const live = await latestModel(db, request.tenantId, 'live');
  const liveScores = live ? modelScores(live.weights, state, settings.arms) : [];
  const { arm, propensity } = chooseArm(liveScores.length > 0 ? liveScores : scores, settings.epsilon, random);
  const model = await latestModel(db, request.tenantId, 'shadow');
  const shadow = model ? { arm: greedyAction(model.weights, state, settings.arms.filter((a) => a in model.weights)), q: qValues(model.weights, state), modelVersion: model.version } : undefined;
  const stored = await recordDecision(db, {
    workflowId: request.workflowId,
    tenantId: request.tenantId,
    arm,
    policy: live && liveScores.length > 0 ? modelPolicy(live.version) : 'linucb',
    arms: settings.arms,
    strategy: applyArm(findArm(arm)!, request.plannedParallelism),
    context,
    state,
    goal: request.goal,
    scores,
    propensity,
    stateVersion: version,
    ...(shadow ? { shadow } : {}),
  });
  return decisionOf(stored);
}

function decisionOf(stored: StoredDecision): StrategyDecision {
  return {
    arm: stored.arm,
    policy: stored.policy,
    strategy: stored.strategy,
    context: stored.context,
    scores: stored.scores,
    propensity: stored.propensity,
    stateVersion: stored.stateVersion,
    ...(stored.shadow ? { shadow: stored.shadow } : {}),
  };
}

/** Computes the run's reward from its measured outcome and applies it to the bandit, once per run. */
export async function rewardRun(db: Db, raw: StrategyRewardRequest): Promise<StrategyRewardResult> {
  const request = strategyRewardRequestSchema.parse(raw);
  const decision = await findDecision(db, request.workflowId);
  if (!decision) throw new Error(`run ${request.workflowId} has no strategy decision to reward (it chose none)`);
  const measurement = {
    succeeded: request.succeeded,
    durationSeconds: request.durationSeconds,
    reportedCost: await reportedCost(db, request.workflowId),
    escalations: request.escalations,
  };
  const detail = { ...rewardOf(measurement, decision.goal), measurement };
  const applied = await applyReward(db, request.workflowId, detail);
  return { applied, reward: applied ? detail : (await findDecision(db, request.workflowId))!.rewardDetail! };
}

/** One arm of `ados learn show`. */
export interface ArmReport {
  arm: string;
  pulls: number;
  meanReward?: number;
  score?: ArmScore;
  theta: number[];
}

/** A tenant's bandit: its settings and each arm's pulls, mean reward and (given a context) current score. */
export async function banditReport(db: Db, tenantId: string, context?: { goal: Goal; at: Date }) {
  const settings = await loadSettings(db, tenantId);
  const { states, version } = await loadArmStates(db, tenantId, settings.arms);
  const x = context ? contextVector(context.goal, await tenantSuccessRate(db, tenantId), context.at) : undefined;
  const scores = x ? scoreArms(states, x, settings.alpha) : undefined;
  const arms: ArmReport[] = states.map((state, i) => ({
    arm: state.arm,
    pulls: state.pulls,
    ...(state.pulls > 0 ? { meanReward: state.rewardSum / state.pulls } : {}),
    ...(scores ? { score: scores[i] } : {}),
    theta: armTheta(state),
  }));
  return { tenantId, settings, stateVersion: version, dimension: CONTEXT_DIMENSION, ...(x ? { context: x } : {}), arms, warmStarts: await listWarmStarts(db, tenantId) };
}

/** The tenant's rewarded runs as logged data for off-policy estimates. */
export async function loggedRuns(db: Db, tenantId: string): Promise<LoggedRun[]> {
  const decisions = await listDecisions(db, tenantId, { rewarded: true });
  return decisions.map((d) => ({ context: d.context, state: d.state, arm: d.arm, reward: d.reward!, propensity: d.propensity }));
}

/** An off-policy estimate of always playing `arm`, against what the logged runs earned. */
export interface SimulationReport {
  strategy: string;
  ips: Estimate;
  dr: Estimate;
  logged: { n: number; meanReward: number };
}

/** Estimates (IPS and DR, 95 % intervals) of each named strategy on the tenant's logged runs; refuses under the minimum. */
export async function simulateStrategies(db: Db, tenantId: string, strategies: readonly string[]): Promise<SimulationReport[]> {
  for (const s of strategies) {
    if (!findArm(s)) throw new RangeError(`unknown strategy "${s}": use one of ${STRATEGY_ARM_NAMES.join(', ')}`);
  }
  const runs = await loggedRuns(db, tenantId);
  assertEnoughRuns(runs);
  const arms = [...new Set([...runs.map((r) => r.arm), ...strategies])];
  const meanReward = runs.reduce((s, r) => s + r.reward, 0) / runs.length;
  return strategies.map((strategy) => ({
    strategy,
    ips: ipsEstimate(runs, alwaysArm(strategy)),
    dr: drEstimate(runs, alwaysArm(strategy), arms),
    logged: { n: runs.length, meanReward },
  }));
}

/** How a training is asked: its idempotency key, whether to skip a tenant with no new runs, and its checkpoints. */
export interface TrainingOptions {
  /** A retried training with the same key returns the model stored under it instead of training another. */
  trainingKey?: string;
  /** No rewarded run since the newest model: train nothing (outcome `unchanged`). */
  skipUnchanged?: boolean;
  /** Each checkpoint (a heartbeat); `resume` a checkpoint of an earlier attempt over the same runs. */
  onCheckpoint?: (checkpoint: TrainingCheckpoint) => void | Promise<void>;
  resume?: TrainingCheckpoint;
}

/**
 * Trains the tenant's shadow model (CQL over its rewarded runs, each run's next state the tenant's next run) and
 * stores it as the next version. It only ever informs the `shadow` field of later decisions. Too few runs: a
 * RangeError naming the minimum.
 */
export async function trainShadowModel(db: Db, tenantId: string, options: TrainingOptions = {}): Promise<TrainedModel> {
  if (options.trainingKey) {
    const earlier = await findModelByTrainingKey(db, options.trainingKey);
    if (earlier) return { tenantId, outcome: 'trained', version: earlier.version, runs: earlier.runs };
  }
  const decisions = await listDecisions(db, tenantId, { rewarded: true });
  if (decisions.length < MIN_LOGGED_RUNS) assertEnoughRuns(await loggedRuns(db, tenantId));
  if (options.skipUnchanged) {
    const newest = await newestModel(db, tenantId);
    if (newest && newest.runs >= decisions.length) return { tenantId, outcome: 'unchanged', version: newest.version, runs: decisions.length, reason: `no rewarded run since model v${newest.version}` };
  }
  const buffer: Transition[] = decisions.map((d, i) => ({ state: d.state, action: d.arm, reward: d.reward!, ...(decisions[i + 1] ? { next: decisions[i + 1].state } : {}) }));
  const settings = await loadSettings(db, tenantId);
  const cql = { ...DEFAULT_CQL_OPTIONS, discount: SHADOW_DISCOUNT, actions: settings.arms };
  const resume = options.resume && options.resume.tenantId === tenantId && options.resume.runs === buffer.length ? options.resume : undefined;
  const weights = options.onCheckpoint
    ? await trainCqlResumable(buffer, cql, (epoch, w) => options.onCheckpoint!({ tenantId, runs: buffer.length, epoch, weights: w }), resume)
    : trainCql(buffer, cql);
  const version = await saveShadowModel(db, tenantId, weights, buffer.length, options.trainingKey);
  return { tenantId, outcome: 'trained', version, runs: buffer.length };
}

/** Tenants worth a scheduled training: enough rewarded runs, and more of them than their newest model saw. */
export async function tenantsToTrain(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('strategy_decisions as d')
    .select(['d.tenant_id', sql<number>`count(*)::int`.as('runs')])
    .where('d.reward', 'is not', null)
    .groupBy('d.tenant_id')
    .having(sql<boolean>`count(*) >= ${MIN_LOGGED_RUNS}`)
    .having(sql<boolean>`count(*) > coalesce((select max(m.runs) from strategy_offline_models m where m.tenant_id = d.tenant_id), 0)`)
    .orderBy('d.tenant_id')
    .execute();
  return rows.map((r) => r.tenant_id);
}

/**
 * Judges a model for promotion on the tenant's rewarded runs: its doubly-robust estimate (the model's greedy choice on
 * each run's state) against the live policy's realised mean reward, both with 95 % intervals (judgePromotion).
 */
export async function evaluatePromotion(db: Db, request: { tenantId: string; modelVersion: number; margin: number }): Promise<PromotionEvaluation> {
  const model = await findModel(db, request.tenantId, request.modelVersion);
  if (!model) throw new RangeError(`tenant ${request.tenantId} has no strategy model v${request.modelVersion}: train one with ados learn train`);
  const runs = await loggedRuns(db, request.tenantId);
  assertEnoughRuns(runs);
  const actions = Object.keys(model.weights);
  const greedy = (run: LoggedRun) => ({ [greedyAction(model.weights, run.state!, actions)]: 1 });
  const shadow = drEstimate(runs, greedy, [...new Set([...actions, ...runs.map((r) => r.arm)])]);
  const rewards = runs.map((r) => r.reward);
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const sd = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, rewards.length - 1));
  const half = (Z_95 * sd) / Math.sqrt(rewards.length);
  return judgePromotion(shadow, { value: mean, low: mean - half, high: mean + half, n: rewards.length }, request.margin);
}

