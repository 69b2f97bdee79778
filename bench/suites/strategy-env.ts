/**
 * A synthetic contextual environment for strategy learning (the benchmark and the regret test): contexts drawn like
 * real delivery runs' (bandit.ts contextVector), each arm's expected reward linear in the context with hidden
 * weights (around BASE_REWARD), plus Gaussian noise. Seeded: the same seed gives the same contexts, weights and noise.
 */
import { contextVector, GOAL_TYPES, LEVELS, type Goal } from '../../shared/contract/learning/strategy/bandit';
import { gaussian, seededRandom } from '../../shared/node/learning/transfer/random';

/**
 * Every arm's expected reward is this plus its weights times the context: rewards around those of runs that succeed
 * at some cost (bandit.ts rewardOf), so a relative error is measured against values of that size, not near zero.
 */
export const BASE_REWARD = 0.5;

export interface SyntheticRound {
  context: number[];
  /** The goal the context came from (the tabular Q-learner's state). */
  goal: Goal;
  /** Expected reward of each arm at this context. */
  expected: number[];
}

export class SyntheticStrategyEnv {
  private readonly random: () => number;
  private readonly normal: () => number;
  /** Hidden weights, per arm. */
  readonly weights: number[][];

  constructor(
    readonly arms: number,
    seed: number,
    readonly noise = 0.1,
  ) {
    this.random = seededRandom(seed);
    this.normal = gaussian(this.random);
    this.weights = Array.from({ length: arms }, () => Array.from({ length: 10 }, () => (this.random() * 2 - 1) * 0.25));
  }

  /** The next run's context and every arm's expected reward there. */
  next(): SyntheticRound {
    const r = this.random;
    const pick = <T>(values: readonly T[]) => values[Math.floor(r() * values.length)];
    const goal: Goal = { type: pick(GOAL_TYPES), complexity: pick(LEVELS), risk: pick(LEVELS), maxCost: Math.floor(r() * 400) };
    const context = contextVector(goal, r(), new Date(Math.floor(r() * 86_400_000)));
    const expected = this.weights.map((w) => BASE_REWARD + w.reduce((s, wi, i) => s + wi * context[i], 0));
    return { context, goal, expected };
  }

  /** A noisy observed reward of arm `arm` in this round. */
  reward(round: SyntheticRound, arm: number): number {
    return round.expected[arm] + this.noise * this.normal();
  }
}
