/**
 * Promoting a tenant's shadow model to live (README, "Strategy learning"): the `strategyPromotion` workflow's
 * contract and its pure rules. A model is promoted only when its off-policy estimate beats the live policy by a
 * margin at a confidence bound, and then only after a human approves at the shared approval gate; once live, it is
 * watched for its next runs and rolled back automatically when their mean reward falls below the pre-promotion level.
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { approvalPolicySchema, type ApprovalGateSnapshot } from '../../approval';
import { durationSchema } from '../../duration';
import { TENANT_ID_PATTERN } from '../../workflow-ids';

/** An estimate with its 95 % interval. */
export interface IntervalEstimate {
  value: number;
  low: number;
  high: number;
  n: number;
}

export const DEFAULT_PROMOTION_MARGIN = 0.05;
export const DEFAULT_WATCH_RUNS = 20;
export const DEFAULT_WATCH_CHECKS_PER_RUN = 500;

export const strategyPromotionInputSchema = z.strictObject({
  tenantId: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id: lowercase letters, digits and "_" (no dash)'),
  modelVersion: z.number({ message: 'must be a model version (ados learn show lists the shadow model)' }).int('must be a whole number').min(1, 'must be at least 1'),
  requestedBy: z.string().min(1, 'say who asks for the promotion (--as <user>)'),
  approval: approvalPolicySchema,
  /** How much the model's lower bound must exceed the live policy's mean reward. */
  margin: z.number({ message: 'must be a number' }).min(0, 'must be zero or more').max(1, 'must be at most 1').default(DEFAULT_PROMOTION_MARGIN),
  /** The live runs after promotion whose mean reward decides between keeping and rolling back. */
  watchRuns: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(DEFAULT_WATCH_RUNS),
  /** How often the watch counts the model's rewarded runs. */
  checkEvery: durationSchema.default('1h'),
  /** Checks one run of the workflow makes before it continues as new (a long watch keeps its histories short). */
  watchChecksPerRun: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000').default(DEFAULT_WATCH_CHECKS_PER_RUN),
  /** Set by the workflow itself when a watch continues as new: where the previous run stood (plain JSON). */
  carried: z
    .strictObject({
      chainIndex: z.number().int().min(1),
      baseline: z.number(),
      evaluation: z.custom<PromotionEvaluation>((value) => typeof value === 'object' && value !== null && 'shadow' in value && 'live' in value, 'must be the evaluation of the first run'),
      checks: z.number().int().min(0),
    })
    .optional(),
});
export type StrategyPromotionInput = z.input<typeof strategyPromotionInputSchema>;
export type StrategyPromotion = z.output<typeof strategyPromotionInputSchema>;

/** `learning-strategy-promotion-<tenant>-v<version>`: one promotion per model version. */
export function strategyPromotionWorkflowId(tenantId: string, modelVersion: number): string {
  return `learning-strategy-promotion-${tenantId}-v${modelVersion}`;
}

/** The tenant and model version of a promotion's workflow ID, or undefined for any other ID. */
export function parseStrategyPromotionWorkflowId(workflowId: string): { tenantId: string; modelVersion: number } | undefined {
  const match = /^learning-strategy-promotion-([a-z0-9][a-z0-9_]{0,62})-v([1-9][0-9]*)$/.exec(workflowId);
  return match ? { tenantId: match[1], modelVersion: Number(match[2]) } : undefined;
}

/** What the evaluation found. */
export interface PromotionEvaluation {
  shadow: IntervalEstimate;
  live: IntervalEstimate;
  margin: number;
  /** shadow.low − (live.value + margin): promotion needs it ≥ 0. */
  lead: number;
  better: boolean;
}

/** The model beats live when its lower confidence bound clears live's mean reward plus the margin. */
export function judgePromotion(shadow: IntervalEstimate, live: IntervalEstimate, margin: number): PromotionEvaluation {
  const lead = shadow.low - (live.value + margin);
  return { shadow, live, margin, lead, better: lead >= 0 };
}

/** What the watch has seen of the live model's runs. */
export interface WatchCount {
  runs: number;
  meanReward?: number;
}

/**
 * After `watchRuns` rewarded runs: keep the model when their mean reward is at least the pre-promotion level
 * (`baseline`), roll it back otherwise; before that, keep watching.
 */
export function judgeWatch(count: WatchCount, watchRuns: number, baseline: number): 'watch' | 'keep' | 'rollback' {
  if (count.runs < watchRuns || count.meanReward === undefined) return 'watch';
  return count.meanReward >= baseline ? 'keep' : 'rollback';
}

export const PROMOTION_OUTCOMES = ['not_better', 'rejected', 'approval_expired', 'kept', 'rolled_back'] as const;
export type PromotionOutcome = (typeof PROMOTION_OUTCOMES)[number];

export interface StrategyPromotionResult {
  workflowId: string;
  outcome: PromotionOutcome;
  evaluation: PromotionEvaluation;
  /** The live mean reward before promotion (the rollback threshold). */
  baseline?: number;
  watched?: WatchCount;
}

export const PROMOTION_STAGES = ['evaluating', 'awaiting_approval', 'watching', 'finished'] as const;
export type PromotionStage = (typeof PROMOTION_STAGES)[number];

export interface StrategyPromotionStatus {
  stage: PromotionStage;
  /** Runs of this workflow so far minus one (continue-as-new during the watch). */
  chainIndex?: number;
  /** Checks of the watch over the whole chain. */
  checks?: number;
  approval?: ApprovalGateSnapshot;
  evaluation?: PromotionEvaluation;
  watched?: WatchCount;
  outcome?: PromotionOutcome;
}

export const strategyPromotionStatusQuery = defineQuery<StrategyPromotionStatus>('strategyPromotionStatus');

/** The promotion activities the workflow calls (activities/learning/strategy/promotion-activities.ts). */
export interface StrategyPromotionActivities {
  recordPromotionStarted(record: { workflowId: string; tenantId: string; requestedBy: string; input: unknown; auditKey: string; event: string; detail: unknown; workflowRunId?: string; historyEventId?: number }): Promise<void>;
  evaluateStrategyPromotion(request: { tenantId: string; modelVersion: number; margin: number }): Promise<PromotionEvaluation>;
  promoteStrategyModel(request: { tenantId: string; modelVersion: number; workflowId: string; baseline: number }): Promise<void>;
  countLiveModelRuns(request: { tenantId: string; modelVersion: number }): Promise<WatchCount>;
  /** kept: the model stays live; rolled_back: it is retired and the bandit chooses again. */
  closeStrategyPromotion(request: { tenantId: string; modelVersion: number; status: 'kept' | 'rolled_back'; watched: WatchCount }): Promise<void>;
  recordPromotionFinished(record: { workflowId: string; tenantId: string; status: string; result: unknown; auditKey: string; event: string; detail: unknown; workflowRunId?: string; historyEventId?: number }): Promise<void>;
}
