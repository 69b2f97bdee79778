/**
 * The escalation ladder of a delivery run, carried out: one task walks retry → swap → mutate → human, and the ladder
 * reports each thing that happens as a LadderEvent; the environment runner (environment.ts) owns the task's status
 * and audit and applies them. The decisions themselves are pure and live in escalation-rules.ts; the human rung
 * waits at the EscalationDesk (escalation-desk.ts).
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import { lookupAlternates, lookupCapability, type PluginSpecs } from '../../shared/contract/capability-spec';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import { NON_RETRYABLE_ERROR_TYPES, type LadderStep, type Resolution, type StrategyState } from '../../shared/contract/delivery/escalation';
import type { PlanTask } from '../../shared/contract/delivery/input';
import { orderVariants, retryAttempts, type RetryLevel } from '../../shared/contract/learning/strategy/strategy';
import type { TaskState } from '../../shared/contract/delivery/status';
import { describeQueueProblem, isUnserved, type CapabilityQueueReport } from '../../shared/contract/routing';
import { capabilityActivityOptions, type CapabilityActivityOptions } from '../common/capability-activity';
import type { EscalationDesk } from './escalation-desk';
import {
  classifyFailure,
  closingStep,
  nextAction,
  type FailureDescriptor,
  type LadderDecision,
  type LadderPosition,
  type LadderState,
} from './escalation-rules';

type CapabilityActivities = Record<string, (request: CapabilityRequest) => Promise<CapabilityResult>>;

/** The fields a task event may set on the task's status (and carry into its audit entry). */
export interface TaskEventExtra {
  worker?: string;
  attempt?: number;
  error?: string;
  output?: unknown;
  variant?: string;
  rung?: LadderPosition['rung'];
  resolvedBy?: string;
}

/** What happened to a task on the ladder, for the environment runner to record. */
export type LadderEvent =
  /** The task changed state (task.<state> in the audit). */
  | { type: 'task'; state: Exclude<TaskState, 'pending'>; extra: TaskEventExtra }
  /** A rung was exhausted, skipped or taken (escalation.<rung>). */
  | { type: 'step'; step: LadderStep }
  /** Temporal said something about a variant's queue; `notice`: show it on the status while the task waits. */
  | { type: 'queue'; report: CapabilityQueueReport; when: string; message: string; notice: boolean }
  /** A variant's activity ran: whatever was noticed about its queue is over. */
  | { type: 'served'; capability: string }
  /** The mutate rung moved the rest of the run to a lower-parallelism strategy. */
  | { type: 'strategy'; strategy: StrategyState }
  /** Nobody resolved the task at the human rung in time (escalation.expired). */
  | { type: 'expired'; timeout: string; reason: string };

/** The environment a task climbs the ladder in. */
export interface LadderEnvironment {
  /** Everything of the capability request but the task's own fields. */
  request: Omit<CapabilityRequest, 'taskId' | 'input' | 'upstream'>;
  prefix: string;
  /** The run's plugin capabilities' specs (`DeliveryRunInput.capabilities`). */
  capabilities?: PluginSpecs;
  plannedParallelism: number;
  /** The run's current strategy (the mutate rung asks to replace it with a 'strategy' event). */
  strategy: () => StrategyState;
  desk: EscalationDesk;
  humanTimeout: { ms: number; text: string };
  /** Who polls these capabilities' queues (the describeCapabilityQueues activity). */
  describe(capabilities: string[]): Promise<CapabilityQueueReport[]>;
  /** Writes every event recorded so far (before the run says it waits for a person). */
  flush(): Promise<void>;
}

/** What a task's walk ended with, when it did not fail for good. */
export type LadderResult =
  | { kind: 'succeeded'; result: CapabilityResult; variant: string }
  | { kind: 'skipped'; resolution: Resolution };

/** The plain facts of a failed activity, for the pure rules. */
function describeFailure(error: unknown): FailureDescriptor & { worker?: string } {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    const base = { retryState: error.retryState, ...(error.identity ? { worker: error.identity } : {}) };
    if (cause instanceof TimeoutFailure) return { ...base, message: cause.message, timeoutType: cause.timeoutType };
    if (cause instanceof ApplicationFailure) {
      return { ...base, message: cause.message, errorType: cause.type ?? undefined, nonRetryable: cause.nonRetryable ?? undefined };
    }
    return { ...base, message: cause?.message ?? error.message };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

/**
 * The options a task runs with on one variant: the variant's registry entry plus the task's own overrides, its
 * attempts scaled by the run's retry level (strategy.ts retryAttempts; `standard` leaves them as they are).
 */
export function taskActivityOptions(
  task: PlanTask,
  variant: string,
  env: Pick<LadderEnvironment, 'prefix' | 'request' | 'capabilities'>,
  retry: RetryLevel = 'standard',
): CapabilityActivityOptions {
  // Validation has refused unknown capabilities and alternates: each is built-in or in the run's capabilities.
  const spec = lookupCapability(variant, env.capabilities)!;
  const on = variant === task.capability ? variant : `${variant} (for ${task.capability})`;
  const options = capabilityActivityOptions(variant, spec, env.prefix, task, NON_RETRYABLE_ERROR_TYPES, `${task.id}: ${on} on ${env.request.environment}`);
  if (retry === 'standard') return options;
  const attempts = retryAttempts(retry, options.attempts);
  return { ...options, options: { ...options.options, retry: { ...options.options.retry, maximumAttempts: attempts } }, attempts };
}

/**
 * Runs a task, walking the ladder when it fails. Resolves with the result (or a human's skip); throws when the task
 * fails for good (abort, or no resolution in time), with the reason as the message. Every state change, rung and
 * queue finding goes to `emit`.
 */
export async function runTaskWithLadder(
  env: LadderEnvironment,
  task: PlanTask,
  upstream: Record<string, unknown>,
  emit: (event: LadderEvent) => void,
): Promise<LadderResult> {
  // The strategy's variant preference picks the variant the task starts on (the ladder's "primary" for this walk).
  const ordered = orderVariants(task.capability, lookupAlternates(task.capability, env.capabilities), env.strategy().variants);
  const primary = ordered.lead;
  let position: LadderPosition = { rung: 'retry', variant: primary };
  let afterHumanRetry = false;
  let primaryUnserved: string | undefined;
  const steps: LadderStep[] = [];
  const step = (s: LadderStep) => {
    steps.push(s);
    emit({ type: 'step', step: s });
  };
  const request: CapabilityRequest = { ...env.request, taskId: task.id, input: task.input, upstream };
  const escalated = () => position.rung !== 'retry' || afterHumanRetry;

  for (;;) {
    // Another task's abort stops the ladder between rungs (the DAG itself starts nothing more).
    const aborted = env.desk.abortReason;
    if (aborted) {
      emit({ type: 'task', state: 'failed', extra: { error: aborted, rung: position.rung } });
      throw new Error(aborted);
    }
    const options = taskActivityOptions(task, position.variant, env, env.strategy().retry);
    const variant = position.variant !== task.capability ? position.variant : undefined;
    emit({ type: 'task', state: 'running', extra: { ...(variant ? { variant } : {}), ...(escalated() ? { rung: position.rung } : {}) } });
    let failure: ReturnType<typeof describeFailure>;
    try {
      const result = await proxyActivities<CapabilityActivities>(options.options)[position.variant](request);
      emit({ type: 'served', capability: position.variant });
      return { kind: 'succeeded', result, variant: position.variant };
    } catch (error) {
      if (isCancellation(error)) throw error;
      failure = describeFailure(error);
    }

    // The rung that just ran is over: why?
    const kind = classifyFailure(failure);
    let problem: string | undefined;
    if (kind === 'not_started') {
      const [report] = await env.describe([position.variant]);
      problem = describeQueueProblem(report, options.scheduleToStartSeconds);
      emit({ type: 'queue', report, when: 'schedule-to-start timeout', message: problem, notice: position.variant === primary });
      if (position.variant === primary && isUnserved(report)) primaryUnserved = problem;
    }
    const closing = closingStep(position, failure, kind, { attempts: options.attempts, problem });
    emit({
      type: 'task',
      state: 'failed',
      extra: { error: failure.message, ...(failure.worker ? { worker: failure.worker } : {}), ...(variant ? { variant } : {}), rung: position.rung },
    });
    step(closing);

    // The next rung, skipping alternates nobody serves (checked before scheduling on them).
    const state = (): LadderState => ({
      taskId: task.id,
      primary,
      alternates: ordered.alternates,
      strategy: env.strategy(),
      plannedParallelism: env.plannedParallelism,
      primaryUnserved,
      afterHumanRetry,
    });
    let decision: LadderDecision = nextAction(state(), position, kind, closing.reason);
    const decided: LadderStep[] = [];
    while (decision.action.kind === 'swap') {
      const alternate = decision.action.variant;
      const [report] = await env.describe([alternate]);
      if (!isUnserved(report)) break;
      const message = describeQueueProblem(report);
      emit({ type: 'queue', report, when: 'before swap', message, notice: false });
      decided.push(...decision.steps.filter((s) => !(s.rung === 'swap' && s.step === 'taken')), { rung: 'swap', step: 'skipped', variant: alternate, reason: message });
      decision = nextAction(state(), { rung: 'swap', variant: alternate }, kind, closing.reason);
    }
    for (const s of [...decided, ...decision.steps]) step(s);

    const action = decision.action;
    if (action.kind === 'swap') {
      position = { rung: 'swap', variant: action.variant };
      continue;
    }
    if (action.kind === 'mutate') {
      emit({ type: 'strategy', strategy: action.strategy });
      position = { rung: 'mutate', variant: action.variant };
      continue;
    }

    // The human rung: the audit is written before the run says it waits.
    emit({ type: 'task', state: 'escalated', extra: { error: action.reason, rung: 'human' } });
    await env.flush();
    const outcome = await env.desk.wait(
      { environment: env.request.environment, taskId: task.id, capability: task.capability, reason: action.reason, steps },
      env.humanTimeout.ms,
    );
    if (outcome.kind === 'retry') {
      afterHumanRetry = true;
      primaryUnserved = undefined;
      position = { rung: 'retry', variant: primary };
      continue;
    }
    if (outcome.kind === 'skip') {
      const { resolution } = outcome;
      emit({
        type: 'task',
        state: 'skipped',
        extra: { error: `skipped by ${resolution.by}${resolution.comment ? `: ${resolution.comment}` : ''}`, resolvedBy: resolution.by, rung: 'human' },
      });
      return { kind: 'skipped', resolution };
    }
    let reason: string;
    if (outcome.kind === 'expired') {
      reason = `no resolution within ${env.humanTimeout.text} (${action.reason})`;
      emit({ type: 'expired', timeout: env.humanTimeout.text, reason: action.reason });
    } else {
      reason = outcome.kind === 'aborted' ? outcome.reason : (env.desk.abortReason ?? `aborted by ${outcome.resolution.by}`);
    }
    emit({ type: 'task', state: 'failed', extra: { error: reason, rung: 'human', ...(outcome.kind === 'abort' ? { resolvedBy: outcome.resolution.by } : {}) } });
    throw new Error(reason);
  }
}
