/**
 * Disjoint LinUCB (Li et al., 2010) on ml-matrix: one ridge regression per arm over the run's context x.
 *
 *   A_a = I + Σ x xᵀ    b_a = Σ r x    θ_a = A_a⁻¹ b_a
 *   score_a(x) = θ_aᵀ x + α √(xᵀ A_a⁻¹ x)
 *
 * A⁻¹ is kept beside A and updated with each reward by Sherman–Morrison
 * (A + xxᵀ)⁻¹ = A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x), so a selection is a few matrix-vector products and no inverse.
 * The policy plays the best score, and with probability ε an arm drawn uniformly instead, so every arm keeps a known
 * non-zero propensity (what the off-policy simulator weighs logged runs by). Pure: no database, no clock; the
 * randomness is a function passed in.
 */
import { Matrix } from 'ml-matrix';
import type { ArmScore } from '../../../contract/learning/strategy/bandit';

/** One arm's statistics, as stored. */
export interface ArmState {
  arm: string;
  /** d×d, as rows. */
  a: number[][];
  /** A⁻¹, d×d, as rows. */
  aInverse: number[][];
  b: number[];
  pulls: number;
  rewardSum: number;
}

/** A fresh arm: A = A⁻¹ = I, b = 0. */
export function initialArm(arm: string, dimension: number): ArmState {
  const identity = Matrix.eye(dimension).to2DArray();
  return { arm, a: identity, aInverse: identity.map((row) => [...row]), b: new Array<number>(dimension).fill(0), pulls: 0, rewardSum: 0 };
}

/** θ = A⁻¹b, the arm's ridge estimate. */
export function armTheta(state: ArmState): number[] {
  return new Matrix(state.aInverse).mmul(Matrix.columnVector(state.b)).getColumn(0);
}

/** The score of each arm at context x (plain loops over A⁻¹: this runs on every selection). */
export function scoreArms(states: readonly ArmState[], x: readonly number[], alpha: number): ArmScore[] {
  return states.map((state) => {
    let estimate = 0;
    let variance = 0;
    for (let i = 0; i < x.length; i++) {
      const row = state.aInverse[i];
      let thetaI = 0;
      let rowDotX = 0;
      for (let j = 0; j < x.length; j++) {
        thetaI += row[j] * state.b[j];
        rowDotX += row[j] * x[j];
      }
      estimate += thetaI * x[i];
      variance += x[i] * rowDotX;
    }
    const bonus = alpha * Math.sqrt(Math.max(0, variance));
    return { arm: state.arm, estimate, bonus, score: estimate + bonus };
  });
}

/** The arm with the best score (the first of equals, so the order of the arm set breaks ties). */
export function bestArm(scores: readonly ArmScore[]): string {
  let best = scores[0];
  for (const s of scores) if (s.score > best.score) best = s;
  return best.arm;
}

/** The probability ε-greedy over these scores plays `arm`. */
export function propensityOf(scores: readonly ArmScore[], arm: string, epsilon: number): number {
  const uniform = epsilon / scores.length;
  return arm === bestArm(scores) ? 1 - epsilon + uniform : uniform;
}

/** A choice and its propensity; `random` returns a number in [0, 1). */
export function chooseArm(scores: readonly ArmScore[], epsilon: number, random: () => number): { arm: string; propensity: number } {
  const arm = random() < epsilon ? scores[Math.min(scores.length - 1, Math.floor(random() * scores.length))].arm : bestArm(scores);
  return { arm, propensity: propensityOf(scores, arm, epsilon) };
}

/** The arm after one observed reward r at context x: A += xxᵀ, A⁻¹ by Sherman–Morrison, b += r·x. */
export function updateArm(state: ArmState, x: readonly number[], reward: number): ArmState {
  const column = Matrix.columnVector([...x]);
  const a = new Matrix(state.a).add(column.mmul(column.transpose())).to2DArray();
  const aInverse = new Matrix(state.aInverse);
  const u = aInverse.mmul(column);
  const denominator = 1 + column.transpose().mmul(u).get(0, 0);
  const nextInverse = aInverse.sub(u.mmul(u.transpose()).div(denominator)).to2DArray();
  const b = state.b.map((value, i) => value + reward * x[i]);
  return { arm: state.arm, a, aInverse: nextInverse, b, pulls: state.pulls + 1, rewardSum: state.rewardSum + reward };
}

/**
 * The arm after `weight` pseudo-observations of reward `mean` at x (a warm start): A += w·xxᵀ, b += w·mean·x, i.e.
 * one update with √w·x and reward √w·mean. Pulls and the reward sum stay the tenant's own.
 */
export function addPrior(state: ArmState, x: readonly number[], mean: number, weight: number): ArmState {
  if (weight <= 0) return state;
  const root = Math.sqrt(weight);
  const updated = updateArm(state, x.map((v) => v * root), mean * root);
  return { ...updated, pulls: state.pulls, rewardSum: state.rewardSum };
}

/**
 * An in-memory LinUCB policy (the benchmark and the regret test drive it directly; the activities persist the same
 * ArmState per tenant).
 */
export class LinUcb {
  private readonly states: Map<string, ArmState>;

  constructor(
    arms: readonly string[],
    dimension: number,
    private readonly alpha: number,
  ) {
    this.states = new Map(arms.map((arm) => [arm, initialArm(arm, dimension)]));
  }

  scores(x: readonly number[]): ArmScore[] {
    return scoreArms([...this.states.values()], x, this.alpha);
  }

  select(x: readonly number[]): string {
    return bestArm(this.scores(x));
  }

  update(arm: string, x: readonly number[], reward: number): void {
    this.states.set(arm, updateArm(this.states.get(arm)!, x, reward));
  }

  state(arm: string): ArmState {
    return this.states.get(arm)!;
  }
}
