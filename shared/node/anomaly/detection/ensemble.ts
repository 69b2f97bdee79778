import { z } from 'zod';
import { type EnsembleConfig, ensembleConfigSchema, STATISTICAL_DETECTORS, type StatisticalDetector } from '../../../contract/anomaly/detection';
import { formatIssues, issuesFromZod } from '../../../contract/validation';
import { IsolationForestDetector, isolationForestStateSchema } from './isolation-forest';
import { MahalanobisDetector, mahalanobisStateSchema } from './mahalanobis';
import { RobustZDetector, robustZStateSchema } from './robust-z';
import { RuleEngine, type RuleEngineState, ruleEngineStateSchema } from './rules';

/** One sample of a metric: `ts` in epoch milliseconds. */
export interface Sample {
  ts: number;
  value: number;
}

/**
 * A sample with its scores: `detectors` holds each enabled detector's score in [0, 1) and 1 for each rule that fired
 * (`rule:<name>`); `flagged` names the detectors at or above the threshold and the rules that fired; `score` is the
 * vote (1 when a rule fired), and `anomalous` whether it reached the threshold or a rule fired.
 */
export interface ScoredSample {
  ts: number;
  value: number;
  score: number;
  detectors: Record<string, number>;
  flagged: string[];
  anomalous: boolean;
}

/**
 * A detector's state beside the parameters it was learnt with. Under other parameters it starts afresh, so its state
 * is checked against the detector's own schema only when it is used.
 */
const keyed = z.object({ parameters: z.string(), state: z.unknown() }).strict();

export const ensembleStateSchema = z
  .object({
    version: z.literal(1),
    lastTs: z.number().optional(),
    isolationForest: keyed.optional(),
    robustZ: keyed.optional(),
    mahalanobis: keyed.optional(),
    rules: keyed,
  })
  .strict();

const detectorStateSchemas = { isolationForest: isolationForestStateSchema, robustZ: robustZStateSchema, mahalanobis: mahalanobisStateSchema, rules: ruleEngineStateSchema };

/** The saved state of `name` when it was learnt with `parameters`, checked; undefined to start afresh. */
function restoredState(name: keyof typeof detectorStateSchemas, saved: { parameters: string; state?: unknown } | undefined, parameters: string): unknown {
  if (saved?.parameters !== parameters) return undefined;
  const parsed = detectorStateSchemas[name].safeParse(saved.state);
  if (!parsed.success) throw new Error(`invalid detector state of ${name} (not a snapshot() of this version; drop it to start afresh):\n${formatIssues(issuesFromZod(parsed.error))}`);
  return parsed.data;
}
/** Everything an ensemble has learnt, as plain JSON: what a monitor checkpoints and restores. */
export type EnsembleState = z.output<typeof ensembleStateSchema>;

export interface Ensemble {
  /** Scores the next sample (timestamps must increase); only it and the samples before it count. */
  push(sample: Sample): ScoredSample;
  snapshot(): EnsembleState;
}

interface StreamingDetector {
  push(value: number): number;
  snapshot(): unknown;
}

const constructors: Record<StatisticalDetector, (config: EnsembleConfig, state: unknown) => StreamingDetector> = {
  isolationForest: (config, state) => new IsolationForestDetector(config.detectors.isolationForest, state as never),
  robustZ: (config, state) => new RobustZDetector(config.detectors.robustZ, state as never),
  mahalanobis: (config, state) => new MahalanobisDetector(config.detectors.mahalanobis, state as never),
};

/** The k-th largest of `scores` (k ≥ 1), 0 when there are fewer. */
function kthLargest(scores: readonly number[], k: number): number {
  if (scores.length < k) return 0;
  return [...scores].sort((a, b) => b - a)[k - 1];
}

class DetectorEnsemble implements Ensemble {
  private readonly detectors: Array<{ name: StatisticalDetector; weight: number; detector: StreamingDetector; parameters: string }>;
  private readonly rules: RuleEngine;
  private readonly rulesParameters: string;
  private lastTs?: number;

  constructor(
    private readonly config: EnsembleConfig,
    state?: EnsembleState,
  ) {
    this.detectors = STATISTICAL_DETECTORS.filter((name) => config.detectors[name].enabled).map((name) => {
      const parameters = JSON.stringify(config.detectors[name]);
      const detector = constructors[name](config, restoredState(name, state?.[name], parameters));
      return { name, weight: config.detectors[name].weight, detector, parameters };
    });
    this.rulesParameters = JSON.stringify(config.rules);
    this.rules = new RuleEngine(config.rules, restoredState('rules', state?.rules, this.rulesParameters) as RuleEngineState | undefined);
    this.lastTs = state?.lastTs;
  }

  push(sample: Sample): ScoredSample {
    const { ts, value } = sample;
    if (!Number.isFinite(ts)) throw new Error(`sample.ts: ${String(ts)} is not a time: give epoch milliseconds`);
    if (!Number.isFinite(value)) throw new Error(`sample.value: ${String(value)} at ts ${ts} is not a finite number: drop or repair the sample`);
    if (this.lastTs !== undefined && ts <= this.lastTs) {
      throw new Error(`sample.ts: ${ts} is not after the previous sample's ${this.lastTs}: push samples in time order, each timestamp once`);
    }
    this.lastTs = ts;
    const detectors: Record<string, number> = {};
    const flagged: string[] = [];
    const scores: number[] = [];
    let weighted = 0;
    let weights = 0;
    for (const { name, weight, detector } of this.detectors) {
      const score = detector.push(value);
      detectors[name] = score;
      scores.push(score);
      weighted += weight * score;
      weights += weight;
      if (score >= this.config.threshold) flagged.push(name);
    }
    const vote = this.config.vote.kind === 'k-of-n' ? kthLargest(scores, this.config.vote.k) : weights > 0 ? weighted / weights : 0;
    const fired = this.rules.push(ts, value);
    for (const rule of fired) {
      detectors[`rule:${rule}`] = 1;
      flagged.push(`rule:${rule}`);
    }
    const score = fired.length > 0 ? 1 : vote;
    return { ts, value, score, detectors, flagged, anomalous: fired.length > 0 || vote >= this.config.threshold };
  }

  snapshot(): EnsembleState {
    const state: EnsembleState = { version: 1, rules: { parameters: this.rulesParameters, state: this.rules.snapshot() } };
    if (this.lastTs !== undefined) state.lastTs = this.lastTs;
    for (const { name, detector, parameters } of this.detectors) {
      (state as Record<string, unknown>)[name] = { parameters, state: detector.snapshot() };
    }
    return state;
  }
}

/**
 * The detectors of `config` (validated here; the message names the field), continuing from `state` when given: a
 * restored ensemble scores the next samples exactly as the one that took the snapshot would have.
 */
export function createEnsemble(config: EnsembleConfig, state?: EnsembleState): Ensemble {
  const parsedConfig = ensembleConfigSchema.safeParse(config);
  if (!parsedConfig.success) throw new Error(`invalid detector configuration:\n${formatIssues(issuesFromZod(parsedConfig.error))}`);
  let restored: EnsembleState | undefined;
  if (state !== undefined) {
    const parsedState = ensembleStateSchema.safeParse(state);
    if (!parsedState.success) {
      throw new Error(`invalid detector state (not a snapshot() of this version; drop it to start afresh):\n${formatIssues(issuesFromZod(parsedState.error))}`);
    }
    restored = parsedState.data;
  }
  return new DetectorEnsemble(parsedConfig.data, restored);
}
