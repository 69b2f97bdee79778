/**
 * Delivery strategies (README, "Strategy learning"): the arms the strategy bandit chooses between. Each arm sets four
 * dimensions of how a delivery run executes, and each dimension really changes the commands the run issues:
 *
 * - parallelism: how many tasks of an environment's DAG run at once: the plan's maxParallel (`as-planned`), half of
 *   it (`halved`, at least 1) or one at a time (`serial`). The escalation ladder's mutate rung steps it down.
 * - variants: which variant of a task's capability runs first: the plan's capability (`primary-first`), or its
 *   first registered alternate (`fallback-first`, the primary then becomes the first alternate the swap rung tries).
 *   A capability without alternates runs on its primary either way.
 * - retry: how hard Temporal retries each attempt before the ladder moves on: the capability's retry policy
 *   (`standard`), half its attempts (`light`: escalate sooner), or twice its attempts (`persistent`, at most 100).
 * - rollout: `sequential` runs one environment at a time; `dev-stage-together` runs dev and stage side by side when
 *   the plan lists both and its goal's risk is not high (otherwise the run stays sequential); prod always waits for
 *   both and for its approval.
 */
import { z } from 'zod';

export const PARALLELISM_LEVELS = ['as-planned', 'halved', 'serial'] as const;
export type ParallelismLevel = (typeof PARALLELISM_LEVELS)[number];
export const VARIANT_PREFERENCES = ['primary-first', 'fallback-first'] as const;
export type VariantPreference = (typeof VARIANT_PREFERENCES)[number];
export const RETRY_LEVELS = ['light', 'standard', 'persistent'] as const;
export type RetryLevel = (typeof RETRY_LEVELS)[number];
export const ROLLOUTS = ['sequential', 'dev-stage-together'] as const;
export type Rollout = (typeof ROLLOUTS)[number];

/** One arm: a named combination of the four dimensions. */
export interface StrategyArm {
  name: string;
  parallelism: ParallelismLevel;
  variants: VariantPreference;
  retry: RetryLevel;
  rollout: Rollout;
  description: string;
}

/**
 * The strategy a delivery run executes with, as the run's status shows it: its parallelism level (`name`, the field
 * the escalation ladder's mutate rung changes) and the maxParallel it gives for the plan, then the arm it came from
 * and the arm's other dimensions. Absent dimensions mean the defaults (primary-first, standard, sequential): the
 * strategy of every run the bandit did not choose for.
 */
export interface AppliedStrategy {
  name: ParallelismLevel;
  maxParallel: number;
  arm?: string;
  variants?: VariantPreference;
  retry?: RetryLevel;
  rollout?: Rollout;
}

/** The catalogue of arms, each named once; a tenant's arm set is a subset of it (the first arm is the default). */
export const STRATEGY_ARMS: readonly StrategyArm[] = [
  { name: 'as-planned', parallelism: 'as-planned', variants: 'primary-first', retry: 'standard', rollout: 'sequential', description: 'the plan as written: its parallelism, primary variants, the capabilities\' retry policies, one environment at a time' },
  { name: 'halved', parallelism: 'halved', variants: 'primary-first', retry: 'standard', rollout: 'sequential', description: 'half the plan\'s parallelism: less contention on shared resources' },
  { name: 'serial', parallelism: 'serial', variants: 'primary-first', retry: 'standard', rollout: 'sequential', description: 'one task at a time: the most conservative' },
  { name: 'fallback-first', parallelism: 'as-planned', variants: 'fallback-first', retry: 'standard', rollout: 'sequential', description: 'each task starts on its capability\'s first alternate variant, the primary as fallback' },
  { name: 'light-retry', parallelism: 'as-planned', variants: 'primary-first', retry: 'light', rollout: 'sequential', description: 'half the retry attempts: escalate to another variant sooner' },
  { name: 'persistent', parallelism: 'halved', variants: 'primary-first', retry: 'persistent', rollout: 'sequential', description: 'half the parallelism and twice the retry attempts: for flaky dependencies' },
  { name: 'fast-rollout', parallelism: 'as-planned', variants: 'primary-first', retry: 'standard', rollout: 'dev-stage-together', description: 'dev and stage side by side (low and medium risk plans)' },
];

export const STRATEGY_ARM_NAMES = STRATEGY_ARMS.map((arm) => arm.name);
export const DEFAULT_ARM = STRATEGY_ARMS[0];

/** The catalogue arm of this name, if any. */
export function findArm(name: string): StrategyArm | undefined {
  return STRATEGY_ARMS.find((arm) => arm.name === name);
}

/** The parallelism of a level for a plan whose maxParallel is `planned`. */
export function strategyParallelism(level: ParallelismLevel, planned: number): number {
  if (level === 'as-planned') return planned;
  if (level === 'halved') return Math.max(1, Math.floor(planned / 2));
  return 1;
}

/** The strategy a run executes when it takes `arm`, for a plan whose maxParallel is `planned`. */
export function applyArm(arm: StrategyArm, planned: number): AppliedStrategy {
  return {
    name: arm.parallelism,
    maxParallel: strategyParallelism(arm.parallelism, planned),
    arm: arm.name,
    variants: arm.variants,
    retry: arm.retry,
    rollout: arm.rollout,
  };
}

/**
 * The variants of a task in the order this strategy runs them: the first is the one the task starts on (and the one
 * the mutate rung re-runs), the rest are what the swap rung tries.
 */
export function orderVariants(primary: string, alternates: readonly string[], preference: VariantPreference = 'primary-first'): { lead: string; alternates: string[] } {
  if (preference === 'primary-first' || alternates.length === 0) return { lead: primary, alternates: [...alternates] };
  return { lead: alternates[0], alternates: [primary, ...alternates.slice(1)] };
}

/** Most retry attempts any strategy gives an activity. */
export const MAX_RETRY_ATTEMPTS = 100;

/** The maximum attempts of an activity under this retry level, from what its capability (or task) allows. */
export function retryAttempts(level: RetryLevel = 'standard', attempts: number): number {
  if (level === 'light') return Math.max(1, Math.ceil(attempts / 2));
  if (level === 'persistent') return Math.min(MAX_RETRY_ATTEMPTS, attempts * 2);
  return attempts;
}

/**
 * The environments of a run grouped into waves that run side by side: each alone, except dev and stage together
 * when the strategy asks for it, the plan lists both and its risk is not high.
 */
export function rolloutWaves<E extends string>(environments: readonly E[], rollout: Rollout = 'sequential', risk: 'low' | 'medium' | 'high' = 'low'): E[][] {
  const together = rollout === 'dev-stage-together' && risk !== 'high' && environments.includes('dev' as E) && environments.includes('stage' as E);
  const waves: E[][] = [];
  for (const environment of environments) {
    if (together && environment === 'stage') waves.find((wave) => wave.includes('dev' as E))!.push(environment);
    else waves.push([environment]);
  }
  return waves;
}

/** Exploration and confidence defaults of a tenant's bandit. */
export const DEFAULT_ALPHA = 1;
export const DEFAULT_EPSILON = 0.05;

/** A tenant's strategy settings (`ados learn configure`): which arms the bandit may choose, and how it explores. */
export const strategySettingsSchema = z.strictObject({
  arms: z
    .array(z.enum(STRATEGY_ARM_NAMES as [string, ...string[]], { message: `must be one of ${STRATEGY_ARM_NAMES.join(', ')}` }))
    .min(1, `list at least one arm (${STRATEGY_ARM_NAMES.join(', ')})`)
    .refine((arms) => new Set(arms).size === arms.length, 'list each arm once')
    .default([...STRATEGY_ARM_NAMES]),
  alpha: z.number({ message: 'must be a number' }).min(0, 'must be zero or more (0: no exploration bonus)').max(10, 'must be at most 10').default(DEFAULT_ALPHA),
  epsilon: z.number({ message: 'must be a number' }).min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').default(DEFAULT_EPSILON),
});
export type StrategySettings = z.output<typeof strategySettingsSchema>;
