import type { proxyLocalActivities } from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import type { BatchedEvent, DeliveryControlActivities } from '../../activities/delivery/control-activities';
import type { RoutingActivities } from '../../activities/delivery/routing-activities';
import type { StrategyState } from '../../shared/contract/delivery/escalation';
import { taskAgent, type DeliveryRun, type Environment, type PlanTask } from '../../shared/contract/delivery/input';
import type { SkippedTask, TaskStatus } from '../../shared/contract/delivery/status';
import { describeQueueProblem, isUnserved, type CapabilityQueueReport } from '../../shared/contract/routing';
import { agentResource } from '../../shared/contract/tenancy/gate';
import type { AuditTrail, EventSink } from '../common/audit-trail';
import { failedNodesReason, runDag } from '../dag';
import type { EscalationDesk } from './escalation-desk';
import { runTaskWithLadder, type LadderEnvironment, type LadderEvent, type LadderResult } from './escalation-ladder';
import type { TenantSlots } from './tenant-slots';

/** The control activities a delivery run calls, as local activities of the control worker (see deliveryRun). */
export type DeliveryControlProxy = ReturnType<typeof proxyLocalActivities<AuditActivities & DeliveryControlActivities & RoutingActivities>>;

/** What the environments of one run share. */
export interface DeliveryRunContext {
  run: DeliveryRun;
  workflowId: string;
  prefix: string;
  control: DeliveryControlProxy;
  audit: AuditTrail;
  sink: EventSink<BatchedEvent>;
  desk: EscalationDesk;
  /** The run's strategy; the ladder's mutate rung replaces it (the DAG reads it before starting each task). */
  strategy: { current: StrategyState };
  /** Current queue problems by capability, shown as status notices. */
  notices: Map<string, string>;
  humanTimeout: { ms: number; text: string };
  /** The run's tenant gate; each task holds a unit of its agent while it runs (absent: runs from before the gate). */
  slots?: TenantSlots;
}

/** How an environment ended. */
export type EnvironmentResult =
  | { ok: true; outputs: Record<string, unknown>; skipped: SkippedTask[] }
  | { ok: false; reason: string; aborted: boolean };

/**
 * One environment of a delivery run. It owns its tasks' status (`tasks`, the status query's view) and their audit:
 * before scheduling it asks Temporal who polls each capability's queue and reports a capability nobody serves
 * ("no worker polls capability X (task queue Y)": status notice + audit); then it runs the plan's DAG, each task
 * through the escalation ladder, and records what the ladder reports. Audit entries go through the run's EventSink
 * (batched, off the tasks' critical path); the run flushes them after the environment.
 */
export class EnvironmentRunner {
  private readonly tasks: Record<string, TaskStatus> = {};
  /** Some task of this environment was given a queue notice (until then there is none to clear). */
  private noticed = false;

  /** `onStrategy` is told when the ladder re-plans the run (the status shows the strategy). */
  constructor(
    private readonly ctx: DeliveryRunContext,
    private readonly environment: Environment,
    private readonly onStrategy: (strategy: StrategyState) => void,
  ) {
    for (const task of ctx.run.plan.tasks) this.tasks[task.id] = { state: 'pending', capability: task.capability };
  }

  /** The tasks' status, live (the status query reads it). */
  get taskStatus(): Record<string, TaskStatus> {
    return this.tasks;
  }

  /**
   * Runs the environment's DAG once `started` (the run's row, which task rows reference, is written) and the routing
   * check are done. Its audit entries are still in the sink when it returns: the caller flushes them (with the
   * promotion, or at the end of the run).
   */
  async run(started: Promise<void>): Promise<EnvironmentResult> {
    const { ctx, environment } = this;
    const { run } = ctx;
    const ladder: LadderEnvironment = {
      request: { tenantId: run.tenantId, workflowId: ctx.workflowId, runId: run.runId, environment },
      prefix: ctx.prefix,
      capabilities: run.capabilities,
      plannedParallelism: run.maxParallel,
      strategy: () => ctx.strategy.current,
      desk: ctx.desk,
      humanTimeout: ctx.humanTimeout,
      describe: (capabilities) => ctx.control.describeCapabilityQueues({ capabilities, prefix: ctx.prefix }),
      flush: () => ctx.sink.flush(),
    };

    // Before scheduling: who serves the plan's capabilities?
    const capabilities = [...new Set(run.plan.tasks.map((task) => task.capability))];
    const [reports] = await Promise.all([ladder.describe(capabilities), started]);
    const unserved = reports.filter(isUnserved);
    for (const report of unserved) this.queueProblem(report, 'before scheduling', describeQueueProblem(report), true);
    if (unserved.length > 0) await ctx.sink.flush();

    const outcomes = await runDag<PlanTask, LadderResult>(
      run.plan.tasks,
      () => ctx.strategy.current.maxParallel,
      // Not an async function: the SDK captures a stack trace for every promise a workflow creates, and this runs
      // once per task (the routing-overhead benchmark's profile shows those captures as a large part of its CPU).
      (task, upstream) => {
        const inputs: Record<string, unknown> = {};
        for (const [id, result] of Object.entries(upstream)) if (result.kind === 'succeeded') inputs[id] = result.result.output;
        // A queue notice lasts while some task of that capability still waits for a worker.
        const settled = () => {
          if (!this.noticed) return;
          const waiting = run.plan.tasks.some(
            (t) => t.capability === task.capability && t.id !== task.id && ['pending', 'running', 'escalated'].includes(this.tasks[t.id].state),
          );
          if (!waiting) this.queueServed(task.capability);
        };
        const runTask = () =>
          runTaskWithLadder(ladder, task, inputs, (event) => this.apply(task, event)).then(
            (result) => {
              if (result.kind === 'succeeded') {
                const { output, worker, attempt } = result.result;
                this.taskEvent(task, 'succeeded', { worker, attempt, output, ...(result.variant !== task.capability ? { variant: result.variant } : {}) });
              }
              settled();
              return result;
            },
            (error: unknown) => {
              settled();
              throw error;
            },
          );
        const unit = { resource: agentResource(taskAgent(task)), ...(run.priority !== undefined ? { priority: run.priority } : {}) };
        return ctx.slots ? ctx.slots.withUnit(unit, runTask) : runTask();
      },
      {
        onSkip: (id, why) => this.taskEvent(run.plan.tasks.find((t) => t.id === id)!, 'skipped', { error: why }),
        stopReason: () => ctx.desk.abortReason,
      },
    );
    // The environment is over: nothing of it waits for a worker any more.
    ctx.notices.clear();

    const abort = ctx.desk.abortReason;
    if (abort) return { ok: false, aborted: true, reason: `in ${environment}: ${abort}` };
    const failed = failedNodesReason(outcomes, 'task');
    if (failed) return { ok: false, aborted: false, reason: `in ${environment}: ${failed}` };
    const outputs: Record<string, unknown> = {};
    const skipped: SkippedTask[] = [];
    for (const [id, o] of Object.entries(outcomes)) {
      if (o.status !== 'succeeded') continue;
      if (o.result.kind === 'succeeded') outputs[id] = o.result.result.output;
      else skipped.push({ environment, taskId: id, by: o.result.resolution.by, ...(o.result.resolution.comment ? { comment: o.result.resolution.comment } : {}) });
    }
    return { ok: true, outputs, skipped };
  }

  /** Records one thing the ladder reports about a task. */
  private apply(task: PlanTask, event: LadderEvent): void {
    const { environment } = this;
    switch (event.type) {
      case 'task':
        this.taskEvent(task, event.state, event.extra);
        return;
      case 'step': {
        const { step } = event;
        this.auditEvent(`escalation.${step.rung}`, { environment, taskId: task.id, capability: task.capability, ...step });
        const current = this.tasks[task.id];
        this.tasks[task.id] = { ...current, steps: [...(current.steps ?? []), step], ...(step.step === 'taken' ? { rung: step.rung } : {}) };
        return;
      }
      case 'queue':
        this.queueProblem(event.report, event.when, event.message, event.notice);
        return;
      case 'served':
        this.queueServed(event.capability);
        return;
      case 'strategy':
        this.ctx.strategy.current = event.strategy;
        this.onStrategy(event.strategy);
        return;
      case 'expired':
        this.auditEvent('escalation.expired', { environment, taskId: task.id, capability: task.capability, timeout: event.timeout, reason: event.reason });
        return;
    }
  }

  /** Updates a task's status and queues its audit entry (`task.<state>`, with a `tasks` row). */
  private taskEvent(task: PlanTask, state: Exclude<TaskStatus['state'], 'pending'>, extra: Extract<LadderEvent, { type: 'task' }>['extra']): void {
    const { output, ...visible } = extra;
    const previous = this.tasks[task.id];
    // A new run of the task starts clean; what the ladder learned (steps, notice) stays.
    const base: TaskStatus =
      state === 'running'
        ? { state, capability: previous.capability, ...(previous.steps ? { steps: previous.steps } : {}), ...(previous.notice ? { notice: previous.notice } : {}) }
        : { ...previous, state };
    this.tasks[task.id] = { ...base, ...visible };
    const { environment, ctx } = this;
    ctx.sink.push({
      kind: 'task',
      ...ctx.audit.next(`task.${state}`),
      detail: { environment, taskId: task.id, capability: task.capability, ...visible },
      environment,
      taskId: task.id,
      capability: task.capability,
      state,
      worker: visible.worker,
      attempt: visible.attempt,
      error: visible.error,
      output,
    });
  }

  private auditEvent(event: string, detail: Record<string, unknown>): void {
    this.ctx.sink.push({ kind: 'audit', ...this.ctx.audit.next(event), detail });
  }

  /** Audits a queue nobody polls (capability.unserved); with `notice`, shows it on the status while its tasks wait. */
  private queueProblem(report: CapabilityQueueReport, when: string, message: string, notice: boolean): void {
    if (!isUnserved(report)) return;
    this.auditEvent('capability.unserved', {
      environment: this.environment,
      capability: report.capability,
      taskQueue: report.taskQueue,
      when,
      message,
      pollers: report.pollers.map((p) => ({ identity: p.identity, lastAccessTime: p.lastAccessTime })),
    });
    if (!notice) return;
    this.noticed = true;
    this.ctx.notices.set(report.capability, message);
    for (const task of this.ctx.run.plan.tasks) {
      if (task.capability === report.capability && this.tasks[task.id].state !== 'succeeded') this.tasks[task.id] = { ...this.tasks[task.id], notice: message };
    }
  }

  /** A capability's tasks ran: its queue problem, if any, is over. */
  private queueServed(capability: string): void {
    if (!this.noticed) return;
    this.ctx.notices.delete(capability);
    for (const [id, task] of Object.entries(this.tasks)) {
      if (task.notice && (task.capability === capability || task.variant === capability)) {
        const { notice: _notice, ...rest } = task;
        this.tasks[id] = rest;
      }
    }
  }
}
