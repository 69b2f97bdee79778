import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchedEvent, DeliveryControlActivities } from '../../activities/delivery/control-activities';
import type { RoutingActivities } from '../../activities/delivery/routing-activities';
import { capabilitySpec } from '../../shared/contract/capabilities';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import { DEFAULT_ESCALATION_TIMEOUT, resolveCommand } from '../../shared/contract/delivery/escalation';
import {
  validateDeliveryRunInput,
  type DeliveryRun,
  type DeliveryRunInput,
  type Environment,
  type PlanTask,
} from '../../shared/contract/delivery/input';
import {
  deliveryStatusQuery,
  type DeliveryOutcome,
  type DeliveryResult,
  type DeliveryStatus,
  type SkippedTask,
  type TaskStatus,
} from '../../shared/contract/delivery/status';
import { durationToMs } from '../../shared/contract/duration';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { capabilityTaskQueue, controlTaskQueue, DEFAULT_TASK_QUEUE_PREFIX, prefixFromControlTaskQueue } from '../../shared/contract/task-queues';
import { formatIssues } from '../../shared/contract/validation';
import { ApprovalGate } from '../approval';
import { DAG_WAKE_ON_SETTLE_PATCH, errorMessage, runDag } from '../dag';
import { AuditTrail, EventSink } from './audit-trail';
import { EscalationDesk } from './escalation';
import { runEnvironmentRouted, type RoutedEnvironmentResult, type RoutedRun } from './routed-environment';

/**
 * Capability routing checks and the escalation ladder (README: "Routing and variants", "The escalation ladder"),
 * plus batched task auditing. Runs that started before it keep the original behaviour (runEnvironment below): their
 * histories in test/histories still replay.
 */
export const ROUTING_ESCALATION_PATCH = 'ados-routing-escalation-v1';
/** Tasks skipped behind a failed dependency (or by an abort) get a tasks row and a `task.skipped` audit entry. */
export const AUDIT_SKIPPED_TASKS_PATCH = 'ados-audit-skipped-tasks-v1';

interface TaskEventExtra {
  worker?: string;
  attempt?: number;
  error?: string;
  output?: unknown;
}

type CapabilityActivities = Record<string, (request: CapabilityRequest) => Promise<CapabilityResult>>;

/**
 * A delivery run: the tenant's plan runs through each environment in order; before prod it waits
 * for a human approval. Every step is audited in PostgreSQL through control activities.
 */
export async function deliveryRun(input: DeliveryRunInput): Promise<DeliveryResult> {
  const { workflowId, taskQueue } = workflowInfo();
  // Validated again here: a run started by any client is refused with the same messages.
  const checked = validateDeliveryRunInput(input);
  if (!checked.ok) {
    throw ApplicationFailure.create({
      type: 'InvalidDeliveryInput',
      message: `invalid delivery run input:\n${formatIssues(checked.issues)}`,
      details: [checked.issues],
      nonRetryable: true,
    });
  }
  const run = checked.value;
  const prefix = taskQueuePrefix(taskQueue);
  // Decided once, at the start: a run that began without the marker keeps the old behaviour to its end.
  const routed = patched(ROUTING_ESCALATION_PATCH);
  const wakeOnSettle = routed && patched(DAG_WAKE_ON_SETTLE_PATCH);
  const auditSkipped = routed && patched(AUDIT_SKIPPED_TASKS_PATCH);
  // Database writes retry until the database is back: losing an audit entry is not an option.
  const control = proxyActivities<DeliveryControlActivities & RoutingActivities>({
    taskQueue: controlTaskQueue(prefix),
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  // Runs with the routing/escalation patch write their audit through local activities: the control worker runs this
  // workflow and the control activities alike, so a local activity saves a task-queue round trip per write (the
  // routing-overhead benchmark measures it) and is recorded in the history as a marker. Same activities, same
  // idempotency keys.
  const localControl = proxyLocalActivities<DeliveryControlActivities & RoutingActivities>({
    startToCloseTimeout: '30s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  const writes = routed ? localControl : control;
  const audit = new AuditTrail(run.tenantId);

  const status: DeliveryStatus = {
    workflowId,
    tenantId: run.tenantId,
    runId: run.runId,
    stage: 'validating',
    environments: run.environments,
    completedEnvironments: [],
    tasks: {},
  };
  const gate = new ApprovalGate({
    gate: 'prod',
    policy: run.environments.includes('prod') ? run.approval : undefined,
    requestedBy: run.requestedBy,
    stage: () => status.stage,
    record: (decision, seq) =>
      control.recordApprovalDecision({
        ...audit.next(decision.counted ? (decision.decision === 'approve' ? 'approval.granted' : 'approval.refused') : 'approval.ignored'),
        detail: { ...decision },
        gate: 'prod',
        seq,
        ...decision,
      }),
  });
  // The human rung of the escalation ladder; `resolve` is answered from the start (refused while nothing waits).
  const desk = new EscalationDesk({
    workflowId,
    record: (resolution) =>
      writes.recordAudit({ ...audit.next(resolution.counted ? 'escalation.resolved' : 'escalation.resolve_ignored'), detail: { ...resolution } }),
    awaiting: (waiting) => upsertSearchAttributes([{ key: AdosAwaitingApproval, value: waiting }]),
  });
  const routedRun: RoutedRun = {
    run,
    workflowId,
    prefix,
    status,
    control: localControl,
    audit,
    sink: new EventSink<BatchedEvent>((batch) => localControl.recordEvents(batch)),
    desk,
    strategy: { current: { name: 'as-planned', maxParallel: run.maxParallel } },
    notices: new Map(),
    humanTimeout: { text: run.escalationTimeout ?? DEFAULT_ESCALATION_TIMEOUT, ms: durationToMs(run.escalationTimeout ?? DEFAULT_ESCALATION_TIMEOUT) },
    wakeOnSettle,
    auditSkipped,
  };
  if (routed) status.strategy = { ...routedRun.strategy.current };
  setHandler(deliveryStatusQuery, () => statusView(status, gate, routedRun));

  upsertSearchAttributes([
    { key: AdosTenant, value: run.tenantId },
    { key: AdosKind, value: 'delivery' },
    { key: AdosStage, value: status.stage },
    { key: AdosAwaitingApproval, value: false },
  ]);
  await writes.recordRunStarted({
    ...audit.next('run.started'),
    runId: run.runId,
    kind: 'delivery',
    requestedBy: run.requestedBy,
    input: run,
  });

  let outcome: DeliveryOutcome = 'succeeded';
  let reason: string | undefined;
  let outputs: Record<string, unknown> = {};
  const skippedTasks: SkippedTask[] = [];

  for (const environment of run.environments) {
    if (environment === 'prod') {
      upsertSearchAttributes([{ key: AdosStage, value: 'awaiting_approval' }]);
      await writes.recordAudit({ ...audit.next('approval.requested'), detail: { gate: 'prod', policy: run.approval } });
      // The status query says "awaiting approval" only once the request is audited and the gate opens (gate.wait()
      // opens it in this same activation): a decision sent on seeing that stage is never refused as "not requested
      // yet". Query state only, so the workflow's commands (and replay of existing histories) are unchanged.
      status.stage = 'awaiting_approval';
      status.waitingFor = `approval by ${run.approval?.quorum} of ${run.approval?.approvers.join(', ')} (within ${run.approval?.timeout})`;
      const decision = await gate.wait();
      status.waitingFor = undefined;
      if (decision !== 'approved') {
        outcome = decision === 'rejected' ? 'rejected' : 'approval_expired';
        reason = decision === 'rejected' ? `rejected by ${gate.snapshot()?.rejectedBy}` : `no quorum within ${run.approval?.timeout}`;
        if (decision === 'expired') {
          await writes.recordAudit({ ...audit.next('approval.expired'), detail: { gate: 'prod', timeout: run.approval?.timeout } });
        }
        break;
      }
    }

    status.stage = environment;
    upsertSearchAttributes([{ key: AdosStage, value: environment }]);
    const result: RoutedEnvironmentResult = routed
      ? await runEnvironmentRouted(routedRun, environment)
      : withoutLadder(await runEnvironment(run, environment, status, control, audit, prefix));
    if (!result.ok) {
      outcome = result.aborted ? 'aborted' : 'failed';
      reason = result.reason;
      break;
    }
    outputs = result.outputs;
    skippedTasks.push(...result.skipped);
    status.completedEnvironments.push(environment);
    await writes.recordAudit({ ...audit.next('environment.promoted'), detail: { environment } });
  }

  status.stage = 'finished';
  status.outcome = outcome;
  desk.finish();
  if (routed) await routedRun.sink.flush();
  upsertSearchAttributes([{ key: AdosStage, value: 'finished' }]);
  const result: DeliveryResult = {
    workflowId,
    outcome,
    completedEnvironments: status.completedEnvironments,
    reason,
    outputs,
    ...(skippedTasks.length > 0 ? { skippedTasks } : {}),
  };
  await writes.recordRunFinished({ ...audit.next('run.finished'), detail: { outcome, reason }, status: outcome, result });
  log.info('delivery run finished', { outcome, reason });
  // Let in-flight signal and update handlers finish their audit writes before the run closes.
  await condition(allHandlersFinished);
  return result;
}

/** The original environment's result in the routed shape (it never aborts or skips). */
function withoutLadder(result: { ok: true; outputs: Record<string, unknown> } | { ok: false; reason: string }): RoutedEnvironmentResult {
  return result.ok ? { ok: true, outputs: result.outputs, skipped: [] } : { ok: false, reason: result.reason, aborted: false };
}

/** The status query's answer: the run's state plus the approval gate, open escalations and queue notices. */
function statusView(status: DeliveryStatus, gate: ApprovalGate, routedRun: RoutedRun): DeliveryStatus {
  const view: DeliveryStatus = { ...status, approval: gate.snapshot() };
  const escalations = routedRun.desk.snapshot();
  const notices = [...routedRun.notices.values()];
  if (escalations.length > 0) view.escalations = escalations;
  if (notices.length > 0) view.notices = notices;
  const waiting = [
    ...(status.waitingFor ? [status.waitingFor] : []),
    ...escalations.map((e) => `a resolution of task "${e.taskId}" in ${e.environment} (${e.reason}): ${resolveCommand(status.workflowId, e.taskId)}`),
    ...(escalations.length === 0 ? notices.map((notice) => `a worker: ${notice}`) : []),
  ];
  view.waitingFor = waiting.length > 0 ? waiting.join('; ') : undefined;
  return view;
}

async function runEnvironment(
  run: DeliveryRun,
  environment: Environment,
  status: DeliveryStatus,
  control: ReturnType<typeof proxyActivities<DeliveryControlActivities>>,
  audit: AuditTrail,
  prefix: string,
): Promise<{ ok: true; outputs: Record<string, unknown> } | { ok: false; reason: string }> {
  const tasks: Record<string, TaskStatus> = {};
  for (const task of run.plan.tasks) tasks[task.id] = { state: 'pending', capability: task.capability };
  status.tasks[environment] = tasks;

  const taskEvent = (task: PlanTask, state: TaskStatus['state'], extra: TaskEventExtra = {}) => {
    const { output, ...visible } = extra;
    tasks[task.id] = { ...tasks[task.id], state, ...visible };
    return control.recordTaskEvent({
      ...audit.next(`task.${state}`),
      detail: { environment, taskId: task.id, capability: task.capability, ...visible },
      environment,
      taskId: task.id,
      capability: task.capability,
      state,
      ...visible,
      output,
    });
  };

  const outcomes = await runDag<PlanTask, unknown>(
    run.plan.tasks,
    run.maxParallel,
    async (task, upstream) => {
      await taskEvent(task, 'running');
      try {
        const result = await capabilityActivity(task, prefix)[task.capability]({
          tenantId: run.tenantId,
          workflowId: workflowInfo().workflowId,
          runId: run.runId,
          taskId: task.id,
          environment,
          input: task.input,
          upstream,
        });
        await taskEvent(task, 'succeeded', { worker: result.worker, attempt: result.attempt, output: result.output });
        return result.output;
      } catch (error) {
        await taskEvent(task, 'failed', { error: errorMessage(error) });
        throw error;
      }
    },
    {
      onSkip: (id, why) => {
        tasks[id] = { ...tasks[id], state: 'skipped', error: why };
      },
    },
  );

  const failed = Object.entries(outcomes).filter(([, o]) => o.status === 'failed');
  if (failed.length > 0) {
    return {
      ok: false,
      reason: `in ${environment}: ${failed.map(([id, o]) => `task "${id}" failed: ${o.status === 'failed' ? o.error : ''}`).join('; ')}`,
    };
  }
  const outputs: Record<string, unknown> = {};
  for (const [id, o] of Object.entries(outcomes)) if (o.status === 'succeeded') outputs[id] = o.result;
  return { ok: true, outputs };
}

/**
 * The deployment's prefix, from the control queue this run is on. A replay worker (Worker.runReplayHistories, the
 * determinism gate in test/replay) runs workflows on a queue of its own, "<replayName>-<n>": there nothing is
 * dispatched and the task queue of a scheduled activity is not compared with the history, so the default prefix
 * replays the same commands. A live run on a queue that is not a control queue is a deployment error, as before.
 */
function taskQueuePrefix(taskQueue: string): string {
  try {
    return prefixFromControlTaskQueue(taskQueue);
  } catch (error) {
    if (workflowInfo().unsafe.isReplaying) return DEFAULT_TASK_QUEUE_PREFIX;
    throw error;
  }
}

/** The activity stub for one task: its capability's queue, timeouts and retry policy. */
function capabilityActivity(task: PlanTask, prefix: string): CapabilityActivities {
  // Validation has already refused unknown capabilities.
  const spec = capabilitySpec(task.capability)!;
  const retry = { ...spec.retry, ...task.retry };
  return proxyActivities<CapabilityActivities>({
    taskQueue: capabilityTaskQueue(task.capability, prefix),
    startToCloseTimeout: `${task.timeoutSeconds ?? spec.startToCloseTimeoutSeconds}s`,
    heartbeatTimeout: `${task.heartbeatTimeoutSeconds ?? spec.heartbeatTimeoutSeconds}s`,
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: `${retry.initialIntervalSeconds}s`,
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: `${retry.maximumIntervalSeconds}s`,
      nonRetryableErrorTypes: ['InvalidCapabilityInput'],
    },
  });
}
