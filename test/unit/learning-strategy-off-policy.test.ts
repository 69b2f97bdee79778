import { alwaysArm, drEstimate, ipsEstimate, MIN_LOGGED_RUNS, type LoggedRun } from '../../shared/node/learning/strategy/off-policy';
import { SyntheticStrategyEnv } from '../../bench/suites/strategy-env';
import { seededRandom } from '../../shared/node/learning/transfer/random';

const ARMS = ['0', '1', '2'];
/** A known logging policy: arm 0 with 0.6, arms 1 and 2 with 0.2 each, whatever the context. */
const LOGGING = [0.6, 0.2, 0.2];

function logRuns(seed: number, n: number): { runs: LoggedRun[]; truth: number } {
  const env = new SyntheticStrategyEnv(ARMS.length, seed);
  const random = seededRandom(seed + 1000);
  const runs: LoggedRun[] = [];
  let truth = 0;
  for (let i = 0; i < n; i++) {
    const round = env.next();
    const draw = random();
    const arm = draw < LOGGING[0] ? 0 : draw < LOGGING[0] + LOGGING[1] ? 1 : 2;
    runs.push({ context: round.context, arm: String(arm), reward: env.reward(round, arm), propensity: LOGGING[arm] });
    truth += round.expected[2];
  }
  return { runs, truth: truth / n };
}

describe('off-policy estimates of "always arm 2" from a known logging policy', () => {
  const trials = Array.from({ length: 40 }, (_, i) => logRuns(100 + i, 400));
  const ips = trials.map(({ runs }) => ipsEstimate(runs, alwaysArm('2')).value);
  const dr = trials.map(({ runs }) => drEstimate(runs, alwaysArm('2'), ARMS).value);
  const truths = trials.map((t) => t.truth);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const mse = (xs: number[]) => mean(xs.map((x, i) => (x - truths[i]) ** 2));

  test('IPS is unbiased: its mean over many logs is the true value within the sampling error', () => {
    const errors = ips.map((x, i) => x - truths[i]);
    const sd = Math.sqrt(mean(errors.map((e) => e ** 2)));
    expect(Math.abs(mean(errors))).toBeLessThan((3 * sd) / Math.sqrt(errors.length));
  });

  test('DR is no worse than IPS (mean squared error)', () => {
    expect(mse(dr)).toBeLessThanOrEqual(mse(ips));
  });

  test('the intervals cover the truth for most logs', () => {
    const covered = trials.filter(({ runs, truth }) => {
      const e = drEstimate(runs, alwaysArm('2'), ARMS);
      return e.low <= truth && truth <= e.high;
    }).length;
    expect(covered / trials.length).toBeGreaterThan(0.8);
  });

  test('too few logged runs are refused with how many are needed', () => {
    const { runs } = logRuns(1, MIN_LOGGED_RUNS - 1);
    expect(() => ipsEstimate(runs, alwaysArm('0'))).toThrow(`only ${MIN_LOGGED_RUNS - 1} logged run(s) with a reward; an off-policy estimate needs at least ${MIN_LOGGED_RUNS}`);
  });
});
