import { ApplicationFailure } from '@temporalio/activity';
import { ZodError } from 'zod';
import type { StrategyDecision, StrategyRewardRequest, StrategyRewardResult, StrategySelectionRequest } from '../../../shared/contract/learning/strategy/bandit';
import { formatIssues, issuesFromZod } from '../../../shared/contract/validation';
import type { Db } from '../../../shared/node/db';
import { rewardRun, selectStrategy } from '../../../shared/node/learning/strategy/service';

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
  };
}

export type StrategyActivities = ReturnType<typeof createStrategyActivities>;
