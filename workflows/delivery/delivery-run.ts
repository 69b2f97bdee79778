import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import type { GovernanceActivities } from '../../activities/common/governance-activities';
import type { BatchedEvent, DeliveryControlActivities } from '../../activities/delivery/control-activities';
import type { RoutingActivities } from '../../activities/delivery/routing-activities';
import { DEFAULT_ESCALATION_TIMEOUT, resolveCommand } from '../../shared/contract/delivery/escalation';
import { validateDeliveryRunInput, type DeliveryRun, type DeliveryRunInput, type Environment } from '../../shared/contract/delivery/input';
import {
  deliveryStatusQuery,
  type DeliveryOutcome,
  type DeliveryResult,
  type DeliveryStatus,
  type SkippedTask,
} from '../../shared/contract/delivery/status';
import { durationToMs } from '../../shared/contract/duration';
import type { StrategyClientActivities, StrategyDecision } from '../../shared/contract/learning/strategy/bandit';
import { rolloutWaves } from '../../shared/contract/learning/strategy/strategy';
import { lookupAlternates } from '../../shared/contract/capability-spec';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { RUNS_RESOURCE, type TenantGateClientActivities } from '../../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../../shared/contract/workflow-ids';
import { formatIssues } from '../../shared/contract/validation';
import type { ApprovalGate } from '../approval';
import { afterActivation, AuditTrail, EventSink } from '../common/audit-trail';
import { approvalGateFor, controlLocalActivities, handlerWriteActivities } from '../common/control-activities';
import { GovernanceGates } from '../common/governance';
import { runTaskQueuePrefix } from '../common/task-queue';
import { EscalationDesk } from './escalation-desk';
import { EnvironmentRunner, type DeliveryRunContext, type DeliveryControlProxy } from './environment';
import { firstTaskUnits, TenantSlots } from './tenant-slots';

/** Runs from this patch on hold a slot of their tenant gate while they run, and their tasks their agents' slots. */
export const TENANT_GATE_PATCH = 'ados-tenant-gate-v1';
/**
 * Runs from this patch on execute a strategy the tenant's bandit chooses at their start (README, "Strategy
 * learning") and pay it its reward at their end.
 */
export const STRATEGY_BANDIT_PATCH = 'ados-strategy-bandit-v1';

/**
 * A delivery run: the tenant's plan runs through each environment in order (environment.ts: its DAG, each task on
 * its capability's queue, through the escalation ladder); before prod it waits at the approval gate. Every step is
 * audited in PostgreSQL through control activities.
 */
export async function deliveryRun(input: DeliveryRunInput): Promise<DeliveryResult> {
  return new DeliveryRunWorkflow(validated(input)).run();
}

/** The input, validated again here: a run started by any client is refused with the client's own messages. */
function validated(input: DeliveryRunInput): DeliveryRun {
  const checked = validateDeliveryRunInput(input);
  if (checked.ok) return checked.value;
  throw ApplicationFailure.create({
    type: 'InvalidDeliveryInput',
    message: `invalid delivery run input:\n${formatIssues(checked.issues)}`,
    details: [checked.issues],
    nonRetryable: true,
  });
}

/** How the run ended, before it is recorded. */
interface Ending {
  outcome: DeliveryOutcome;
  reason?: string;
  outputs: Record<string, unknown>;
  skippedTasks: SkippedTask[];
}

class DeliveryRunWorkflow {
  private readonly workflowId = workflowInfo().workflowId;
  /** The run's control writes, as local activities (the routing-overhead benchmark measures the round trip saved). */
  private readonly control: DeliveryControlProxy = controlLocalActivities<AuditActivities & DeliveryControlActivities & RoutingActivities>();
  /** The escalation desk's resolutions are written from signal and update handlers. */
  private readonly handlerWrites = handlerWriteActivities();
  private readonly audit: AuditTrail;
  private readonly status: DeliveryStatus;
  private readonly gate: ApprovalGate;
  private readonly ctx: DeliveryRunContext;
  /** The tenant gate, reached by signal-with-start from a local activity (the control worker runs both). */
  private readonly slots: TenantSlots;
  /** The bandit's choice for this run and the workflow time it was made (absent: runs from before the bandit). */
  private decision?: { chosen: StrategyDecision; at: number };
  /** Local like the other control calls; the reward retries until the database takes it (it is applied once). */
  private readonly strategyActivities = controlLocalActivities<StrategyClientActivities>();

  constructor(private readonly input: DeliveryRun) {
    this.audit = new AuditTrail(input.tenantId);
    this.status = {
      workflowId: this.workflowId,
      tenantId: input.tenantId,
      runId: input.runId,
      stage: 'validating',
      environments: input.environments,
      completedEnvironments: [],
      tasks: {},
    };
    // Handlers are set at the start, so a decision or a resolution sent early is answered (and audited) as such.
    this.gate = approvalGateFor({
      gate: 'prod',
      policy: input.environments.includes('prod') ? input.approval : undefined,
      requestedBy: input.requestedBy,
      stage: () => this.status.stage,
      audit: this.audit,
      control: this.control,
      workflowId: this.workflowId,
      tenantId: input.tenantId,
      subject: () => this.control.deliveryApprovalSubject({ workflowId: this.workflowId, gate: 'prod', target: 'prod', plan: input.plan }),
    });
    const desk = new EscalationDesk({
      workflowId: this.workflowId,
      record: (resolution) =>
        this.handlerWrites.recordAudit({ ...this.audit.next(resolution.counted ? 'escalation.resolved' : 'escalation.resolve_ignored'), detail: { ...resolution } }),
      awaiting: (waiting) => upsertSearchAttributes([{ key: AdosAwaitingApproval, value: waiting }]),
    });
    const humanTimeout = input.escalationTimeout ?? DEFAULT_ESCALATION_TIMEOUT;
    this.ctx = {
      run: input,
      workflowId: this.workflowId,
      prefix: runTaskQueuePrefix(),
      control: this.control,
      audit: this.audit,
      sink: new EventSink<BatchedEvent>((batch) => this.control.recordEvents(batch), undefined, afterActivation),
      desk,
      strategy: { current: { name: 'as-planned', maxParallel: input.maxParallel } },
      notices: new Map(),
      humanTimeout: { text: humanTimeout, ms: durationToMs(humanTimeout) },
    };
    this.status.strategy = { ...this.ctx.strategy.current };
    const gateActivities = controlLocalActivities<TenantGateClientActivities>();
    this.slots = new TenantSlots({ workflowId: this.workflowId, runId: workflowInfo().runId }, (request) =>
      gateActivities.requestTenantSlots({ tenantId: input.tenantId, taskQueuePrefix: this.ctx.prefix, request }),
    );
    setHandler(deliveryStatusQuery, () => this.statusView());
  }

  /**
   * From TENANT_GATE_PATCH on, the run holds a `runs` slot of its tenant gate from before its first environment to
   * its closing write, whatever the end (failure and cancellation included; a terminated run's slot the gate takes
   * back itself).
   */
  async run(): Promise<DeliveryResult> {
    const gated = patched(TENANT_GATE_PATCH);
    // The run's row goes in while the first environment asks who serves its capabilities; its tasks wait for both.
    const started = this.start();
    if (!gated) return this.finish(await this.runEnvironments(started));
    this.ctx.slots = this.slots;
    try {
      await Promise.all([started, this.acquireRunSlot()]);
      const ending = await this.runEnvironments(started);
      // The slots go back while the run's closing write goes in (its tasks are over); the finally only waits for that.
      const [result] = await Promise.all([this.finish(ending), this.slots.releaseAll()]);
      return result;
    } finally {
      await this.slots.releaseAll();
    }
  }

  /**
   * Waits for one of the tenant's `runs` slots (the tenant gate: at most limits.maxConcurrentRuns run at once); the
   * units of the run's first tasks are asked for with it, and granted with it.
   */
  private async acquireRunSlot(): Promise<void> {
    const { input } = this;
    this.status.waitingFor = `a run slot of tenant ${input.tenantId} (gate ${tenantGateWorkflowId(input.tenantId)}; \`ados run why\` shows the position)`;
    const priority = input.priority !== undefined ? { priority: input.priority } : {};
    for (const [resource, count] of firstTaskUnits(input)) this.slots.prefetch({ resource, ...priority }, count);
    await this.slots.acquire({
      requestId: RUNS_RESOURCE,
      resource: RUNS_RESOURCE,
      capabilities: [...new Set(input.plan.tasks.map((task) => task.capability))],
      ...priority,
    });
    this.status.waitingFor = undefined;
  }

  private async start(): Promise<void> {
    const { input } = this;
    upsertSearchAttributes([
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'delivery' },
      { key: AdosStage, value: this.status.stage },
      { key: AdosAwaitingApproval, value: false },
    ]);
    await this.control.recordRunStarted({
      ...this.audit.next('run.started'),
      runId: input.runId,
      kind: 'delivery',
      requestedBy: input.requestedBy,
      input,
    });
  }

  /**
   * Each environment in order, each after the governance gates; prod only after the approval gate. Stops at the
   * first one that does not succeed. `started`: the run's row is written (nothing of an environment is recorded
   * before it). Runs started before the gates existed (no `ados-governance-gates-v1` marker) replay without them.
   */
  private async runEnvironments(started: Promise<void>): Promise<Ending> {
    if (patched(STRATEGY_BANDIT_PATCH)) await this.chooseStrategy();
    const skippedTasks: SkippedTask[] = [];
    let outputs: Record<string, unknown> = {};
    const governed = patched('ados-governance-gates-v1');
    // One environment at a time, or dev and stage side by side when the strategy asks and the plan allows.
    const waves = rolloutWaves(this.input.environments, this.ctx.strategy.current.rollout, this.input.goal.risk);
    for (const wave of waves) {
      for (const environment of wave) {
        if (!governed) break;
        const refused = await this.governPromotion(environment, started);
        if (refused) return { ...refused, outputs, skippedTasks };
      }
      if (wave.includes('prod')) {
        await started;
        await this.ctx.sink.flush();
        const refused = await this.awaitApproval();
        if (refused) return { ...refused, outputs, skippedTasks };
      }
      const results = wave.length === 1 ? [await this.runEnvironment(wave[0], started)] : await Promise.all(wave.map((environment) => this.runEnvironment(environment, started)));
      for (const [index, environment] of wave.entries()) {
        const result = results[index];
        if (!result.ok) return { outcome: result.aborted ? 'aborted' : 'failed', reason: result.reason, outputs, skippedTasks };
        outputs = result.outputs;
        skippedTasks.push(...result.skipped);
        this.status.completedEnvironments.push(environment);
        // An approval or a freeze may hold the run before the next environment: its agents' idle units go back meanwhile.
        if (environment !== this.input.environments.at(-1)) this.ctx.slots?.releaseIdle();
        // After the environment's last task entries: in their batch, or in the run's closing write.
        this.ctx.sink.push({ kind: 'audit', ...this.audit.next('environment.promoted'), detail: { environment } });
      }
    }
    return { outcome: 'succeeded', outputs, skippedTasks };
  }

  /**
   * Asks the tenant's bandit for this run's strategy (the decision, with its scores and propensity, is the activity's
   * result in the history) and runs with it from the first task on; the choice is audited.
   */
  private async chooseStrategy(): Promise<void> {
    const { input } = this;
    const tasks = input.plan.tasks;
    const at = Date.now();
    const chosen = await this.strategyActivities.selectDeliveryStrategy({
      tenantId: input.tenantId,
      workflowId: this.workflowId,
      goal: input.goal,
      plannedParallelism: input.maxParallel,
      at: new Date(at).toISOString(),
      plan: {
        tasks: tasks.length,
        environments: input.environments.length,
        includesProd: input.environments.includes('prod'),
        alternatesShare: tasks.filter((task) => lookupAlternates(task.capability, input.capabilities).length > 0).length / tasks.length,
      },
    });
    this.decision = { chosen, at };
    this.ctx.strategy.current = chosen.strategy;
    this.status.strategy = { ...chosen.strategy };
    const { arm, propensity, scores, shadow } = chosen;
    this.ctx.sink.push({ kind: 'audit', ...this.audit.next('strategy.selected'), detail: { arm, propensity, scores, ...(shadow ? { shadow } : {}) } });
  }

  /** Pays the bandit this run's reward (after the closing write, so every cost its tasks reported is in). */
  private async rewardStrategy(outcome: DeliveryOutcome): Promise<void> {
    if (!this.decision) return;
    const escalations = Object.values(this.status.tasks)
      .flatMap((tasks) => Object.values(tasks))
      .flatMap((task) => task.steps ?? [])
      .filter((step) => step.step === 'taken').length;
    await this.strategyActivities.recordStrategyReward({
      tenantId: this.input.tenantId,
      workflowId: this.workflowId,
      succeeded: outcome === 'succeeded',
      durationSeconds: (Date.now() - this.decision.at) / 1000,
      escalations,
    });
  }

  /**
   * The governance gates before an environment (README, "Governance gates"): the promotion is a `deploy` into it,
   * judged by the forbidden, allowlist and freeze gates (prod's approval is the run's own gate, next). A freeze whose
   * policy is `wait` holds the run until it ends; a refusing freeze or any other block ends the run `refused`.
   */
  private async governPromotion(environment: Environment, started: Promise<void>): Promise<Pick<Ending, 'outcome' | 'reason'> | undefined> {
    await started;
    // The gates' reads (the clock among them) are local activities, like the run's other control reads.
    const governance = controlLocalActivities<GovernanceActivities>();
    const gates = new GovernanceGates({
      readContext: governance.readGovernanceContext,
      audit: async (event, detail) => this.ctx.sink.push({ kind: 'audit', ...this.audit.next(event), detail }),
    });
    const proposal = { action: 'deploy', tenantId: this.input.tenantId, service: this.input.runId, environment };
    const { verdict } = await gates.untilUnfrozen(proposal, 'not_requested', ['forbidden', 'allowlist', 'freeze'], (until) => {
      this.status.waitingFor = until ? `the change freeze on ${environment} to end (${until})` : undefined;
    });
    if (verdict.allowed) return undefined;
    return { outcome: 'refused', reason: verdict.blocks.map((b) => `${b.gate}: ${b.reason}`).join('; ') };
  }

  /** Waits at the gate before prod; the outcome and reason when prod must not run. */
  private async awaitApproval(): Promise<Pick<Ending, 'outcome' | 'reason'> | undefined> {
    const approval = this.input.approval;
    upsertSearchAttributes([{ key: AdosStage, value: 'awaiting_approval' }]);
    const decision = await this.gate.wait({}, () => {
      this.status.stage = 'awaiting_approval';
      this.status.waitingFor = `approval by ${approval?.quorum} of ${approval?.approvers.join(', ')} (within ${approval?.timeout})`;
    });
    this.status.waitingFor = undefined;
    if (decision === 'approved') return undefined;
    if (decision === 'rejected') return { outcome: 'rejected', reason: `rejected by ${this.gate.snapshot()?.rejectedBy}` };
    return { outcome: 'approval_expired', reason: `no quorum within ${approval?.timeout}` };
  }

  private async runEnvironment(environment: Environment, started: Promise<void>) {
    this.status.stage = environment;
    upsertSearchAttributes([{ key: AdosStage, value: environment }]);
    const runner = new EnvironmentRunner(this.ctx, environment, (strategy) => {
      this.status.strategy = { ...strategy };
    });
    this.status.tasks[environment] = runner.taskStatus;
    return runner.run(started);
  }

  private async finish({ outcome, reason, outputs, skippedTasks }: Ending): Promise<DeliveryResult> {
    this.status.stage = 'finished';
    this.status.outcome = outcome;
    this.ctx.desk.finish();
    const events = await this.ctx.sink.take();
    upsertSearchAttributes([{ key: AdosStage, value: 'finished' }]);
    const result: DeliveryResult = {
      workflowId: this.workflowId,
      outcome,
      completedEnvironments: this.status.completedEnvironments,
      reason,
      outputs,
      ...(skippedTasks.length > 0 ? { skippedTasks } : {}),
    };
    await this.control.recordRunFinished({ ...this.audit.next('run.finished'), detail: { outcome, reason }, status: outcome, result, events });
    await this.rewardStrategy(outcome);
    log.info('delivery run finished', { outcome, reason });
    // Let in-flight signal and update handlers finish their audit writes before the run closes.
    await condition(allHandlersFinished);
    return result;
  }

  /** The status query's answer: the run's state plus the approval gate, open escalations and queue notices. */
  private statusView(): DeliveryStatus {
    const { status, ctx } = this;
    const view: DeliveryStatus = { ...status, approval: this.gate.snapshot() };
    const escalations = ctx.desk.snapshot();
    const notices = [...ctx.notices.values()];
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
}
