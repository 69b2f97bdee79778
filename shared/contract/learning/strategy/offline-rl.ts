/**
 * The state the offline (shadow) policy reasons over: the bandit's 10-dim context plus five facts of the plan.
 * Pure, shared by the selection activity (which records it with each decision) and the trainer.
 *
 *   0-9  the bandit context (bandit.ts CONTEXT_FEATURES)
 *   10   plan size: tasks / (tasks + 10)
 *   11   planned parallelism: maxParallel / (maxParallel + 4)
 *   12   environments / 3
 *   13   includes prod: 1 or 0
 *   14   share of the plan's tasks whose capability has an alternate variant
 */
export const SHADOW_STATE_FEATURES = ['context×10', 'planSize', 'plannedParallelism', 'environments', 'includesProd', 'alternatesShare'] as const;
export const SHADOW_STATE_DIMENSION = 15;
/** Discount between a tenant's consecutive runs (each run is one step of the tenant's trajectory). */
export const SHADOW_DISCOUNT = 0.99;

/** The plan facts of the shadow state. */
export interface PlanFacts {
  tasks: number;
  environments: number;
  includesProd: boolean;
  alternatesShare: number;
}

/** The 15-dim shadow state of a run. */
export function shadowState(context: readonly number[], plan: PlanFacts, plannedParallelism: number): number[] {
  return [
    ...context,
    plan.tasks / (plan.tasks + 10),
    plannedParallelism / (plannedParallelism + 4),
    plan.environments / 3,
    plan.includesProd ? 1 : 0,
    plan.alternatesShare,
  ];
}
