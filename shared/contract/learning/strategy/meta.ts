/**
 * The meta-policy across tenants (README, "Strategy learning"): what opted-in tenants' finished runs add to the
 * aggregate-only meta tables, when a pattern may be served, and the warm start a tenant new to a pattern gets from
 * it. Pure: the store, the CLI and the tests share it.
 *
 * A pattern is (goal type, budget band). Per pattern the tables hold the number of runs and of distinct tenants
 * behind it; per (pattern, arm) the runs, the sum of rewards and the sum of their squares. Nothing else: no tenant
 * id, no run id, no timestamp.
 */
import { z } from 'zod';
import type { GoalType } from './bandit';

/** maxCost bands: tight below 50 units, moderate below 200, loose from 200 (COST_SCALE = 100 is the midpoint). */
export const BUDGET_BANDS = ['tight', 'moderate', 'loose'] as const;
export type BudgetBand = (typeof BUDGET_BANDS)[number];
const BAND_UPPER: Record<BudgetBand, number> = { tight: 50, moderate: 200, loose: Number.POSITIVE_INFINITY };

export function budgetBand(maxCost: number): BudgetBand {
  return BUDGET_BANDS.find((band) => maxCost < BAND_UPPER[band]) ?? 'loose';
}

/** The band's maxCost range [low, high) (high: undefined for the open band). */
export function budgetBandRange(band: BudgetBand): { low: number; high?: number } {
  const index = BUDGET_BANDS.indexOf(band);
  const low = index === 0 ? 0 : BAND_UPPER[BUDGET_BANDS[index - 1]];
  const high = BAND_UPPER[band];
  return { low, ...(Number.isFinite(high) ? { high } : {}) };
}

export interface MetaPattern {
  goalType: GoalType;
  budgetBand: BudgetBand;
}

export const DEFAULT_META_MIN_TENANTS = 3;
export const DEFAULT_META_MIN_RUNS = 30;
/** The most pseudo-runs a warm start gives one arm, so that a tenant's own runs soon outweigh the crowd's. */
export const DEFAULT_META_MAX_PRIOR_RUNS = 10;

/**
 * The meta-policy's settings (one row for the whole installation: they protect every contributor, so no tenant sets
 * its own). Fewer than 2 tenants would serve one tenant's outcomes to another.
 */
export const metaSettingsSchema = z.strictObject({
  minTenants: z.number({ message: 'must be a number' }).int('must be a whole number').min(2, 'must be at least 2 (one tenant\'s aggregate is that tenant\'s data)').max(1000, 'must be at most 1000').default(DEFAULT_META_MIN_TENANTS),
  minRuns: z.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(DEFAULT_META_MIN_RUNS),
  maxPriorRuns: z.number({ message: 'must be a number' }).int('must be a whole number').min(0, 'must be zero or more (0: no warm start)').max(1000, 'must be at most 1000').default(DEFAULT_META_MAX_PRIOR_RUNS),
});
export type MetaSettings = z.output<typeof metaSettingsSchema>;

/** One arm's aggregate in a pattern. */
export interface MetaArmAggregate {
  arm: string;
  runs: number;
  rewardSum: number;
  rewardSquareSum: number;
}

/** A pattern's aggregate, as stored. */
export interface MetaPatternAggregate extends MetaPattern {
  tenants: number;
  runs: number;
  arms: MetaArmAggregate[];
}

/** Served only when at least `minTenants` distinct tenants and `minRuns` runs are behind the pattern. */
export function isServable(aggregate: Pick<MetaPatternAggregate, 'tenants' | 'runs'>, settings: Pick<MetaSettings, 'minTenants' | 'minRuns'>): boolean {
  return aggregate.tenants >= settings.minTenants && aggregate.runs >= settings.minRuns;
}

/** One arm's prior: the crowd's mean reward with its 95 % interval, and how many pseudo-runs it is worth. */
export interface ArmPrior {
  arm: string;
  meanReward: number;
  low: number;
  high: number;
  runs: number;
  /** Pseudo-observations added at the tenant's context: min(runs, maxPriorRuns). */
  weight: number;
}

/** The warm start of a pattern, or undefined when the pattern may not be served (or gives no arm a prior). */
export interface WarmStart extends MetaPattern {
  tenants: number;
  runs: number;
  arms: ArmPrior[];
}

/**
 * The priors of the arms the tenant plays, from a servable pattern; undefined when it is not servable. An arm's
 * confidence is its run count: its weight (pseudo-runs) is min(runs, maxPriorRuns), and its interval is the normal
 * one of the mean (z = 1.96, the sample standard deviation).
 */
export function warmStartOf(aggregate: MetaPatternAggregate | undefined, arms: readonly string[], settings: MetaSettings): WarmStart | undefined {
  if (!aggregate || !isServable(aggregate, settings) || settings.maxPriorRuns === 0) return undefined;
  const priors: ArmPrior[] = [];
  for (const a of aggregate.arms) {
    if (!arms.includes(a.arm) || a.runs === 0) continue;
    const mean = a.rewardSum / a.runs;
    const variance = a.runs > 1 ? Math.max(0, (a.rewardSquareSum - a.runs * mean * mean) / (a.runs - 1)) : 0;
    const half = (1.96 * Math.sqrt(variance)) / Math.sqrt(a.runs);
    priors.push({ arm: a.arm, meanReward: mean, low: mean - half, high: mean + half, runs: a.runs, weight: Math.min(a.runs, settings.maxPriorRuns) });
  }
  if (priors.length === 0) return undefined;
  return { goalType: aggregate.goalType, budgetBand: aggregate.budgetBand, tenants: aggregate.tenants, runs: aggregate.runs, arms: priors };
}
