/**
 * Training the shadow (CQL) models as a workflow (README, "Strategy learning"): `strategyTraining` trains the named
 * tenants' models, or (none named: what its Schedule starts) every tenant with enough rewarded runs since its last
 * model, one heartbeating, idempotent activity per tenant.
 */
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../workflow-ids';

/** The Schedule's ID; its workflows are `learning-strategy-training-<scheduled time>`. */
export const STRATEGY_TRAINING_SCHEDULE_ID = 'learning-strategy-training';
export const STRATEGY_TRAINING_ID_PREFIX = 'learning-strategy-training';

/** `learning-strategy-training-<tenant>-<ms>`: one on-demand training (`ados learn train`). */
export function strategyTrainingWorkflowId(tenantId: string, atMs: number): string {
  return `${STRATEGY_TRAINING_ID_PREFIX}-${tenantId}-${atMs}`;
}

export const strategyTrainingInputSchema = z.strictObject({
  /** The tenants to train; absent: every tenant with enough rewarded runs and some since its newest model. */
  tenantIds: z.array(z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id: lowercase letters, digits and "_" (no dash)')).min(1, 'name at least one tenant, or leave tenantIds out for all').max(1000).optional(),
});
export type StrategyTrainingInput = z.input<typeof strategyTrainingInputSchema>;

/** What training a tenant did: a new model, or nothing (no rewarded run since its newest model; too few runs). */
export interface TrainedModel {
  tenantId: string;
  outcome: 'trained' | 'unchanged' | 'too_few_runs';
  version?: number;
  runs: number;
  /** Why nothing was trained. */
  reason?: string;
}

export interface StrategyTrainingResult {
  workflowId: string;
  models: TrainedModel[];
}

/** What a training attempt heartbeats, and a retried attempt resumes from (the same runs: deterministic training). */
export interface TrainingCheckpoint {
  tenantId: string;
  runs: number;
  epoch: number;
  weights: Record<string, number[]>;
}

/** The training activities (activities/learning/strategy/strategy-activities.ts), ordinary ones on the control queue. */
export interface StrategyTrainingActivities {
  listStrategyTrainingTenants(): Promise<string[]>;
  /** Idempotent on `trainingKey`: a retry returns the model its earlier attempt stored. */
  trainStrategyShadowModel(request: { tenantId: string; trainingKey: string }): Promise<TrainedModel>;
}
