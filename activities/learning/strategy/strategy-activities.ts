import { ApplicationFailure, Context } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { StrategyDecision, StrategyRewardRequest, StrategyRewardResult, StrategySelectionRequest } from '../../../shared/contract/learning/strategy/bandit';
import { formatIssues, issuesFromZod } from '../../../shared/contract/validation';
import type { Db } from '../../../shared/node/db';
import type { StrategyTrainingActivities, TrainedModel, TrainingCheckpoint } from '../../../shared/contract/learning/strategy/training';
import { rewardRun, selectStrategy, tenantsToTrain, trainShadowModel } from '../../../shared/node/learning/strategy/service';

/**
 * Invalid input, and an estimate asked of too few runs (RangeError), are the caller's to fix: no retry helps.
 * Anything else (the database) retries.
 */
export async function refusingInvalid<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ZodError) {
      throw ApplicationFailure.nonRetryable(`invalid ${what}:\n${formatIssues(issuesFromZod(error))}`, 'InvalidStrategyRequest');
    }
    if (error instanceof RangeError) throw ApplicationFailure.nonRetryable(error.message, 'StrategyRequestRefused');
    throw error;
  }
}

/** The strategy bandit's activities (README, "Strategy learning"), on the control queue. */
export function createStrategyActivities(db: Db) {
  return {
    /** Chooses a delivery run's strategy; the decision (arm, scores, propensity) is its result, kept in the history. */
    selectDeliveryStrategy(request: StrategySelectionRequest): Promise<StrategyDecision> {
      return refusingInvalid('strategy selection request', () => selectStrategy(db, request));
    },
    /** Applies a finished run's reward to the bandit; a retry finds it applied and changes nothing. */
    recordStrategyReward(request: StrategyRewardRequest): Promise<StrategyRewardResult> {
      return refusingInvalid('strategy reward request', () => rewardRun(db, request));
    },
    ...createStrategyTrainingActivities(db),
  };
}

/** The strategyTraining workflow's activities (README, "Strategy learning"), on the control queue. */
export function createStrategyTrainingActivities(db: Db): StrategyTrainingActivities {
  return {
    /** Every tenant with enough rewarded runs and some its newest model has not seen. */
    listStrategyTrainingTenants(): Promise<string[]> {
      return tenantsToTrain(db);
    },
    /**
     * Trains one tenant's shadow model, heartbeating a checkpoint (epoch, weights) every few epochs; a retried attempt
     * resumes from the last one, and one whose earlier attempt stored the model returns it (trainingKey). Too few
     * runs is an outcome, not a failure: a schedule's other tenants still train.
     */
    async trainStrategyShadowModel(request): Promise<TrainedModel> {
      const context = Context.current();
      const resume = context.info.heartbeatDetails as TrainingCheckpoint | undefined;
      try {
        return await trainShadowModel(db, request.tenantId, {
          trainingKey: request.trainingKey,
          skipUnchanged: true,
          resume,
          onCheckpoint: (checkpoint) => context.heartbeat(checkpoint),
        });
      } catch (error) {
        if (error instanceof RangeError) return { tenantId: request.tenantId, outcome: 'too_few_runs', runs: 0, reason: error.message };
        throw error;
      }
    },
  };
}

export type StrategyActivities = ReturnType<typeof createStrategyActivities>;
