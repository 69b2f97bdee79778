/**
 * Seeded synthetic domains, so that tests and benchmarks can show promote, keep and revert on purpose. A base domain
 * has many labeled rows from a logistic "truth" over its features; a target derived from it has few training rows and
 * its own truth: close to the base's (related), drawn afresh (unrelated), or the base's negated (opposed). A target
 * also renames, drops, adds and rescales features, so that adaptation has mapping and scaling to do.
 */
import { gaussian, seededRandom } from './random';

export interface DomainData {
  name: string;
  featureNames: string[];
  features: number[][];
  labels: number[];
  /** The seed of the fixed train/holdout split, and the share of rows held out. */
  splitSeed: number;
  holdoutFraction: number;
  /** Where the rows came from, as recorded with the domain. */
  origin: Record<string, unknown>;
}

export type SyntheticRelation = 'base' | 'related' | 'unrelated' | 'opposed';

export interface SyntheticDomainSpec {
  name: string;
  relation: SyntheticRelation;
  /** The seed of the base truth every derived domain starts from. */
  baseSeed: number;
  /** This domain's own draws (rows, its truth's perturbation). */
  seed: number;
  rows: number;
  holdoutFraction: number;
}

/** The base domain's feature count. */
export const SYNTHETIC_FEATURES = 12;

/** How far a related domain's truth is from the base's, per weight (standard normal draws times this). */
const RELATED_SPREAD = 0.25;

/** The base truth: weights per base feature (f0 … f11). */
function baseTruth(baseSeed: number): number[] {
  const draw = gaussian(seededRandom(baseSeed));
  return Array.from({ length: SYNTHETIC_FEATURES }, () => 1.5 * draw());
}

/** A derived domain's features (the renamed ones as SYNTHETIC_FEATURE_MAP says): base features renamed in part, one dropped, one extra, two on another scale. */
function derivedFeatures(): Array<{ name: string; base?: number; scale: number }> {
  const features: Array<{ name: string; base?: number; scale: number }> = [];
  for (let i = 0; i < SYNTHETIC_FEATURES - 1; i++) features.push({ name: i < 2 ? `renamed_f${i}` : `f${i}`, base: i, scale: i === 3 || i === 4 ? 1000 : 1 });
  features.push({ name: 'extra_noise', scale: 1 });
  // Another order than the base's: mapping is by name, never by position.
  return [...features.slice(6), ...features.slice(0, 6)];
}

export function syntheticDomain(spec: SyntheticDomainSpec): DomainData {
  const truth = baseTruth(spec.baseSeed);
  const random = seededRandom(spec.seed);
  const draw = gaussian(random);
  const columns = spec.relation === 'base' ? truth.map((_, i) => ({ name: `f${i}`, base: i as number | undefined, scale: 1 })) : derivedFeatures();
  const weightOf = (base: number | undefined): number => {
    if (base === undefined) return 0;
    if (spec.relation === 'base') return truth[base];
    if (spec.relation === 'related') return truth[base] + RELATED_SPREAD * draw();
    if (spec.relation === 'opposed') return -truth[base];
    return 1.5 * draw();
  };
  const weights = columns.map((c) => weightOf(c.base));
  const features: number[][] = [];
  const labels: number[] = [];
  for (let r = 0; r < spec.rows; r++) {
    const x = columns.map(() => draw());
    const score = x.reduce((sum, value, j) => sum + value * weights[j], -0.5);
    labels.push(random() < 1 / (1 + Math.exp(-score)) ? 1 : 0);
    features.push(x.map((value, j) => value * columns[j].scale));
  }
  return {
    name: spec.name,
    featureNames: columns.map((c) => c.name),
    features,
    labels,
    splitSeed: spec.seed + 1,
    holdoutFraction: spec.holdoutFraction,
    origin: { kind: 'synthetic', relation: spec.relation, baseSeed: spec.baseSeed, seed: spec.seed, rows: spec.rows },
  };
}
