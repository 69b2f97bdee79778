/**
 * The escalation ladder's decisions, pure (no Temporal import) so they are unit-tested on their own and shared by
 * the workflow and the `resolve` Update's synchronous validator. workflows/delivery/escalation.ts carries them out.
 *
 * The ladder, for a task that fails:
 *   1. retry   — Temporal retries the activity per the capability's RetryPolicy (backoff); when that is exhausted:
 *   2. swap    — run it on the capability's alternate variants, in registry order, each with its own retry policy;
 *   3. mutate  — move the rest of the run to the next strategy with lower parallelism and run it again on the primary;
 *   4. human   — wait for `resolve` (retry / skip / abort).
 * A non-retryable error type (validation, policy refusal) goes straight to 4. A rung that cannot help is skipped
 * with its reason (no alternate, already serial, no worker to run it). After a human's "retry" the task runs once
 * more on its primary (rung 1) and goes back to the human if it fails again.
 */
import {
  DELIVERY_STRATEGIES,
  NON_RETRYABLE_ERROR_TYPES,
  RESOLVE_ACTIONS,
  resolutionSchema,
  strategyParallelism,
  type EscalationRung,
  type LadderStep,
  type Resolution,
  type StrategyState,
} from '../../shared/contract/delivery/escalation';
import type { Environment } from '../../shared/contract/delivery/input';
import { formatIssues, issuesFromZod } from '../../shared/contract/validation';

/** What the workflow learned from a failed activity (ActivityFailure and its cause), as plain data. */
export interface FailureDescriptor {
  message: string;
  /** ApplicationFailure type, e.g. InvalidCapabilityInput. */
  errorType?: string;
  nonRetryable?: boolean;
  /** TimeoutFailure type, e.g. SCHEDULE_TO_START. */
  timeoutType?: string;
  /** ActivityFailure retry state, e.g. MAXIMUM_ATTEMPTS_REACHED. */
  retryState?: string;
}

/**
 * non_retryable: a type in NON_RETRYABLE_ERROR_TYPES (the user must act); not_started: the schedule-to-start
 * timeout fired (nobody picked the task up; Temporal does not retry that); exhausted: anything else, after the
 * retry policy.
 */
export type FailureKind = 'non_retryable' | 'not_started' | 'exhausted';

export function classifyFailure(failure: FailureDescriptor, nonRetryableTypes: readonly string[] = NON_RETRYABLE_ERROR_TYPES): FailureKind {
  if (failure.errorType && nonRetryableTypes.includes(failure.errorType)) return 'non_retryable';
  if (failure.timeoutType === 'SCHEDULE_TO_START') return 'not_started';
  return 'exhausted';
}

/** Where a task stands on the ladder during one walk. */
export interface LadderState {
  taskId: string;
  primary: string;
  alternates: readonly string[];
  /** The run's current strategy, and the plan's maxParallel it derives from. */
  strategy: StrategyState;
  plannedParallelism: number;
  /** Set when the primary could not start because nobody polls its queue: lowering parallelism cannot help then. */
  primaryUnserved?: string;
  /** This walk began with a human's "retry": a failure goes back to the human. */
  afterHumanRetry: boolean;
}

/** A run of the task on one rung with one variant. */
export interface LadderPosition {
  rung: EscalationRung;
  variant: string;
}

export type LadderAction =
  | { kind: 'swap'; variant: string }
  | { kind: 'mutate'; variant: string; strategy: StrategyState }
  | { kind: 'human'; reason: string };

export interface LadderDecision {
  /** To audit, in order: the rungs skipped (with why) and the one taken. */
  steps: LadderStep[];
  action: LadderAction;
}

/** The current strategy at the next parallelism level that lowers maxParallel, if any (its other dimensions kept). */
export function nextStrategy(current: StrategyState, planned: number): StrategyState | undefined {
  const from = DELIVERY_STRATEGIES.indexOf(current.name);
  for (const name of DELIVERY_STRATEGIES.slice(from + 1)) {
    const maxParallel = strategyParallelism(name, planned);
    if (maxParallel < current.maxParallel) return { ...current, name, maxParallel };
  }
  return undefined;
}

const describeStrategy = (s: StrategyState) => `${s.name} (maxParallel ${s.maxParallel})`;

/**
 * The audit step that closes the rung that just ran. `attempts` is the retry policy's maximum (for the wording);
 * `problem` is what Temporal said about the queue when the task was not started (describeQueueProblem).
 */
export function closingStep(ran: LadderPosition, failure: FailureDescriptor, kind: FailureKind, context: { attempts: number; problem?: string }): LadderStep {
  if (kind === 'non_retryable') {
    return {
      rung: ran.rung,
      step: ran.rung === 'retry' ? 'skipped' : 'exhausted',
      variant: ran.variant,
      reason: `non-retryable ${failure.errorType} on ${ran.variant}, not retried: ${failure.message}`,
    };
  }
  if (kind === 'not_started') {
    return { rung: ran.rung, step: 'exhausted', variant: ran.variant, reason: context.problem ?? `${ran.variant}: the task was not started in time (${failure.message})` };
  }
  let why: string;
  if (failure.retryState === 'MAXIMUM_ATTEMPTS_REACHED') why = `retry policy exhausted after ${context.attempts} attempt(s)`;
  else if (failure.retryState === 'NON_RETRYABLE_FAILURE') why = `a non-retryable ${failure.errorType ?? 'failure'} (not retried)`;
  else if (failure.retryState === 'TIMEOUT') why = 'the retry policy timed out';
  else if (failure.timeoutType) why = `${failure.timeoutType} timeout`;
  else why = 'failed';
  return { rung: ran.rung, step: 'exhausted', variant: ran.variant, reason: `${why} on ${ran.variant}: ${failure.message}` };
}

/**
 * The next rung after a failed run at `after`, with the steps skipped on the way. `lastReason` is the closing
 * step's reason (carried into the human rung's reason).
 */
export function nextAction(state: LadderState, after: LadderPosition, kind: FailureKind, lastReason: string): LadderDecision {
  const steps: LadderStep[] = [];
  const human = (reason: string): LadderDecision => {
    steps.push({ rung: 'human', step: 'taken', reason });
    return { steps, action: { kind: 'human', reason } };
  };

  if (kind === 'non_retryable') {
    const why = 'a non-retryable error (validation or policy refusal) needs a person: another variant or strategy would meet the same refusal';
    if (after.rung === 'retry') steps.push({ rung: 'swap', step: 'skipped', reason: why });
    if (after.rung !== 'mutate') steps.push({ rung: 'mutate', step: 'skipped', reason: why });
    return human(lastReason);
  }

  if (state.afterHumanRetry) {
    return human(`failed again after a human asked to retry (alternates and strategies were tried before): ${lastReason}`);
  }

  // Rung 2: the next alternate variant after the one that failed.
  if (after.rung === 'retry' || after.rung === 'swap') {
    const start = after.rung === 'swap' ? state.alternates.indexOf(after.variant) + 1 : 0;
    const alternate = state.alternates[start];
    if (alternate !== undefined) {
      steps.push({
        rung: 'swap',
        step: 'taken',
        variant: alternate,
        reason: `${after.variant} failed; rerouting task "${state.taskId}" to alternate variant ${alternate}`,
      });
      return { steps, action: { kind: 'swap', variant: alternate } };
    }
    if (state.alternates.length === 0) {
      steps.push({ rung: 'swap', step: 'skipped', reason: `capability ${state.primary} has no alternate variant in the registry` });
    }

    // Rung 3: a strategy with lower parallelism, then the primary once more.
    if (state.primaryUnserved) {
      steps.push({ rung: 'mutate', step: 'skipped', reason: `lower parallelism cannot help: ${state.primaryUnserved}` });
      return human(lastReason);
    }
    const next = nextStrategy(state.strategy, state.plannedParallelism);
    if (!next) {
      steps.push({
        rung: 'mutate',
        step: 'skipped',
        reason: `the run is already on strategy ${describeStrategy(state.strategy)}: no strategy with lower parallelism left`,
      });
      return human(lastReason);
    }
    steps.push({
      rung: 'mutate',
      step: 'taken',
      variant: state.primary,
      from: state.strategy,
      to: next,
      reason: `re-planning the remaining tasks from ${describeStrategy(state.strategy)} to ${describeStrategy(next)} and running task "${state.taskId}" again on ${state.primary}`,
    });
    return { steps, action: { kind: 'mutate', variant: state.primary, strategy: next } };
  }

  // After the mutate rung (or anything else): a person decides.
  return human(lastReason);
}

// ------------------------------------------------------------------------------------------------
// resolve: who may resolve what (shared by the signal handler and the Update's synchronous validator).

export interface OpenEscalation {
  environment: Environment;
  taskId: string;
}

export interface ResolveRulesState {
  open: readonly OpenEscalation[];
  /** Set once a resolution aborted the run. */
  aborted: boolean;
  finished: boolean;
}

export type ResolveJudgement = { counts: true; resolution: Resolution; target: OpenEscalation } | { counts: false; reason: string };

export function judgeResolution(state: ResolveRulesState, raw: unknown): ResolveJudgement {
  const parsed = resolutionSchema.safeParse(raw);
  if (!parsed.success) return { counts: false, reason: `invalid resolution: ${formatIssues(issuesFromZod(parsed.error))}` };
  const resolution = parsed.data;
  if (state.finished) return { counts: false, reason: 'the run has finished; nothing awaits a resolution' };
  if (state.aborted) return { counts: false, reason: 'the run is being aborted; nothing else can be resolved' };
  const listed = state.open.map((e) => `${e.taskId} (${e.environment})`).join(', ');
  if (state.open.length === 0) {
    return { counts: false, reason: `no task of this run awaits a human resolution (resolve only answers a task at the human rung; actions: ${RESOLVE_ACTIONS.join(', ')})` };
  }
  const target = state.open.find((e) => e.taskId === resolution.taskId && (!resolution.environment || e.environment === resolution.environment));
  if (!target) {
    return { counts: false, reason: `task "${resolution.taskId}"${resolution.environment ? ` in ${resolution.environment}` : ''} does not await a resolution; awaiting: ${listed}` };
  }
  return { counts: true, resolution, target };
}
