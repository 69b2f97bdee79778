import { bestArm, chooseArm, initialArm, LinUcb, propensityOf, scoreArms, updateArm } from '../../shared/node/learning/strategy/linucb';
import { SyntheticStrategyEnv } from '../../bench/suites/strategy-env';

describe('LinUCB update equations', () => {
  test('match a hand-computed two-step example (d = 2, α = 1)', () => {
    // A = I + x1 x1ᵀ = [[2,0],[0,1]], b = 1·x1 = [1,0] for x1 = [1,0], r1 = 1.
    const first = updateArm(initialArm('a', 2), [1, 0], 1);
    expect(first.a).toEqual([[2, 0], [0, 1]]);
    expect(first.b).toEqual([1, 0]);
    const [atX1] = scoreArms([first], [1, 0], 1);
    // θ = A⁻¹b = [0.5, 0]; xᵀA⁻¹x = 0.5.
    expect(atX1.estimate).toBeCloseTo(0.5, 12);
    expect(atX1.bonus).toBeCloseTo(Math.sqrt(0.5), 12);
    // x2 = [1,1], r2 = 0: A = [[3,1],[1,2]], A⁻¹ = [[2,-1],[-1,3]]/5, θ = [0.4, -0.2], xᵀA⁻¹x = 3/5.
    const second = updateArm(first, [1, 1], 0);
    expect(second.a).toEqual([[3, 1], [1, 2]]);
    // Sherman–Morrison kept A⁻¹ equal to the inverse of A.
    const expectedInverse = [[0.4, -0.2], [-0.2, 0.6]];
    second.aInverse.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expectedInverse[i][j], 12)));
    expect(second.pulls).toBe(2);
    const [atX2] = scoreArms([second], [1, 1], 2);
    expect(atX2.estimate).toBeCloseTo(0.2, 12);
    expect(atX2.bonus).toBeCloseTo(2 * Math.sqrt(0.6), 12);
    expect(atX2.score).toBeCloseTo(0.2 + 2 * Math.sqrt(0.6), 12);
  });

  test('ε-greedy propensities sum to one and the greedy arm holds 1 − ε + ε/K', () => {
    const scores = [
      { arm: 'a', estimate: 0, bonus: 0, score: 0.1 },
      { arm: 'b', estimate: 0, bonus: 0, score: 0.3 },
      { arm: 'c', estimate: 0, bonus: 0, score: 0.2 },
    ];
    expect(bestArm(scores)).toBe('b');
    const total = scores.reduce((s, x) => s + propensityOf(scores, x.arm, 0.1), 0);
    expect(total).toBeCloseTo(1, 12);
    expect(propensityOf(scores, 'b', 0.1)).toBeCloseTo(0.9 + 0.1 / 3, 12);
    // A draw under ε explores uniformly; one above it plays the best arm.
    const draws = [0.01, 0.99];
    expect(chooseArm(scores, 0.1, () => draws.shift()!)).toEqual({ arm: 'c', propensity: 0.1 / 3 });
    expect(chooseArm(scores, 0.1, () => 0.5)).toEqual({ arm: 'b', propensity: 0.9 + 0.1 / 3 });
  });
});

describe('LinUCB regret', () => {
  test('grows sublinearly on a synthetic contextual environment', () => {
    const env = new SyntheticStrategyEnv(5, 7);
    const arms = ['0', '1', '2', '3', '4'];
    const policy = new LinUcb(arms, 10, 0.5);
    const cumulative: number[] = [];
    let regret = 0;
    for (let t = 0; t < 3000; t++) {
      const round = env.next();
      const arm = Number(policy.select(round.context));
      policy.update(String(arm), round.context, env.reward(round, arm));
      regret += Math.max(...round.expected) - round.expected[arm];
      cumulative.push(regret);
    }
    const firstThird = cumulative[999];
    const lastThird = cumulative[2999] - cumulative[1999];
    // Sublinear: each later stretch of rounds adds less regret than the first one did.
    expect(lastThird).toBeLessThan(firstThird * 0.5);
  });
});
