/**
 * What the strategy bandit sees and is paid (README, "Strategy learning"): the 10-dim context of a delivery run, the
 * reward of its outcome, and the messages of its selection and reward activities. Pure: the workflow, the
 * activities, the CLI and the benchmark share it.
 */
import { z } from 'zod';
import type { AppliedStrategy } from './strategy';

export const GOAL_TYPES = ['analyze', 'build', 'deploy', 'fix', 'migrate'] as const;
export type GoalType = (typeof GOAL_TYPES)[number];
export const LEVELS = ['low', 'medium', 'high'] as const;
export type Level = (typeof LEVELS)[number];

/** The goal of a plan, as the delivery input validates it. */
export interface Goal {
  type: GoalType;
  complexity: Level;
  risk: Level;
  maxCost: number;
}

/** Names of the context's dimensions, in order. */
export const CONTEXT_FEATURES = [
  ...GOAL_TYPES.map((type) => `goal:${type}`),
  'complexity',
  'costConstraint',
  'risk',
  'tenantSuccessRate',
  'timeOfDay',
] as const;
export const CONTEXT_DIMENSION = CONTEXT_FEATURES.length;
/** Bumped when the context's layout changes: bandit state of another layout is not reused. */
export const CONTEXT_VERSION = 1;

/** A maxCost of this many units gives a cost constraint of 0.5 (tighter budgets approach 1, looser ones 0). */
export const COST_SCALE = 100;

const levelValue = (level: Level) => LEVELS.indexOf(level) / (LEVELS.length - 1);

/**
 * The context vector: goal type one-hot (5); complexity and risk as 0, 0.5, 1; cost constraint
 * 1 / (1 + maxCost / COST_SCALE) (1 = no budget); the tenant's historical success rate in [0, 1]; time of day as the
 * fraction of the UTC day elapsed at `at` (workflow time, never the worker's clock).
 */
export function contextVector(goal: Goal, tenantSuccessRate: number, at: Date): number[] {
  const dayMs = 24 * 3600 * 1000;
  const sinceMidnight = ((at.getTime() % dayMs) + dayMs) % dayMs;
  return [
    ...GOAL_TYPES.map((type) => (type === goal.type ? 1 : 0)),
    levelValue(goal.complexity),
    1 / (1 + goal.maxCost / COST_SCALE),
    levelValue(goal.risk),
    Math.min(1, Math.max(0, tenantSuccessRate)),
    sinceMidnight / dayMs,
  ];
}

/** The measured outcome of a run the reward is computed from. */
export interface RunMeasurement {
  succeeded: boolean;
  /** Workflow time from the strategy's selection to the run's end. */
  durationSeconds: number;
  /** Sum of the cost its tasks reported (`ctx.reportCost`), in the tenant's unit. */
  reportedCost: number;
  /** Escalation-ladder rungs taken (swap, mutate, human) over the run's tasks. */
  escalations: number;
}

/** The weights of the reward formula, documented in the README. */
export const REWARD_WEIGHTS = {
  /** A run that succeeds instantly earns 1; one that takes DURATION_SCALE_SECONDS earns 0.5 + 0.5 / e. */
  durationScaleSeconds: 600,
  /** Spending the whole maxCost costs this much (more is capped at it). */
  cost: 0.3,
  /** Per escalation, times the goal's risk weight, capped at MAX_COUNTED_ESCALATIONS escalations. */
  riskByLevel: { low: 0.05, medium: 0.1, high: 0.2 } satisfies Record<Level, number>,
  maxCountedEscalations: 5,
};

/** The reward and its parts. */
export interface Reward {
  reward: number;
  quality: number;
  cost: number;
  riskPenalty: number;
}

/**
 * reward = quality − cost − riskPenalty, where
 *   quality     = succeeded ? 0.5 + 0.5·exp(−duration / 600 s) : 0
 *   cost        = 0.3 · min(1, reportedCost / maxCost)          (maxCost 0: 0.3 as soon as anything is reported)
 *   riskPenalty = riskWeight(goal.risk) · min(escalations, 5)   (riskWeight low 0.05, medium 0.1, high 0.2)
 * so a reward lies in [−1.3, 1].
 */
export function rewardOf(measurement: RunMeasurement, goal: Pick<Goal, 'risk' | 'maxCost'>): Reward {
  const w = REWARD_WEIGHTS;
  const quality = measurement.succeeded ? 0.5 + 0.5 * Math.exp(-Math.max(0, measurement.durationSeconds) / w.durationScaleSeconds) : 0;
  const spent = goal.maxCost > 0 ? Math.min(1, measurement.reportedCost / goal.maxCost) : measurement.reportedCost > 0 ? 1 : 0;
  const cost = w.cost * spent;
  const riskPenalty = w.riskByLevel[goal.risk] * Math.min(measurement.escalations, w.maxCountedEscalations);
  return { reward: quality - cost - riskPenalty, quality, cost, riskPenalty };
}

/** One arm's score at a context: the estimate θᵀx and the confidence bonus α·√(xᵀA⁻¹x). */
export interface ArmScore {
  arm: string;
  estimate: number;
  bonus: number;
  score: number;
}

/** What the selection activity is asked. */
export const strategySelectionRequestSchema = z.strictObject({
  tenantId: z.string().min(1, 'name the tenant'),
  workflowId: z.string().min(1, 'name the run (its workflow id)'),
  goal: z.strictObject({
    type: z.enum(GOAL_TYPES),
    complexity: z.enum(LEVELS),
    risk: z.enum(LEVELS),
    maxCost: z.number().nonnegative('must be zero or more'),
  }),
  plannedParallelism: z.number().int().min(1, 'must be at least 1'),
  /** Workflow time of the selection, ISO-8601. */
  at: z.iso.datetime({ message: 'must be an ISO-8601 time, e.g. 2030-01-01T12:00:00Z' }),
  /** The shadow policy's extra state (tasks, environments, ...; see offline-rl.ts). */
  plan: z.strictObject({
    tasks: z.number().int().min(1),
    environments: z.number().int().min(1),
    includesProd: z.boolean(),
    alternatesShare: z.number().min(0).max(1),
  }),
});
export type StrategySelectionRequest = z.input<typeof strategySelectionRequestSchema>;

/** The selection, as recorded in the run's history and in strategy_decisions. */
export interface StrategyDecision {
  arm: string;
  /** Who chose: `linucb`, or `cql-v<version>` while a promoted model is live. */
  policy: string;
  strategy: AppliedStrategy;
  context: number[];
  scores: ArmScore[];
  /** Probability the policy gave the chosen arm (ε-greedy over the UCB scores): what off-policy estimates weigh by. */
  propensity: number;
  /** The bandit state's version the scores came from. */
  stateVersion: number;
  /** What the offline policy (shadow mode) would have chosen; recorded, never acted on. */
  shadow?: { arm: string; q: Record<string, number>; modelVersion: number };
}

/** What the reward activity is given once the run has ended. */
export const strategyRewardRequestSchema = z.strictObject({
  tenantId: z.string().min(1, 'name the tenant'),
  workflowId: z.string().min(1, 'name the run (its workflow id)'),
  succeeded: z.boolean(),
  durationSeconds: z.number().nonnegative('must be zero or more'),
  escalations: z.number().int().nonnegative('must be zero or more'),
});
export type StrategyRewardRequest = z.input<typeof strategyRewardRequestSchema>;

/** What the reward activity did: `applied` is false when this run's reward was already applied (a retry). */
export interface StrategyRewardResult {
  applied: boolean;
  reward: Reward & { measurement: RunMeasurement };
}

/** The strategy activities a delivery run calls (activities/learning/strategy serves them on the control worker). */
export interface StrategyClientActivities {
  selectDeliveryStrategy(request: StrategySelectionRequest): Promise<StrategyDecision>;
  recordStrategyReward(request: StrategyRewardRequest): Promise<StrategyRewardResult>;
}
