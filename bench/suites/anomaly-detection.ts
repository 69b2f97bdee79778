/**
 * `npm run bench -- anomaly-detection`: every detector of shared/node/anomaly/detection alone, their ensemble (the
 * default configuration), and NAB's windowed-Gaussian baseline, on every file of the labeled NAB subset
 * (../shared/data/nab, or ADOS_NAB_DATA_DIR), scored by our implementation of NAB (bench/lib/nab-evaluation.ts):
 * normalized NAB score under the standard profile (raw rows as NAB scores them, and the alarms ADOS raises),
 * precision, recall and F1 with NAB's window convention, false alarms per anomaly-free file, detection latency, and
 * samples scored per second (one core, this process). Parameters are the configuration's defaults, the same for
 * every file; only the corpus threshold is optimized, as NAB optimizes it. The two isolation forests on npm
 * (devDependencies of this bench only) run in our forest's place, on the same features, reference and refit schedule,
 * and are scored the same way, so the forest is chosen by measured quality. Nothing here asserts.
 */
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { IsolationForest as NpmIsolationForest } from 'isolation-forest';
import { defaultEnsembleConfig, type EnsembleConfig, mergeGapMs, STATISTICAL_DETECTORS } from '../../shared/contract/anomaly/detection';
import { loadNabDataDir } from '../../shared/node/config';
import { createEnsemble } from '../../shared/node/anomaly/detection';
import { IsolationForestDetector, type IsolationForestConfig } from '../../shared/node/anomaly/detection/isolation-forest';
import { SeededRandom } from '../../shared/node/anomaly/detection/random';
import { squash } from '../../shared/node/anomaly/detection/score';
import { type NabSeries, readNabCorpus } from '../../shared/node/anomaly/nab/corpus';
import { windowedGaussianScores } from '../../shared/node/anomaly/nab/windowed-gaussian';
import type { BenchMetric, BenchReport, BenchSuite } from '../harness';
import { type DetectorEvaluation, evaluate, prepareCorpus } from '../lib/nab-evaluation';

/** The default configuration with only `name` enabled, voting on it alone. */
function alone(name: (typeof STATISTICAL_DETECTORS)[number]): EnsembleConfig {
  const config = defaultEnsembleConfig();
  for (const other of STATISTICAL_DETECTORS) config.detectors[other].enabled = other === name;
  config.vote = { kind: 'k-of-n', k: 1 };
  return config;
}

/** Points per tree of the larger forest measured beside the default (which grows each tree on 128). */
const LARGE_FOREST_SAMPLE = 1024;

/** `config` with its forest growing each tree on LARGE_FOREST_SAMPLE points. */
function largeForest(config: EnsembleConfig): EnsembleConfig {
  config.detectors.isolationForest.sampleSize = LARGE_FOREST_SAMPLE;
  return config;
}

/** This process's CPU time (user + system) in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Something that scores a series one sample at a time (a fresh one per series). */
type SampleScorer = (sample: { ts: number; value: number }) => number;

/**
 * Scores every series with a fresh scorer from `make`. `cpuSeconds` is this process's CPU time for the scoring, what
 * one core spends whatever else shares the machine; `seconds` the wall time.
 */
function scoreEach(make: () => SampleScorer, series: NabSeries[]): { scores: number[][]; seconds: number; cpuSeconds: number } {
  const started = process.hrtime.bigint();
  const cpuStarted = cpuSeconds();
  const scores = series.map((s) => {
    const score = make();
    const scores: number[] = [];
    s.timestamps.forEach((ts, i) => {
      // Two files repeat a timestamp (a daylight-saving artefact); the repeat keeps the score of the row before it.
      scores.push(i > 0 && ts <= s.timestamps[i - 1] ? scores[i - 1] : score({ ts, value: s.values[i] }));
    });
    return scores;
  });
  return { scores, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: cpuSeconds() - cpuStarted };
}

const ensembleScorer = (config: EnsembleConfig) => () => {
  const ensemble = createEnsemble(config);
  return (sample: { ts: number; value: number }) => ensemble.push(sample).score;
};

/** A packaged forest behind one interface: fitted on feature rows, answering the isolation score s of one row. */
interface PackagedForest {
  fit(rows: number[][]): void;
  isolation(x: number[]): number;
}

/** ml-isolation-forest ships no types: its API as its source defines it. */
interface MlIsolationForest {
  train(rows: number[][]): void;
  predict(rows: number[][]): number[];
}
const { IsolationForest: MlForest } = createRequire(__filename)('ml-isolation-forest') as { IsolationForest: new (options: { nEstimators: number }) => MlIsolationForest };

/** Both packages draw from Math.random: it is a seeded generator while they run, so a run repeats. */
function seeded<T>(random: SeededRandom, run: () => T): T {
  const original = Math.random;
  Math.random = () => random.next();
  try {
    return run();
  } finally {
    Math.random = original;
  }
}

const PACKAGED_FORESTS: Record<string, (config: IsolationForestConfig, random: SeededRandom) => PackagedForest> = {
  // new IsolationForest(trees, subsamplingSize).fit(rows): its README's use, with our tree count and sample size.
  'isolation-forest@0.0.9': (config, random) => {
    let forest: NpmIsolationForest | undefined;
    const asObject = (x: number[]) => ({ value: x[0], step: x[1], deviation: x[2], spread: x[3] });
    return {
      fit: (rows) => seeded(random, () => {
        forest = new NpmIsolationForest(config.trees, config.sampleSize);
        forest.fit(rows.map(asObject));
      }),
      isolation: (x) => seeded(random, () => forest!.predict([asObject(x)])[0]),
    };
  },
  // new IsolationForest({ nEstimators }).train(rows): every tree on the rows given (it draws no subsample itself).
  'ml-isolation-forest@0.1.0': (config, random) => {
    let forest: MlIsolationForest | undefined;
    return {
      fit: (rows) => seeded(random, () => {
        forest = new MlForest({ nEstimators: config.trees });
        forest.train(rows);
      }),
      isolation: (x) => seeded(random, () => forest!.predict([x])[0]),
    };
  },
};

/**
 * A packaged forest in our forest's place: the same features (our detector computes them; its own one-tree forest's
 * scores are not used), the same rolling reference, warm-up and refit schedule, the same mapping of s to a score.
 */
const packagedScorer = (make: (config: IsolationForestConfig, random: SeededRandom) => PackagedForest) => () => {
  const config = defaultEnsembleConfig().detectors.isolationForest;
  const featureSource = new IsolationForestDetector({ ...config, trees: 1 });
  const forest = make(config, new SeededRandom(config.seed));
  const rows: number[][] = [];
  let seen = 0;
  let sinceFit = 0;
  let fitted = false;
  return ({ value }: { ts: number; value: number }) => {
    const x = featureSource.features(value);
    const score = fitted ? squash(forest.isolation(x) - config.offset, config.scale) : 0;
    featureSource.push(value);
    rows.push(x);
    if (rows.length > config.reference) rows.shift();
    seen += 1;
    sinceFit += 1;
    if (fitted ? sinceFit >= config.refitEvery : seen >= config.warmup) {
      forest.fit(rows.slice());
      fitted = true;
      sinceFit = 0;
    }
    return score;
  };
};

export const suite: BenchSuite = {
  name: 'anomaly-detection',
  description: 'Detectors, their ensemble and NAB\'s windowed-Gaussian baseline on the labeled NAB subset, scored by our NAB implementation',
  async run(): Promise<BenchReport> {
    const dataDir = loadNabDataDir();
    const series = readNabCorpus(dataDir);
    const corpus = prepareCorpus(series);
    const samples = series.reduce((n, s) => n + s.values.length, 0);
    const ensembleConfig = defaultEnsembleConfig();
    const gap = mergeGapMs(ensembleConfig);
    const results: Array<{ name: string; evaluation: DetectorEvaluation; throughput?: { cpu: number; wall: number } }> = [];
    const scorers: Array<[string, () => SampleScorer]> = [
      ...STATISTICAL_DETECTORS.map((d) => [d, ensembleScorer(alone(d))] as [string, () => SampleScorer]),
      ['ensemble', ensembleScorer(ensembleConfig)],
      [`isolationForest (sampleSize ${LARGE_FOREST_SAMPLE})`, ensembleScorer(largeForest(alone('isolationForest')))],
      [`ensemble (forest sampleSize ${LARGE_FOREST_SAMPLE})`, ensembleScorer(largeForest(defaultEnsembleConfig()))],
      ...Object.entries(PACKAGED_FORESTS).map(([name, make]) => [name, packagedScorer(make)] as [string, () => SampleScorer]),
    ];
    for (const [name, make] of scorers) {
      scoreEach(make, series.slice(0, 3)); // warm the JIT before the timed run
      const { scores, seconds, cpuSeconds: cpu } = scoreEach(make, series);
      results.push({ name, evaluation: evaluate(corpus, scores, gap), throughput: { cpu: samples / cpu, wall: samples / seconds } });
    }
    const baselineScores = series.map((s) => windowedGaussianScores(s.values));
    const baseline = evaluate(corpus, baselineScores, gap);
    results.push({ name: 'windowedGaussian', evaluation: baseline });
    const ensemble = results.find((r) => r.name === 'ensemble')!;

    const metrics: BenchMetric[] = [];
    for (const { name, evaluation: e, throughput } of results) {
      metrics.push(
        { name: `${name}: NAB score, standard profile (raw rows)`, value: e.rawNab, unit: 'points', ...(name === 'ensemble' ? { target: { op: '>=', value: 60 } } : {}) },
        { name: `${name}: NAB score, standard profile (alarms)`, value: e.alarmNab, unit: 'points', ...(name === 'ensemble' ? { target: { op: '>=', value: 60 } } : {}) },
        { name: `${name}: precision (alarms)`, value: e.precision, unit: 'ratio' },
        { name: `${name}: recall (alarms)`, value: e.recall, unit: 'ratio' },
        { name: `${name}: F1 (alarms)`, value: e.f1, unit: 'ratio' },
        {
          name: `${name}: false alarms on the worst anomaly-free file`,
          value: e.maxFalseAlarmsAnomalyFree,
          unit: 'alarms',
          ...(name === 'ensemble' ? { target: { op: '<=', value: 1 } } : {}),
        },
        { name: `${name}: false alarms per anomaly-free file (mean)`, value: e.meanFalseAlarmsAnomalyFree, unit: 'alarms' },
        { name: `${name}: detection latency, window start → first alarm (median)`, value: e.medianLatencyMinutes, unit: 'minutes' },
        { name: `${name}: threshold (raw rows)`, value: e.rawThreshold, unit: 'score' },
        { name: `${name}: threshold (alarms)`, value: e.alarmThreshold, unit: 'score' },
      );
      if (throughput !== undefined) {
        metrics.push(
          { name: `${name}: samples scored per CPU second (one core)`, value: Math.round(throughput.cpu), unit: 'samples/s', ...(name === 'ensemble' ? { target: { op: '>=', value: 50_000 } } : {}) },
          { name: `${name}: samples scored per wall-clock second`, value: Math.round(throughput.wall), unit: 'samples/s' },
        );
      }
    }
    const ratio = (a: number, b: number) => (b > 0 ? a / b : a > 0 ? Infinity : 0);
    metrics.push(
      { name: 'ensemble F1 / baseline F1 (alarms)', value: ratio(ensemble.evaluation.f1, baseline.f1), unit: '×', target: { op: '>=', value: 1.5 } },
      { name: 'ensemble NAB / baseline NAB (raw rows)', value: ratio(ensemble.evaluation.rawNab, baseline.rawNab), unit: '×', target: { op: '>=', value: 1.5 } },
      { name: 'ensemble NAB / baseline NAB (alarms)', value: ratio(ensemble.evaluation.alarmNab, baseline.alarmNab), unit: '×', target: { op: '>=', value: 1.5 } },
    );
    const perFile = (name: string) => results.find((r) => r.name === name)!.evaluation.alarmsPerFile;
    const forests = results.filter((r) => r.name.startsWith('isolationForest') || r.name in PACKAGED_FORESTS);
    const largeEnsemble = results.find((r) => r.name.startsWith('ensemble ('))!;
    const quality = (r: (typeof results)[number]) => `${r.name} NAB ${r.evaluation.alarmNab.toFixed(1)} (alarms) / ${r.evaluation.rawNab.toFixed(1)} (raw rows), F1 ${r.evaluation.f1.toFixed(3)}`;
    const best = forests.reduce((a, b) => (b.evaluation.alarmNab > a.evaluation.alarmNab ? b : a));
    return {
      benchmark: 'anomaly-detection',
      description: suite.description,
      metrics,
      notes: [
        `${series.length} files, ${samples} samples, ${corpus.windowCount} labeled windows; null detector's total ${corpus.nullScore.toFixed(3)}.`,
        'Raw rows: every row with score ≥ threshold is a detection, as NAB scores a detector. Alarms: only the first row of each anomaly the grouper forms (merge gap of the default configuration) is one; this is what ADOS raises.',
        'Thresholds: one per detector for the whole corpus, the one with the best NAB total (NAB\'s optimizer); precision, recall, F1, false alarms and latency are counted on the alarms at the alarms\' threshold. Every other parameter is the default configuration, the same on every file.',
        'A ratio to a baseline that scores 0 or less is shown as Infinity (or 0).',
        `Throughput: one thread scores every file in turn; per CPU second is this process's CPU time (what one core spends, however loaded the machine: load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores at the end of this run), per wall-clock second is elapsed time.`,
        `Isolation forests compared (the same features, reference of ${defaultEnsembleConfig().detectors.isolationForest.reference}, warm-up, refit schedule and score mapping; only the forest differs; each package's Math.random seeded while it runs): ${forests.map(quality).join('; ')}. Best alone by the alarms' NAB score: ${best.name}. In the ensemble (forest weight ${ensembleConfig.detectors.isolationForest.weight}) the larger forest scores NAB ${largeEnsemble.evaluation.alarmNab.toFixed(1)} (alarms), F1 ${largeEnsemble.evaluation.f1.toFixed(3)} against the default's ${ensemble.evaluation.alarmNab.toFixed(1)}, ${ensemble.evaluation.f1.toFixed(3)}, at ${Math.round(largeEnsemble.throughput!.cpu)} against ${Math.round(ensemble.throughput!.cpu)} samples per CPU second: ${largeEnsemble.evaluation.alarmNab > ensemble.evaluation.alarmNab ? 'the larger forest improves the ensemble (a case for raising the default)' : 'the larger forest does not improve the ensemble, which keeps our forest at its default size'}.`,
        'isolation-forest@0.0.9 draws a subsample per tree but grows every tree on the whole reference (its fit passes X, not the subsample, to each tree), to the height limit of the sample size; ml-isolation-forest@0.1.0 grows every tree on all the rows it is given, to depth ⌈log2 n⌉, and normalizes by c(n). Neither offers a way to save and restore a fitted forest, which a monitor\'s checkpoint needs, and both draw from Math.random.',
        'Two files repeat a timestamp (a daylight-saving artefact); the repeated row keeps the score of the row before it, as the detectors take each timestamp once.',
        `Ensemble alarms per file (tp/fp/fn): ${Object.entries(perFile('ensemble')).map(([f, c]) => `${f.split('/')[1]} ${c.tp}/${c.fp}/${c.fn}`).join(', ')}.`,
        `Baseline alarms per file (tp/fp/fn): ${Object.entries(perFile('windowedGaussian')).map(([f, c]) => `${f.split('/')[1]} ${c.tp}/${c.fp}/${c.fn}`).join(', ')}.`,
      ],
    };
  },
};
