/**
 * The configuration of a metric's anomaly detectors (shared/node/anomaly/detection): which streaming detectors run and
 * with what parameters, how their scores are combined into one vote, the threshold the vote is held against (the
 * figure false-positive feedback moves), how near detections merge into one anomaly, and the metric's rules
 * (threshold, rate of change, flatline, missing data). Parsing is idempotent: the output parses again to itself, so a
 * configuration can travel through Temporal payloads and be validated at each end. Bundle-safe.
 */
import { z } from 'zod';
import { durationSchema, durationToMs } from '../duration';
import { issuesFromZod, type Validated } from '../validation';

const whole = (min: number, max: number) =>
  z
    .number('must be a number')
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
const positive = z.number('must be a number').positive('must be greater than zero').finite('must be finite');
const weight = positive.max(1000, 'must be at most 1000');

/**
 * Every statistical detector maps its statistic x ≥ 0 to a score x / (x + scale) in [0, 1): `scale` is the statistic
 * at which the score is 0.5, so one threshold means "as unusual as each detector's scale" for all of them.
 */
const scaleOf = (fallback: number) => positive.max(1e9, 'must be at most 1e9').default(fallback);

/** An isolation forest over sliding-window features (value, step, deviation from the window's mean, window spread). */
export const isolationForestConfigSchema = z
  .object({
    enabled: z.boolean('must be true or false').default(true),
    weight: weight.default(0.25),
    /** Trees in the forest. */
    trees: whole(1, 500).default(32),
    /** Points each tree is grown on (drawn from the reference without replacement). */
    sampleSize: whole(8, 4096).default(128),
    /** Samples each feature window spans. */
    featureWindow: whole(2, 1000).default(12),
    /** The rolling reference: the most recent past feature vectors a refit draws from. */
    reference: whole(16, 100_000).default(2016),
    /** Samples between refits (each refit uses only samples already scored). */
    refitEvery: whole(1, 100_000).default(576),
    /** Samples seen before the first fit; the score is 0 until then. */
    warmup: whole(16, 100_000).default(288),
    /** Seed of the forest's random draws: the same seed and series give the same scores. */
    seed: whole(0, 0xffffffff).default(1),
    /** Isolation score (0.5 = ordinary) above which the statistic starts: x = max(0, s − offset). */
    offset: z.number('must be a number').min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.5),
    /** Isolation score above the offset at which the detector scores 0.5. */
    scale: scaleOf(0.1),
  })
  .strict();

/** A robust z-score: distance from the median of a rolling baseline, in MADs (×1.4826, comparable to σ). */
export const robustZConfigSchema = z
  .object({
    enabled: z.boolean('must be true or false').default(true),
    weight: weight.default(20),
    /** Samples in the rolling baseline (before the scored sample). */
    baseline: whole(8, 100_000).default(1008),
    /**
     * Samples in one season (288: a day of 5-minute samples): the value minus the one a season earlier is scored
     * against past such differences too, and the larger z counts. 0: no season.
     */
    season: whole(0, 100_000).default(288),
    /** Samples in the baseline before it scores; 0 until then. */
    warmup: whole(8, 100_000).default(96),
    /**
     * The least spread, as a fraction of the baseline's range (max − min), so a baseline that mostly repeats one value
     * does not make its ordinary blips thousands of spreads out, nor a spiky one's ordinary spikes. 0.2 sits in the
     * middle of the range (0.15 to 0.3) that scored best on the NAB subset.
     */
    minSpreadRatio: z.number('must be a number').min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.2),
    /** Robust z at which the detector scores 0.5. */
    scale: scaleOf(5),
  })
  .strict();

/** Mahalanobis distance of the window of the last `window` values from a rolling reference of past windows. */
export const mahalanobisConfigSchema = z
  .object({
    enabled: z.boolean('must be true or false').default(true),
    weight: weight.default(1),
    /** Values in each window vector (its dimension). */
    window: whole(2, 32).default(8),
    /** Past window vectors the mean and covariance are fitted on. */
    reference: whole(16, 100_000).default(1008),
    /** Samples between refits. */
    refitEvery: whole(1, 100_000).default(96),
    /** Samples seen before the first fit; 0 until then. */
    warmup: whole(16, 100_000).default(288),
    /** Ridge added to the covariance's diagonal, as a fraction of its mean variance, so flat data stays invertible. */
    ridge: z.number('must be a number').min(0, 'must be at least 0').max(10, 'must be at most 10').default(0.1),
    /** Mahalanobis distance at which the detector scores 0.5. */
    scale: scaleOf(8),
  })
  .strict();

/** `k-of-n`: anomalous when at least k detectors score ≥ threshold; `weighted`: when the weighted mean score does. */
export const voteSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('k-of-n'), k: whole(1, 3).default(2) }).strict(),
    z.object({ kind: z.literal('weighted') }).strict(),
  ],
  { error: 'must be { "kind": "k-of-n", "k": 2 } or { "kind": "weighted" }' },
);
export type Vote = z.output<typeof voteSchema>;

/** A rule's name: what flagged lists (`rule:<name>`) and messages call it. */
const ruleName = z
  .string('must be a name')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be letters, digits, "_", "." or "-" (up to 64), starting with a letter or digit');

/** Fires when the value is above `above` or below `below` for `for` consecutive samples. */
const thresholdRule = z
  .object({
    name: ruleName,
    type: z.literal('threshold'),
    above: z.number('must be a number').finite('must be finite').optional(),
    below: z.number('must be a number').finite('must be finite').optional(),
    for: whole(1, 100_000).default(1),
  })
  .strict()
  .refine((rule) => rule.above !== undefined || rule.below !== undefined, {
    message: 'needs "above" or "below" (or both), e.g. above: 90',
    path: ['above'],
  });

/** Fires when the value changes faster than `maxChange` per `per` between two consecutive samples. */
const rateOfChangeRule = z
  .object({
    name: ruleName,
    type: z.literal('rate-of-change'),
    maxChange: positive,
    per: durationSchema.default('1m'),
  })
  .strict();

/** Fires while the value has stayed within `tolerance` of where it was for at least `for`. */
const flatlineRule = z
  .object({
    name: ruleName,
    type: z.literal('flatline'),
    for: durationSchema,
    tolerance: z.number('must be a number').min(0, 'must be at least 0').finite('must be finite').default(0),
  })
  .strict();

/** Fires on the first sample after a gap longer than `after` since the one before it. */
const missingDataRule = z
  .object({
    name: ruleName,
    type: z.literal('missing-data'),
    after: durationSchema,
  })
  .strict();

export const RULE_TYPES = ['threshold', 'rate-of-change', 'flatline', 'missing-data'] as const;

export const ruleSchema = z.discriminatedUnion('type', [thresholdRule, rateOfChangeRule, flatlineRule, missingDataRule], {
  error: `must have a type: ${RULE_TYPES.join(', ')}`,
});
export type Rule = z.output<typeof ruleSchema>;

const uniqueRuleNames = (rules: readonly Rule[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${rule.name}" is used by an earlier rule: give each rule its own name` });
    seen.add(rule.name);
  });
};

/** A metric's rules file: `rules: [ … ]`. */
export const ruleSetSchema = z
  .object({ rules: z.array(ruleSchema, 'must be a list of rules').superRefine(uniqueRuleNames).default([]) })
  .strict();
export type RuleSet = z.output<typeof ruleSetSchema>;

export const STATISTICAL_DETECTORS = ['isolationForest', 'robustZ', 'mahalanobis'] as const;
export type StatisticalDetector = (typeof STATISTICAL_DETECTORS)[number];

export const DEFAULT_THRESHOLD = 0.5;
export const DEFAULT_MERGE_GAP = '30m';

export const ensembleConfigSchema = z
  .object({
    detectors: z
      .object({
        isolationForest: isolationForestConfigSchema.default(() => isolationForestConfigSchema.parse({})),
        robustZ: robustZConfigSchema.default(() => robustZConfigSchema.parse({})),
        mahalanobis: mahalanobisConfigSchema.default(() => mahalanobisConfigSchema.parse({})),
      })
      .strict()
      // Defaults are made afresh on each parse, so changing one configuration never changes the next one's defaults.
      .default(() => ({
        isolationForest: isolationForestConfigSchema.parse({}),
        robustZ: robustZConfigSchema.parse({}),
        mahalanobis: mahalanobisConfigSchema.parse({}),
      })),
    /**
     * Weighted by default: on the NAB subset (bench/results/anomaly-detection.md) the robust z carries most of the
     * signal, so it decides (weight 20) and the Mahalanobis distance (1) and the forest (0.25) only move samples near
     * the threshold; an even vote, or k-of-n, lets the other two's false alarms through.
     */
    vote: voteSchema.default(() => ({ kind: 'weighted' as const })),
    /** The score a sample's vote must reach to be anomalous; false-positive feedback raises it. */
    threshold: z.number('must be a number').gt(0, 'must be greater than 0').lt(1, 'must be less than 1').default(DEFAULT_THRESHOLD),
    /** Detections at most this far apart in time are one anomaly. */
    mergeGap: durationSchema.default(DEFAULT_MERGE_GAP),
    /** The metric's rules: any rule that fires makes the sample anomalous, whatever the vote. */
    rules: z.array(ruleSchema, 'must be a list of rules').superRefine(uniqueRuleNames).default(() => []),
  })
  .strict()
  .superRefine((config, ctx) => {
    const enabled = STATISTICAL_DETECTORS.filter((name) => config.detectors[name].enabled);
    if (enabled.length === 0 && config.rules.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['detectors'], message: 'enable at least one detector or give at least one rule' });
    }
    if (config.vote.kind === 'k-of-n' && enabled.length > 0 && config.vote.k > enabled.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['vote', 'k'],
        message: `${config.vote.k} is more than the ${enabled.length} enabled detector(s) (${enabled.join(', ')}): lower k or enable more detectors`,
      });
    }
  });

export type EnsembleConfigInput = z.input<typeof ensembleConfigSchema>;
export type EnsembleConfig = z.output<typeof ensembleConfigSchema>;

/** Validates a detector configuration; every issue names its field (`detectors.robustZ.baseline: must be at least 8`). */
export function validateEnsembleConfig(raw: unknown): Validated<EnsembleConfig> {
  const parsed = ensembleConfigSchema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: issuesFromZod(parsed.error) };
}

/** The configuration with every default filled in. */
export function defaultEnsembleConfig(): EnsembleConfig {
  return ensembleConfigSchema.parse({});
}

/** The configuration's merge gap in milliseconds (what createGrouper takes). */
export function mergeGapMs(config: Pick<EnsembleConfig, 'mergeGap'>): number {
  return durationToMs(config.mergeGap);
}
