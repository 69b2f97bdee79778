/**
 * Strategy learning (issue 14, README "Strategy learning"), on the synthetic contextual environment of
 * strategy-env.ts (7 arms, the 10-dim delivery context, linear expected rewards, noise σ 0.1):
 *
 * - cumulative regret over 5,000 rounds of LinUCB (α 0.5), ε-greedy tabular Q-learning over (goal type, complexity,
 *   risk) with ε 0.1, learning rate 0.1 and an optimistic start (the approach of the system this replaces), uniform random, and the
 *   oracle (regret 0 by definition); LinUCB's growth exponent is the slope of log regret against log rounds over
 *   rounds 500-5,000 (below 1: sublinear). A PNG chart of the four curves goes beside the JSON.
 * - the doubly-robust estimate's relative error against the ground truth at 2,000 logged runs (logging policy: the
 *   ε-greedy LinUCB with ε 0.2, propensities as recorded), averaged over 10 logs and the 7 always-one-arm targets.
 * - selection latency: scoring 7 arms and choosing, per run, p95 over 2,000 selections (no database).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOAL_TYPES, LEVELS } from '../../shared/contract/learning/strategy/bandit';
import { chooseArm, LinUcb, scoreArms } from '../../shared/node/learning/strategy/linucb';
import { alwaysArm, drEstimate, type LoggedRun } from '../../shared/node/learning/strategy/off-policy';
import { RESULTS_DIR, type BenchSuite } from '../harness';
import { seededRandom } from '../../shared/node/learning/transfer/random';
import { SyntheticStrategyEnv } from './strategy-env';

const ARMS = 7;
const ROUNDS = 5000;
const LOGGED_RUNS = 2000;
const DR_LOGS = 10;
const ARM_NAMES = Array.from({ length: ARMS }, (_, i) => String(i));
type Policy = { select(round: ReturnType<SyntheticStrategyEnv['next']>): number; update(round: ReturnType<SyntheticStrategyEnv['next']>, arm: number, reward: number): void };

function linUcbPolicy(): Policy {
  const bandit = new LinUcb(ARM_NAMES, 10, 0.5);
  return { select: (round) => Number(bandit.select(round.context)), update: (round, arm, reward) => bandit.update(String(arm), round.context, reward) };
}

/** Tabular Q-learning over the discrete part of the context (45 states), ε-greedy, optimistic start (Q = 1). */
function epsilonGreedyQ(seed: number): Policy {
  const random = seededRandom(seed);
  const q = new Map<string, number[]>();
  const key = (round: ReturnType<SyntheticStrategyEnv['next']>) => `${GOAL_TYPES.indexOf(round.goal.type)}:${LEVELS.indexOf(round.goal.complexity)}:${LEVELS.indexOf(round.goal.risk)}`;
  const row = (k: string) => q.get(k) ?? q.set(k, new Array<number>(ARMS).fill(1)).get(k)!;
  return {
    select: (round) => {
      const values = row(key(round));
      return random() < 0.1 ? Math.floor(random() * ARMS) : values.indexOf(Math.max(...values));
    },
    update: (round, arm, reward) => {
      const values = row(key(round));
      values[arm] += 0.1 * (reward - values[arm]);
    },
  };
}

function randomPolicy(seed: number): Policy {
  const random = seededRandom(seed);
  return { select: () => Math.floor(random() * ARMS), update: () => undefined };
}

function oraclePolicy(): Policy {
  return { select: (round) => round.expected.indexOf(Math.max(...round.expected)), update: () => undefined };
}

/** Cumulative regret after each round (the same environment seed for every policy). */
function regretCurve(policy: Policy, seed: number): number[] {
  const env = new SyntheticStrategyEnv(ARMS, seed);
  const curve: number[] = [];
  let regret = 0;
  for (let t = 0; t < ROUNDS; t++) {
    const round = env.next();
    const arm = policy.select(round);
    policy.update(round, arm, env.reward(round, arm));
    regret += Math.max(...round.expected) - round.expected[arm];
    curve.push(regret);
  }
  return curve;
}

/** Least-squares slope of log regret on log round over rounds 500..ROUNDS. */
function growthExponent(curve: number[]): number {
  const points = curve.map((r, i) => [Math.log(i + 1), Math.log(Math.max(r, 1e-9))]).slice(499);
  const mx = points.reduce((s, p) => s + p[0], 0) / points.length;
  const my = points.reduce((s, p) => s + p[1], 0) / points.length;
  return points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
}

/** Mean relative error of DR against the truth of each always-one-arm target, over `logs` logs of LOGGED_RUNS runs. */
function drRelativeError(logs: number): number {
  const errors: number[] = [];
  for (let log = 0; log < logs; log++) {
    const env = new SyntheticStrategyEnv(ARMS, 500 + log);
    const random = seededRandom(900 + log);
    const logger = new LinUcb(ARM_NAMES, 10, 0.5);
    const runs: LoggedRun[] = [];
    const truth = new Array<number>(ARMS).fill(0);
    for (let i = 0; i < LOGGED_RUNS; i++) {
      const round = env.next();
      const { arm, propensity } = chooseArm(logger.scores(round.context), 0.2, random);
      const reward = env.reward(round, Number(arm));
      logger.update(arm, round.context, reward);
      runs.push({ context: round.context, arm, reward, propensity });
      round.expected.forEach((e, a) => (truth[a] += e / LOGGED_RUNS));
    }
    for (let a = 0; a < ARMS; a++) {
      const estimate = drEstimate(runs, alwaysArm(String(a)), ARM_NAMES).value;
      errors.push(Math.abs(estimate - truth[a]) / Math.abs(truth[a]));
    }
  }
  return errors.reduce((s, e) => s + e, 0) / errors.length;
}

function selectionLatencies(): number[] {
  const env = new SyntheticStrategyEnv(ARMS, 77);
  const bandit = new LinUcb(ARM_NAMES, 10, 1);
  const random = seededRandom(78);
  // Warm statistics, as a tenant's bandit after some runs.
  for (let t = 0; t < 300; t++) {
    const round = env.next();
    const arm = bandit.select(round.context);
    bandit.update(arm, round.context, env.reward(round, Number(arm)));
  }
  const states = ARM_NAMES.map((arm) => bandit.state(arm));
  const samples: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const { context } = env.next();
    const started = performance.now();
    chooseArm(scoreArms(states, context, 1), 0.05, random);
    samples.push(performance.now() - started);
  }
  return samples;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];

/** Renders the regret curves to a PNG headless: vega-lite → vega → SVG → resvg. */
async function renderChart(curves: Record<string, number[]>, file: string): Promise<void> {
  // Both are ES modules: a real dynamic import (TypeScript's CommonJS output would turn `import()` into require()).
  const esm = new Function('name', 'return import(name)') as (name: string) => Promise<any>;
  const [vegaLite, vega, { Resvg }] = await Promise.all([esm('vega-lite'), esm('vega'), import('@resvg/resvg-js')]);
  const values = Object.entries(curves).flatMap(([policy, curve]) => curve.filter((_, i) => i % 25 === 24).map((regret, i) => ({ policy, round: (i + 1) * 25, regret })));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Cumulative regret over ${ROUNDS} rounds (synthetic contextual environment, ${ARMS} arms)`,
    width: 640,
    height: 360,
    data: { values },
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'round', type: 'quantitative', title: 'round' },
      y: { field: 'regret', type: 'quantitative', title: 'cumulative regret' },
      color: { field: 'policy', type: 'nominal', title: 'policy' },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg: string = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  writeFileSync(file, png);
}

export const suite: BenchSuite = {
  name: 'strategy-learning',
  description: 'strategy bandit: regret of LinUCB vs ε-greedy Q-learning, random and oracle; DR estimate error; selection latency',
  async run() {
    const seed = 2026;
    const curves: Record<string, number[]> = {
      linucb: regretCurve(linUcbPolicy(), seed),
      'epsilon-greedy-q': regretCurve(epsilonGreedyQ(seed + 1), seed),
      random: regretCurve(randomPolicy(seed + 2), seed),
      oracle: regretCurve(oraclePolicy(), seed),
    };
    const final = (name: string) => curves[name][ROUNDS - 1];
    await renderChart(curves, join(RESULTS_DIR, 'strategy-learning.png'));
    const latencies = selectionLatencies();
    const drError = drRelativeError(DR_LOGS);
    return {
      benchmark: 'strategy-learning',
      description: this.description,
      metrics: [
        { name: 'LinUCB cumulative regret (5,000 rounds)', value: final('linucb'), unit: 'reward' },
        { name: 'ε-greedy Q-learning cumulative regret (5,000 rounds)', value: final('epsilon-greedy-q'), unit: 'reward' },
        { name: 'random cumulative regret (5,000 rounds)', value: final('random'), unit: 'reward' },
        { name: 'oracle cumulative regret (5,000 rounds)', value: final('oracle'), unit: 'reward' },
        { name: 'LinUCB regret / ε-greedy regret', value: final('linucb') / final('epsilon-greedy-q'), unit: 'ratio', target: { op: '<=', value: 0.5 } },
        { name: 'LinUCB regret growth exponent (log-log slope, rounds 500-5,000)', value: growthExponent(curves.linucb), unit: 'exponent', target: { op: '<=', value: 0.99 } },
        { name: 'DR relative error at 2,000 logged runs (mean of 7 targets × 10 logs)', value: drError, unit: 'ratio', target: { op: '<=', value: 0.05 } },
        { name: 'selection latency p50 (7 arms, no database)', value: percentile(latencies, 0.5), unit: 'ms' },
        { name: 'selection latency p95 (7 arms, no database)', value: percentile(latencies, 0.95), unit: 'ms', target: { op: '<=', value: 5 } },
      ],
      notes: [
        'Chart: bench/results/strategy-learning.png (cumulative regret of the four policies).',
        'Environment: bench/suites/strategy-env.ts, seeded; LinUCB α 0.5; ε-greedy Q-learning: tabular over (goal type, complexity, risk), ε 0.1, learning rate 0.1, Q starting at 1.',
      ],
      samples: { selectionLatencyMs: latencies },
    };
  },
};
