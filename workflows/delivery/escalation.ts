/**
 * The escalation ladder of a delivery run, carried out: one task walks retry → swap → mutate → human, each step
 * audited with its reason, and the human rung waits at the EscalationDesk for `resolve`. The decisions themselves
 * are pure and live in escalation-rules.ts; this file only runs them (activities, waits, search attributes).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  TimeoutFailure,
} from '@temporalio/workflow';
import { capabilityAlternates, capabilitySpec, scheduleToStartTimeoutSeconds } from '../../shared/contract/capabilities';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import {
  NON_RETRYABLE_ERROR_TYPES,
  RESOLVE_ACTIONS,
  resolveSignal,
  resolveUpdate,
  type EscalationView,
  type LadderStep,
  type RecordedResolution,
  type Resolution,
  type ResolveOutcome,
  type StrategyState,
} from '../../shared/contract/delivery/escalation';
import type { Environment, PlanTask } from '../../shared/contract/delivery/input';
import { describeQueueProblem, isUnserved, type CapabilityQueueReport } from '../../shared/contract/routing';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import {
  classifyFailure,
  closingStep,
  judgeResolution,
  nextAction,
  type FailureDescriptor,
  type LadderDecision,
  type LadderPosition,
  type LadderState,
  type OpenEscalation,
  type ResolveRulesState,
} from './escalation-rules';

type CapabilityActivities = Record<string, (request: CapabilityRequest) => Promise<CapabilityResult>>;

/** The plain facts of a failed activity, for the pure rules. */
export function describeFailure(error: unknown): FailureDescriptor & { worker?: string } {
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

// ------------------------------------------------------------------------------------------------
// The human rung: tasks waiting for `resolve`.

export interface EscalationDeskOptions {
  workflowId: string;
  /** Audits one resolution, counted or not. */
  record: (resolution: RecordedResolution) => Promise<void>;
  /** Called when the first task starts waiting (true) and when the last one stops (false). */
  awaiting: (waiting: boolean) => void;
}

export type HumanOutcome =
  | { kind: 'retry' | 'skip' | 'abort'; resolution: Resolution }
  | { kind: 'aborted'; reason: string }
  | { kind: 'expired' };

interface DeskEntry extends EscalationView {
  resolution?: Resolution;
}

/**
 * Where escalated tasks wait for a person. The `resolve` signal and Update are handled from the start of the run, so
 * a resolution sent when nothing waits is answered (Update: refused by the validator; signal: audited as ignored).
 */
export class EscalationDesk {
  private readonly entries: DeskEntry[] = [];
  private abort?: { resolution: Resolution; environment: Environment };
  private finished = false;

  constructor(private readonly options: EscalationDeskOptions) {
    setHandler(resolveSignal, (resolution) => this.receive(resolution, 'signal').then(() => undefined));
    setHandler(resolveUpdate, (resolution) => this.receiveUpdate(resolution), {
      // Synchronous on purpose: an async validator could never reject.
      validator: (resolution) => {
        const judgement = judgeResolution(this.rulesState(), resolution);
        if (!judgement.counts) throw new Error(judgement.reason);
      },
    });
  }

  /** Set once a resolution aborted the run: the DAG starts nothing more. */
  get abortReason(): string | undefined {
    if (!this.abort) return undefined;
    const { resolution, environment } = this.abort;
    return `aborted by ${resolution.by} at task "${resolution.taskId}" in ${environment}${resolution.comment ? `: ${resolution.comment}` : ''}`;
  }

  snapshot(): EscalationView[] {
    return this.entries
      .filter((e) => !e.resolution)
      .map(({ resolution: _resolution, ...view }) => ({ ...view, steps: view.steps.map((s) => ({ ...s })) }));
  }

  /** The run is closing: later resolutions are refused as "finished". */
  finish(): void {
    this.finished = true;
  }

  /** Waits for a resolution of this task, another task's abort, or the timeout. */
  async wait(view: Omit<EscalationView, 'since' | 'actions'>, timeoutMs: number): Promise<HumanOutcome> {
    const entry: DeskEntry = { ...view, steps: [...view.steps], since: new Date(Date.now()).toISOString(), actions: RESOLVE_ACTIONS };
    this.entries.push(entry);
    if (this.entries.length === 1) this.options.awaiting(true);
    try {
      const decided = await condition(() => entry.resolution !== undefined || this.abort !== undefined, timeoutMs);
      if (entry.resolution) return { kind: entry.resolution.action, resolution: entry.resolution };
      if (decided && this.abortReason) return { kind: 'aborted', reason: this.abortReason };
      return { kind: 'expired' };
    } finally {
      this.entries.splice(this.entries.indexOf(entry), 1);
      if (this.entries.length === 0) this.options.awaiting(false);
    }
  }

  private rulesState(): ResolveRulesState {
    const open: OpenEscalation[] = this.entries.filter((e) => !e.resolution).map((e) => ({ environment: e.environment, taskId: e.taskId }));
    return { open, aborted: this.abort !== undefined, finished: this.finished };
  }

  private async receiveUpdate(raw: Resolution): Promise<ResolveOutcome> {
    const recorded = await this.receive(raw, 'update');
    // The state can change between validation and this handler (another resolution won the race).
    if (!recorded.counted) throw ApplicationFailure.create({ type: 'ResolutionNotCounted', message: recorded.reason, nonRetryable: true });
    return {
      workflowId: this.options.workflowId,
      environment: recorded.environment as Environment,
      taskId: recorded.taskId,
      action: recorded.action as ResolveOutcome['action'],
      by: recorded.by,
    };
  }

  /** Judges and applies synchronously (handlers see a consistent desk; replay gives the same order), then audits. */
  private async receive(raw: Resolution, via: RecordedResolution['via']): Promise<RecordedResolution> {
    const judgement = judgeResolution(this.rulesState(), raw);
    let recorded: RecordedResolution;
    if (judgement.counts) {
      const { resolution, target } = judgement;
      const entry = this.entries.find((e) => !e.resolution && e.taskId === target.taskId && e.environment === target.environment);
      if (entry) entry.resolution = resolution;
      if (resolution.action === 'abort') this.abort = { resolution, environment: target.environment };
      recorded = { ...resolution, environment: target.environment, counted: true, via };
    } else {
      const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined ? '' : String(value));
      const payload = (raw ?? {}) as Partial<Record<keyof Resolution, unknown>>;
      recorded = {
        taskId: text(payload.taskId),
        action: text(payload.action),
        by: text(payload.by),
        ...(typeof payload.comment === 'string' ? { comment: payload.comment } : {}),
        counted: false,
        reason: judgement.reason,
        via,
      };
    }
    await this.options.record(recorded);
    return recorded;
  }
}

// ------------------------------------------------------------------------------------------------
// One task's walk up the ladder.

/** What the ladder needs from the run around it. */
export interface LadderContext {
  workflowId: string;
  tenantId: string;
  runId: string;
  prefix: string;
  environment: Environment;
  plannedParallelism: number;
  /** The run's strategy; the mutate rung replaces it (the DAG reads it before starting each task). */
  strategy: { current: StrategyState };
  desk: EscalationDesk;
  humanTimeout: { ms: number; text: string };
  describe(capabilities: string[]): Promise<CapabilityQueueReport[]>;
  /** Updates the task's status and queues its audit entry (task.<state>). */
  taskEvent(task: PlanTask, state: 'running' | 'succeeded' | 'failed' | 'skipped' | 'escalated', extra: TaskEventExtra): void;
  /** Queues a plain audit entry. */
  auditEvent(event: string, detail: Record<string, unknown>): void;
  /** Records a ladder step: audit `escalation.<rung>` and the task's status (rung, steps). */
  ladderStep(task: PlanTask, step: LadderStep): void;
  /**
   * A report about a capability's queue: audited (capability.unserved) when nobody polls it; with `notice`, also shown
   * in the status while the capability's tasks wait.
   */
  queueProblem(report: CapabilityQueueReport, when: string, message: string, notice: boolean): void;
  /** The capability's tasks ran: its queue problem, if any, is over. */
  queueServed(capability: string): void;
  strategyChanged(strategy: StrategyState): void;
  /** The ladder steps recorded so far for a task. */
  taskSteps(task: PlanTask): LadderStep[];
  flush(): Promise<void>;
}

export interface TaskEventExtra {
  worker?: string;
  attempt?: number;
  error?: string;
  output?: unknown;
  variant?: string;
  rung?: LadderPosition['rung'];
  resolvedBy?: string;
}

export type LadderResult =
  | { kind: 'succeeded'; result: CapabilityResult; variant: string }
  | { kind: 'skipped'; resolution: Resolution };

/** The activity stub for a task on one variant: the variant's queue, timeouts and retry policy (plus the task's overrides). */
export function capabilityStub(task: PlanTask, variant: string, prefix: string): { activities: CapabilityActivities; attempts: number; scheduleToStartSeconds: number } {
  // Validation has refused unknown capabilities, and the registry's alternates are registered capabilities.
  const spec = capabilitySpec(variant)!;
  const retry = { ...spec.retry, ...task.retry };
  const scheduleToStartSeconds = task.scheduleToStartTimeoutSeconds ?? scheduleToStartTimeoutSeconds(spec);
  const activities = proxyActivities<CapabilityActivities>({
    taskQueue: capabilityTaskQueue(variant, prefix),
    startToCloseTimeout: `${task.timeoutSeconds ?? spec.startToCloseTimeoutSeconds}s`,
    scheduleToStartTimeout: `${scheduleToStartSeconds}s`,
    heartbeatTimeout: `${task.heartbeatTimeoutSeconds ?? spec.heartbeatTimeoutSeconds}s`,
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: `${retry.initialIntervalSeconds}s`,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: `${retry.maximumIntervalSeconds}s`,
      nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
    },
  });
  return { activities, attempts: retry.maximumAttempts, scheduleToStartSeconds };
}

/**
 * Runs a task, walking the ladder when it fails. Resolves with the result (or a human's skip); throws when the task
 * fails for good (abort, or no resolution in time), with the reason as the message.
 */
export async function runTaskWithLadder(ctx: LadderContext, task: PlanTask, upstream: Record<string, unknown>): Promise<LadderResult> {
  const primary = task.capability;
  let position: LadderPosition = { rung: 'retry', variant: primary };
  let afterHumanRetry = false;
  let primaryUnserved: string | undefined;
  const request: CapabilityRequest = {
    tenantId: ctx.tenantId,
    workflowId: ctx.workflowId,
    runId: ctx.runId,
    taskId: task.id,
    environment: ctx.environment,
    input: task.input,
    upstream,
  };
  const escalated = () => position.rung !== 'retry' || afterHumanRetry;

  for (;;) {
    // Another task's abort stops the ladder between rungs (the DAG itself starts nothing more).
    const aborted = ctx.desk.abortReason;
    if (aborted) {
      ctx.taskEvent(task, 'failed', { error: aborted, rung: position.rung });
      throw new Error(aborted);
    }
    const stub = capabilityStub(task, position.variant, ctx.prefix);
    const variant = position.variant !== primary ? position.variant : undefined;
    ctx.taskEvent(task, 'running', { ...(variant ? { variant } : {}), ...(escalated() ? { rung: position.rung } : {}) });
    let failure: ReturnType<typeof describeFailure>;
    try {
      const result = await stub.activities[position.variant](request);
      ctx.queueServed(position.variant);
      return { kind: 'succeeded', result, variant: position.variant };
    } catch (error) {
      if (isCancellation(error)) throw error;
      failure = describeFailure(error);
    }

    // The rung that just ran is over: why?
    const kind = classifyFailure(failure);
    let problem: string | undefined;
    if (kind === 'not_started') {
      const [report] = await ctx.describe([position.variant]);
      problem = describeQueueProblem(report, stub.scheduleToStartSeconds);
      ctx.queueProblem(report, 'schedule-to-start timeout', problem, position.variant === primary);
      if (position.variant === primary && isUnserved(report)) primaryUnserved = problem;
    }
    const closing = closingStep(position, failure, kind, { attempts: stub.attempts, problem });
    ctx.taskEvent(task, 'failed', {
      error: failure.message,
      ...(failure.worker ? { worker: failure.worker } : {}),
      ...(variant ? { variant } : {}),
      rung: position.rung,
    });
    ctx.ladderStep(task, closing);

    // The next rung, skipping alternates nobody serves (checked before scheduling on them).
    const state = (): LadderState => ({
      taskId: task.id,
      primary,
      alternates: capabilityAlternates(primary),
      strategy: ctx.strategy.current,
      plannedParallelism: ctx.plannedParallelism,
      primaryUnserved,
      afterHumanRetry,
    });
    let decision: LadderDecision = nextAction(state(), position, kind, closing.reason);
    const steps: LadderStep[] = [];
    while (decision.action.kind === 'swap') {
      const alternate = decision.action.variant;
      const [report] = await ctx.describe([alternate]);
      if (!isUnserved(report)) break;
      const message = describeQueueProblem(report);
      ctx.queueProblem(report, 'before swap', message, false);
      steps.push(...decision.steps.filter((s) => !(s.rung === 'swap' && s.step === 'taken')), { rung: 'swap', step: 'skipped', variant: alternate, reason: message });
      decision = nextAction(state(), { rung: 'swap', variant: alternate }, kind, closing.reason);
    }
    steps.push(...decision.steps);
    for (const step of steps) ctx.ladderStep(task, step);

    const action = decision.action;
    if (action.kind === 'swap') {
      position = { rung: 'swap', variant: action.variant };
      continue;
    }
    if (action.kind === 'mutate') {
      ctx.strategy.current = action.strategy;
      ctx.strategyChanged(action.strategy);
      position = { rung: 'mutate', variant: action.variant };
      continue;
    }

    // The human rung: the audit is written before the run says it waits.
    ctx.taskEvent(task, 'escalated', { error: action.reason, rung: 'human' });
    await ctx.flush();
    const outcome = await ctx.desk.wait(
      { environment: ctx.environment, taskId: task.id, capability: primary, reason: action.reason, steps: ctx.taskSteps(task) },
      ctx.humanTimeout.ms,
    );
    if (outcome.kind === 'retry') {
      afterHumanRetry = true;
      primaryUnserved = undefined;
      position = { rung: 'retry', variant: primary };
      continue;
    }
    if (outcome.kind === 'skip') {
      const { resolution } = outcome;
      ctx.taskEvent(task, 'skipped', {
        error: `skipped by ${resolution.by}${resolution.comment ? `: ${resolution.comment}` : ''}`,
        resolvedBy: resolution.by,
        rung: 'human',
      });
      return { kind: 'skipped', resolution };
    }
    let reason: string;
    if (outcome.kind === 'expired') {
      reason = `no resolution within ${ctx.humanTimeout.text} (${action.reason})`;
      ctx.auditEvent('escalation.expired', { environment: ctx.environment, taskId: task.id, capability: primary, timeout: ctx.humanTimeout.text, reason: action.reason });
    } else {
      reason = outcome.kind === 'aborted' ? outcome.reason : (ctx.desk.abortReason ?? `aborted by ${outcome.resolution.by}`);
    }
    ctx.taskEvent(task, 'failed', { error: reason, rung: 'human', ...(outcome.kind === 'abort' ? { resolvedBy: outcome.resolution.by } : {}) });
    throw new Error(reason);
  }
}
