/**
 * One environment of a delivery run with capability routing checks and the escalation ladder (runs started after
 * the `ados-routing-escalation-v1` patch; older runs keep runEnvironment in delivery-run.ts):
 *
 * - before scheduling, Temporal is asked who polls each capability's queue; a capability nobody serves is reported
 *   ("no worker polls capability X (task queue Y)": status notice + audit) and its tasks wait for a worker until
 *   their schedule-to-start timeout, when the queue is checked again and the ladder takes over;
 * - each task runs through runTaskWithLadder (escalation.ts);
 * - task audit entries go through the run's EventSink (batched, off the critical path) and are flushed before the
 *   environment ends.
 */
import type { proxyLocalActivities } from '@temporalio/workflow';
import type { BatchedEvent, DeliveryControlActivities } from '../../activities/delivery/control-activities';
import type { RoutingActivities } from '../../activities/delivery/routing-activities';
import type { LadderStep, StrategyState } from '../../shared/contract/delivery/escalation';
import type { DeliveryRun, Environment, PlanTask } from '../../shared/contract/delivery/input';
import type { DeliveryStatus, SkippedTask, TaskStatus } from '../../shared/contract/delivery/status';
import { describeQueueProblem, isUnserved, type CapabilityQueueReport } from '../../shared/contract/routing';
import { runDag } from '../dag';
import type { AuditTrail, EventSink } from './audit-trail';
import { runTaskWithLadder, type EscalationDesk, type LadderContext, type LadderResult, type TaskEventExtra } from './escalation';

/** The control activities, run as local activities by the control worker (see deliveryRun). */
export type ControlProxy = ReturnType<typeof proxyLocalActivities<DeliveryControlActivities & RoutingActivities>>;

/** The run-wide state the routed environments share. */
export interface RoutedRun {
  run: DeliveryRun;
  workflowId: string;
  prefix: string;
  status: DeliveryStatus;
  control: ControlProxy;
  audit: AuditTrail;
  sink: EventSink<BatchedEvent>;
  desk: EscalationDesk;
  strategy: { current: StrategyState };
  /** Current queue problems by capability, shown as status notices. */
  notices: Map<string, string>;
  humanTimeout: { ms: number; text: string };
  /** The DAG scheduler's wake-on-settle mode (runDag's hooks), decided once per run behind its patch. */
  wakeOnSettle: boolean;
  /** Record skipped tasks (row + audit) like the others, decided once per run behind its patch. */
  auditSkipped: boolean;
}

export type RoutedEnvironmentResult =
  | { ok: true; outputs: Record<string, unknown>; skipped: SkippedTask[] }
  | { ok: false; reason: string; aborted: boolean };

export async function runEnvironmentRouted(rr: RoutedRun, environment: Environment): Promise<RoutedEnvironmentResult> {
  const { run, status, audit, sink } = rr;
  const tasks: Record<string, TaskStatus> = {};
  for (const task of run.plan.tasks) tasks[task.id] = { state: 'pending', capability: task.capability };
  status.tasks[environment] = tasks;

  const auditEvent = (event: string, detail: Record<string, unknown>) => sink.push({ kind: 'audit', ...audit.next(event), detail });

  const queueProblem = (report: CapabilityQueueReport, when: string, message: string, notice: boolean) => {
    if (!isUnserved(report)) return;
    auditEvent('capability.unserved', {
      environment,
      capability: report.capability,
      taskQueue: report.taskQueue,
      when,
      message,
      pollers: report.pollers.map((p) => ({ identity: p.identity, lastAccessTime: p.lastAccessTime })),
    });
    if (!notice) return;
    rr.notices.set(report.capability, message);
    for (const task of run.plan.tasks) {
      if (task.capability === report.capability && tasks[task.id].state !== 'succeeded') tasks[task.id] = { ...tasks[task.id], notice: message };
    }
  };

  const ctx: LadderContext = {
    workflowId: rr.workflowId,
    tenantId: run.tenantId,
    runId: run.runId,
    prefix: rr.prefix,
    environment,
    plannedParallelism: run.maxParallel,
    strategy: rr.strategy,
    desk: rr.desk,
    humanTimeout: rr.humanTimeout,
    describe: (capabilities) => rr.control.describeCapabilityQueues({ capabilities, prefix: rr.prefix }),
    taskEvent(task: PlanTask, state, extra: TaskEventExtra) {
      const { output, ...visible } = extra;
      const previous = tasks[task.id];
      // A new run of the task starts clean; what the ladder learned (steps, notice) stays.
      const base: TaskStatus =
        state === 'running'
          ? { state, capability: previous.capability, ...(previous.steps ? { steps: previous.steps } : {}), ...(previous.notice ? { notice: previous.notice } : {}) }
          : { ...previous, state };
      tasks[task.id] = { ...base, ...visible };
      sink.push({
        kind: 'task',
        ...audit.next(`task.${state}`),
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
    },
    auditEvent,
    ladderStep(task: PlanTask, step: LadderStep) {
      auditEvent(`escalation.${step.rung}`, { environment, taskId: task.id, capability: task.capability, ...step });
      const current = tasks[task.id];
      tasks[task.id] = { ...current, steps: [...(current.steps ?? []), step], ...(step.step === 'taken' ? { rung: step.rung } : {}) };
    },
    queueProblem,
    queueServed(capability: string) {
      rr.notices.delete(capability);
      for (const [id, task] of Object.entries(tasks)) {
        if (task.notice && (task.capability === capability || task.variant === capability)) {
          const { notice: _notice, ...rest } = task;
          tasks[id] = rest;
        }
      }
    },
    strategyChanged(strategy: StrategyState) {
      status.strategy = { ...strategy };
    },
    taskSteps: (task: PlanTask) => [...(tasks[task.id].steps ?? [])],
    flush: () => sink.flush(),
  };

  // Before scheduling: who serves the plan's capabilities?
  const capabilities = [...new Set(run.plan.tasks.map((task) => task.capability))];
  const reports = await ctx.describe(capabilities);
  const unserved = reports.filter(isUnserved);
  for (const report of unserved) queueProblem(report, 'before scheduling', describeQueueProblem(report), true);
  if (unserved.length > 0) await sink.flush();

  const outcomes = await runDag<PlanTask, LadderResult>(
    run.plan.tasks,
    () => rr.strategy.current.maxParallel,
    async (task, upstream) => {
      const inputs: Record<string, unknown> = {};
      for (const [id, result] of Object.entries(upstream)) if (result.kind === 'succeeded') inputs[id] = result.result.output;
      try {
        const result = await runTaskWithLadder(ctx, task, inputs);
        if (result.kind === 'succeeded') {
          const { output, worker, attempt } = result.result;
          ctx.taskEvent(task, 'succeeded', { worker, attempt, output, ...(result.variant !== task.capability ? { variant: result.variant } : {}) });
        }
        return result;
      } finally {
        // A queue notice lasts while some task of that capability still waits for a worker.
        const waiting = run.plan.tasks.some((t) => t.capability === task.capability && t.id !== task.id && ['pending', 'running', 'escalated'].includes(tasks[t.id].state));
        if (!waiting) ctx.queueServed(task.capability);
      }
    },
    {
      onSkip: (id, why) => {
        const task = run.plan.tasks.find((t) => t.id === id);
        if (rr.auditSkipped && task) ctx.taskEvent(task, 'skipped', { error: why });
        else tasks[id] = { ...tasks[id], state: 'skipped', error: why };
      },
      stopReason: () => rr.desk.abortReason,
      wakeOnSettle: rr.wakeOnSettle,
    },
  );
  await sink.flush();
  // The environment is over: nothing of it waits for a worker any more.
  rr.notices.clear();

  const abort = rr.desk.abortReason;
  if (abort) return { ok: false, aborted: true, reason: `in ${environment}: ${abort}` };
  const failed = Object.entries(outcomes).filter(([, o]) => o.status === 'failed');
  if (failed.length > 0) {
    return {
      ok: false,
      aborted: false,
      reason: `in ${environment}: ${failed.map(([id, o]) => `task "${id}" failed: ${o.status === 'failed' ? o.error : ''}`).join('; ')}`,
    };
  }
  const outputs: Record<string, unknown> = {};
  const skipped: SkippedTask[] = [];
  for (const [id, o] of Object.entries(outcomes)) {
    if (o.status !== 'succeeded') continue;
    if (o.result.kind === 'succeeded') outputs[id] = o.result.result.output;
    else skipped.push({ environment, taskId: id, by: o.result.resolution.by, ...(o.result.resolution.comment ? { comment: o.result.resolution.comment } : {}) });
  }
  return { ok: true, outputs, skipped };
}
