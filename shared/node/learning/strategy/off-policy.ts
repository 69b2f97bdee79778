/**
 * Off-policy evaluation of a strategy policy on logged runs: what would the mean reward have been had the runs
 * followed `target` instead of the policy that logged them?
 *
 *   IPS  V̂ = (1/n) Σ π(aᵢ|xᵢ)/pᵢ · rᵢ
 *   DR   V̂ = (1/n) Σ [ Σ_b π(b|xᵢ) r̂(xᵢ,b) + π(aᵢ|xᵢ)/pᵢ · (rᵢ − r̂(xᵢ,aᵢ)) ]
 *
 * pᵢ is the logged propensity; r̂ a ridge regression of reward on context per arm, cross-fitted over two folds (each
 * half is scored by the model fitted on the other half, so r̂ never saw the reward it corrects). Both are unbiased
 * when the propensities are right; DR has lower variance when r̂ is good. Confidence intervals: mean ± z·sd/√n over
 * the per-run terms (normal approximation). Pure.
 */
import { Matrix, solve } from 'ml-matrix';

/** One logged run. */
export interface LoggedRun {
  context: number[];
  /** The shadow state (offline-rl.ts), for policies that read more than the context. */
  state?: number[];
  arm: string;
  reward: number;
  propensity: number;
}

/** The probability the evaluated policy plays each arm on a logged run (by its context, or its state). */
export type TargetPolicy = (run: LoggedRun) => Record<string, number>;

export interface Estimate {
  value: number;
  low: number;
  high: number;
  n: number;
}

/** Fewest logged runs an estimate is made from: below it the interval says nothing useful. */
export const MIN_LOGGED_RUNS = 30;
/** 95 % two-sided normal quantile. */
export const Z_95 = 1.959964;

/** A policy that always plays `arm`. */
export function alwaysArm(arm: string): TargetPolicy {
  return () => ({ [arm]: 1 });
}

function estimate(terms: readonly number[], z: number): Estimate {
  const n = terms.length;
  const value = terms.reduce((s, t) => s + t, 0) / n;
  const variance = n > 1 ? terms.reduce((s, t) => s + (t - value) ** 2, 0) / (n - 1) : 0;
  const half = z * Math.sqrt(variance / n);
  return { value, low: value - half, high: value + half, n };
}

/** Refuses an estimate from too few runs, naming how many there are and how many are needed. */
export function assertEnoughRuns(runs: readonly LoggedRun[], minimum = MIN_LOGGED_RUNS): void {
  if (runs.length < minimum) {
    throw new RangeError(`only ${runs.length} logged run(s) with a reward; an off-policy estimate needs at least ${minimum}: let more runs finish, then ask again`);
  }
}

/** The inverse-propensity estimate of `target`'s mean reward. */
export function ipsEstimate(runs: readonly LoggedRun[], target: TargetPolicy, z = Z_95): Estimate {
  assertEnoughRuns(runs);
  return estimate(runs.map((run) => ((target(run)[run.arm] ?? 0) / run.propensity) * run.reward), z);
}

/** A ridge regression of reward on [1, context] per arm (λ = 1); arms without data predict 0. */
export function fitRewardModel(runs: readonly LoggedRun[], arms: readonly string[], lambda = 1): (context: readonly number[], arm: string) => number {
  const weights = new Map<string, number[]>();
  for (const arm of arms) {
    const mine = runs.filter((run) => run.arm === arm);
    if (mine.length === 0) continue;
    const x = new Matrix(mine.map((run) => [1, ...run.context]));
    const y = Matrix.columnVector(mine.map((run) => run.reward));
    const xt = x.transpose();
    const gram = xt.mmul(x).add(Matrix.eye(x.columns).mul(lambda));
    weights.set(arm, solve(gram, xt.mmul(y)).getColumn(0));
  }
  return (context, arm) => {
    const w = weights.get(arm);
    return w ? w[0] + context.reduce((s, c, i) => s + c * w[i + 1], 0) : 0;
  };
}

/** The doubly-robust estimate of `target`'s mean reward (two-fold cross-fitted reward model). */
export function drEstimate(runs: readonly LoggedRun[], target: TargetPolicy, arms: readonly string[], z = Z_95): Estimate {
  assertEnoughRuns(runs);
  const folds = [runs.filter((_, i) => i % 2 === 0), runs.filter((_, i) => i % 2 === 1)];
  const models = [fitRewardModel(folds[1], arms), fitRewardModel(folds[0], arms)];
  const terms = runs.map((run, i) => {
    const model = models[i % 2];
    const pi = target(run);
    const direct = Object.entries(pi).reduce((s, [arm, p]) => s + p * model(run.context, arm), 0);
    return direct + ((pi[run.arm] ?? 0) / run.propensity) * (run.reward - model(run.context, run.arm));
  });
  return estimate(terms, z);
}
