import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { AppliedStrategy } from '../learning/strategy/strategy';
import { ENVIRONMENTS, type Environment } from './input';

/**
 * The recovery escalation ladder of a delivery run (README, "The escalation ladder"): a task that fails past its
 * retry policy is (1) retried with backoff by Temporal, then (2) swapped to an alternate capability variant, then
 * (3) re-run under a lower-parallelism strategy, then (4) handed to a human, who resolves it with `resolve`.
 * The decisions are pure (workflows/delivery/escalation-rules.ts); this file holds what client and workflow share.
 */
export const ESCALATION_RUNGS = ['retry', 'swap', 'mutate', 'human'] as const;
export type EscalationRung = (typeof ESCALATION_RUNGS)[number];

/**
 * Failure types no retry, variant or strategy can fix: the user must change the input or the policy. They skip
 * straight to the human rung. `InvalidCapabilityInput` is thrown by parseTaskInput/invalidInput
 * (activities/capabilities/capability.ts), `PolicyRefused` by policyRefusal.
 */
export const NON_RETRYABLE_ERROR_TYPES = ['InvalidCapabilityInput', 'PolicyRefused'] as const;

/**
 * Parallelism levels, from the plan's own to the most conservative; the "strategy mutation" rung moves the rest of the
 * run to the next one with lower parallelism, keeping the strategy's other dimensions. A run's strategy is the
 * strategy-learning contract's AppliedStrategy (one type for the bandit's arms and the ladder's mutation).
 */
export { PARALLELISM_LEVELS as DELIVERY_STRATEGIES, strategyParallelism } from '../learning/strategy/strategy';
export type { ParallelismLevel as DeliveryStrategy } from '../learning/strategy/strategy';
export type StrategyState = AppliedStrategy;

/** What one rung did for one task, audited as `escalation.<rung>` with the reason. */
export interface LadderStep {
  rung: EscalationRung;
  /** exhausted: the rung ran and failed; skipped: the rung could not help (see reason); taken: the ladder moved to it. */
  step: 'exhausted' | 'skipped' | 'taken';
  reason: string;
  /** The capability variant the rung ran (exhausted) or will run (taken). */
  variant?: string;
  /** For the mutate rung: the strategy before and after. */
  from?: StrategyState;
  to?: StrategyState;
}

/** How long a task at the human rung waits for `resolve` before it fails, unless the plan says otherwise. */
export const DEFAULT_ESCALATION_TIMEOUT = '72h';

export const RESOLVE_ACTIONS = ['retry', 'skip', 'abort'] as const;
export type ResolveAction = (typeof RESOLVE_ACTIONS)[number];

/** Longest task id or person id a resolution may carry: ids, not documents. */
export const MAX_RESOLUTION_ID_LENGTH = 200;

/** What `resolve` carries (signal and Update alike). Strict: an unknown key is refused, not ignored. */
export const resolutionSchema = z.strictObject({
  taskId: z
    .string({ message: 'must be a string: the task to resolve (--task <id>)' })
    .min(1, 'name the task to resolve (--task <id>)')
    .max(MAX_RESOLUTION_ID_LENGTH, `a task id has at most ${MAX_RESOLUTION_ID_LENGTH} characters`),
  action: z.enum(RESOLVE_ACTIONS, { message: `must be one of ${RESOLVE_ACTIONS.join(', ')}` }),
  by: z
    .string({ message: 'must be a string: who resolves (--as <user>)' })
    .min(1, 'say who resolves (--as <user>)')
    .max(MAX_RESOLUTION_ID_LENGTH, `a person id has at most ${MAX_RESOLUTION_ID_LENGTH} characters`),
  comment: z.string({ message: 'must be a string' }).max(2000, 'keep the comment under 2000 characters').optional(),
  /** Optional: the environment the task is escalated in (the current one by default). */
  environment: z.enum(ENVIRONMENTS, { message: `must be one of ${ENVIRONMENTS.join(', ')}` }).optional(),
});
export type Resolution = z.output<typeof resolutionSchema>;

export interface RecordedResolution {
  taskId: string;
  action: ResolveAction | string;
  by: string;
  comment?: string;
  environment?: Environment;
  counted: boolean;
  /** Why a resolution did not count; absent when it did. */
  reason?: string;
  via: 'signal' | 'update';
}

/** One task waiting for a human, as the status query and `ados pending` show it. */
export interface EscalationView {
  environment: Environment;
  taskId: string;
  capability: string;
  /** Why the ladder reached the human rung. */
  reason: string;
  /** Workflow time the wait began, ISO text. */
  since: string;
  steps: LadderStep[];
  actions: readonly ResolveAction[];
}

/** What the `resolve` Update answers once the resolution is recorded. */
export interface ResolveOutcome {
  workflowId: string;
  environment: Environment;
  taskId: string;
  action: ResolveAction;
  by: string;
}

/** Typed for senders; the workflow parses what actually arrives with resolutionSchema. */
export const resolveSignal = defineSignal<[Resolution]>('resolve');
/** The same resolution as an Update: its synchronous validator refuses at once one that would not count. */
export const resolveUpdate = defineUpdate<ResolveOutcome, [Resolution]>('resolve');

/** The command a person runs to resolve an escalated task (shown in `waitingFor`). */
export function resolveCommand(workflowId: string, taskId: string): string {
  return `ados resolve ${workflowId} --task ${taskId} --action ${RESOLVE_ACTIONS.join('|')} --as <user>`;
}
