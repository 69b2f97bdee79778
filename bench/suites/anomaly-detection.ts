/**
 * `npm run bench -- anomaly-detection`: every detector of shared/node/anomaly/detection alone, their ensemble (the
 * default configuration), and NAB's windowed-Gaussian baseline, on every file of the labeled NAB subset
 * (../shared/data/nab, or ADOS_NAB_DATA_DIR), scored by our implementation of NAB (bench/lib/nab-evaluation.ts):
 * normalized NAB score under the standard profile (raw rows as NAB scores them, and the alarms ADOS raises),
 * precision, recall and F1 with NAB's window convention, false alarms per anomaly-free file, detection latency, and
 * samples scored per second (one core, this process). Parameters are the configuration's defaults, the same for
 * every file; only the corpus threshold is optimized, as NAB optimizes it. Nothing here asserts.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { defaultEnsembleConfig, type EnsembleConfig, mergeGapMs, STATISTICAL_DETECTORS } from '../../shared/contract/anomaly/detection';
import { loadNabDataDir } from '../../shared/node/config';
import { createEnsemble } from '../../shared/node/anomaly/detection';
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

/** This process's CPU time (user + system) in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Scores every series with a fresh ensemble of `config`. `cpuSeconds` is this process's CPU time for the scoring, what
 * one core spends whatever else shares the machine; `seconds` the wall time.
 */
function scoreWith(config: EnsembleConfig, series: NabSeries[]): { scores: number[][]; seconds: number; cpuSeconds: number } {
  const started = process.hrtime.bigint();
  const cpuStarted = cpuSeconds();
  const scores = series.map((s) => {
    const ensemble = createEnsemble(config);
    const scores: number[] = [];
    s.timestamps.forEach((ts, i) => {
      // Two files repeat a timestamp (a daylight-saving artefact); the repeat keeps the score of the row before it.
      scores.push(i > 0 && ts <= s.timestamps[i - 1] ? scores[i - 1] : ensemble.push({ ts, value: s.values[i] }).score);
    });
    return scores;
  });
  return { scores, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: cpuSeconds() - cpuStarted };
}

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
    for (const [name, config] of [...STATISTICAL_DETECTORS.map((d) => [d, alone(d)] as const), ['ensemble', ensembleConfig] as const]) {
      scoreWith(config, series.slice(0, 3)); // warm the JIT before the timed run
      const { scores, seconds, cpuSeconds: cpu } = scoreWith(config, series);
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
        'Two files repeat a timestamp (a daylight-saving artefact); the repeated row keeps the score of the row before it, as the detectors take each timestamp once.',
        `Ensemble alarms per file (tp/fp/fn): ${Object.entries(perFile('ensemble')).map(([f, c]) => `${f.split('/')[1]} ${c.tp}/${c.fp}/${c.fn}`).join(', ')}.`,
        `Baseline alarms per file (tp/fp/fn): ${Object.entries(perFile('windowedGaussian')).map(([f, c]) => `${f.split('/')[1]} ${c.tp}/${c.fp}/${c.fn}`).join(', ')}.`,
      ],
    };
  },
};
