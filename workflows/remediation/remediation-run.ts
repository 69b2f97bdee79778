import { allHandlersFinished, ApplicationFailure, condition, log, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import type { GovernanceActivities } from '../../activities/common/governance-activities';
import type { RemediationControlActivities } from '../../activities/remediation/control-activities';
import type { ProcessActionInput, RemediationProcessActivities } from '../../activities/remediation/process-actions';
import type { ApprovalSubject } from '../../shared/contract/approval';
import { canonicalJson } from '../../shared/contract/canonical';
import { onlyApprovalBlocks, type ApprovalState, type GateBlock, type ProposedAction } from '../../shared/contract/governance/gates';
import { PASSIVE_ACTIONS } from '../../shared/contract/governance/policy';
import {
  conflictingSignals,
  proposedAction,
  remediationStatusQuery,
  validateRemediationInput,
  type ActionEffect,
  type Remediation,
  type RemediationInput,
  type RemediationOutcome,
  type RemediationResult,
  type RemediationStatus,
} from '../../shared/contract/remediation/input';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { formatIssues } from '../../shared/contract/validation';
import type { ApprovalGate } from '../approval';
import { AuditTrail } from '../common/audit-trail';
import { approvalGateFor, controlLocalActivities } from '../common/control-activities';
import { GovernanceGates } from '../common/governance';
import { sha256Hex } from '../common/signature';
import { runTaskQueuePrefix } from '../common/task-queue';

/**
 * A remediation run (README, "Remediation"): an incident → the action it proposes → the governance gates (each block
 * audited with its reason; prod waits at the one approval gate) → the action carried out on the service deployed by
 * deploy.process (a real restart, more replicas, a rollback) → a health check through its public port → the result.
 */
export async function remediationRun(input: RemediationInput): Promise<RemediationResult> {
  return new RemediationWorkflow(validated(input)).run();
}

function validated(input: RemediationInput): Remediation {
  const checked = validateRemediationInput(input);
  if (checked.ok) return checked.value;
  throw ApplicationFailure.create({
    type: 'InvalidRemediationInput',
    message: `invalid remediation input:\n${formatIssues(checked.issues)}`,
    details: [checked.issues],
    nonRetryable: true,
  });
}

/** The queue deploy.process serves: the remediation actions run on the machine that holds the service's processes. */
const PROCESS_CAPABILITY = 'deploy.process';

class RemediationWorkflow {
  private readonly workflowId = workflowInfo().workflowId;
  private readonly prefix = runTaskQueuePrefix();
  /** Database writes and reads of the control plane, as local activities (as in deliveryRun), retried until they land. */
  private readonly control = controlLocalActivities<AuditActivities & GovernanceActivities & RemediationControlActivities>();
  private readonly process = proxyActivities<RemediationProcessActivities>({
    taskQueue: capabilityTaskQueue(PROCESS_CAPABILITY, this.prefix),
    scheduleToStartTimeout: '5m',
    startToCloseTimeout: '5m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: ['RemediationTargetInvalid', 'HealthCheckFailed', 'UnknownProcessAction'] },
  });
  private readonly audit: AuditTrail;
  private readonly gates: GovernanceGates;
  private readonly approvalGate: ApprovalGate;
  private readonly status: RemediationStatus;
  private readonly proposal: ProposedAction;

  constructor(private readonly input: Remediation) {
    this.audit = new AuditTrail(input.tenantId);
    this.proposal = {
      action: proposedAction(input),
      tenantId: input.tenantId,
      service: input.service,
      environment: input.environment,
      confidence: input.confidence,
      conflictingSignals: conflictingSignals(input),
    };
    this.status = {
      workflowId: this.workflowId,
      tenantId: input.tenantId,
      service: input.service,
      environment: input.environment,
      stage: 'proposing',
      proposed: this.proposal.action,
      blocks: [],
    };
    this.gates = new GovernanceGates({
      readContext: this.control.readGovernanceContext,
      audit: (event, detail) => this.control.recordAudit({ ...this.audit.next(event), detail }),
    });
    // Registered at the start so an early decision is answered as such (workflows/approval.ts).
    this.approvalGate = approvalGateFor({
      gate: 'remediation',
      policy: input.approval,
      requestedBy: input.requestedBy,
      stage: () => this.status.stage,
      audit: this.audit,
      control: this.control,
      workflowId: this.workflowId,
      tenantId: input.tenantId,
      subject: async () => this.approvalSubject(),
    });
    setHandler(remediationStatusQuery, () => ({ ...this.status, blocks: [...this.status.blocks] }));
  }

  async run(): Promise<RemediationResult> {
    await this.start();
    const result = await this.remediate();
    return this.finish(result);
  }

  private async start(): Promise<void> {
    const { input } = this;
    upsertSearchAttributes([
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'remediation' },
      { key: AdosStage, value: 'proposing' },
      { key: AdosAwaitingApproval, value: false },
    ]);
    await this.control.recordRemediationStarted({
      ...this.audit.next('run.started'),
      runId: this.workflowId,
      requestedBy: input.requestedBy,
      input,
      detail: { kind: 'remediation', incident: input.kind, service: input.service, environment: input.environment, confidence: input.confidence, source: input.source },
    });
    await this.control.recordAudit({
      ...this.audit.next('remediation.proposed'),
      detail: { action: this.proposal.action, incident: input.kind, confidence: input.confidence, evidence: input.evidence, signals: input.signals, conflictingSignals: this.proposal.conflictingSignals },
    });
  }

  /** The gates, the approval when prod asks for one, the action, the check. */
  private async remediate(): Promise<Omit<RemediationResult, 'workflowId'>> {
    const proposed = this.proposal.action;
    const base = { proposed, performed: 'noop', blocks: [] as GateBlock[] };
    this.stageTo('gating');
    let decision = await this.gates.check(this.proposal, 'not_requested');
    if (onlyApprovalBlocks(decision.verdict)) {
      const approval = await this.awaitApproval();
      if (approval !== 'approved') return { ...base, blocks: decision.verdict.blocks, outcome: approval === 'rejected' ? 'rejected' : 'approval_expired', reason: this.approvalReason(approval) };
      this.stageTo('gating');
      decision = await this.gates.check(this.proposal, 'approved');
    }
    const { verdict } = decision;
    this.status.blocks = verdict.blocks;
    if (!verdict.allowed) {
      const performed = verdict.fallback ?? 'noop';
      return { ...base, performed, blocks: verdict.blocks, outcome: 'blocked', reason: verdict.blocks.map((b) => `${b.gate}: ${b.reason}`).join('; ') };
    }
    if (PASSIVE_ACTIONS.includes(verdict.action)) {
      return { ...base, performed: verdict.action, outcome: 'noop', reason: `${this.input.kind}: nothing to do` };
    }
    return this.carryOut(verdict.action);
  }

  private async carryOut(action: string): Promise<Omit<RemediationResult, 'workflowId'>> {
    const { input } = this;
    const target = { tenantId: input.tenantId, service: input.service, environment: input.environment };
    const where = `${input.tenantId}/${input.service}/${input.environment}`;
    this.stageTo('acting');
    const request: ProcessActionInput = { ...target, action, by: this.workflowId, ...(input.replicas ? { replicas: input.replicas } : {}) };
    let effect: ActionEffect | undefined;
    let failure: string | undefined;
    try {
      effect = await this.process.remediateProcess.executeWithOptions({ summary: `${action} ${where}` }, [request]);
    } catch (error) {
      failure = ((error as { cause?: Error }).cause ?? (error as Error)).message;
    }
    // Carried out, whether it worked or not: both count for cooldowns and repetition.
    const actionKey = this.audit.next(failure ? 'remediation.action_failed' : 'remediation.action_done');
    await this.control.recordGovernedAction({ ...target, action, workflowId: this.workflowId, actionKey: actionKey.auditKey, outcome: failure ? 'failed' : 'succeeded', detail: { ...(effect ?? {}), ...(failure ? { error: failure } : {}) } });
    await this.control.recordAudit({ ...actionKey, detail: { action, ...(effect ?? {}), ...(failure ? { error: failure } : {}) } });
    if (failure) return { proposed: this.proposal.action, performed: action, blocks: [], outcome: 'failed', reason: failure };

    this.stageTo('verifying');
    const health = await this.process.checkServiceHealth.executeWithOptions({ summary: `health check of ${where}` }, [target]);
    await this.control.recordAudit({ ...this.audit.next('remediation.verified'), detail: { ...health } });
    return {
      proposed: this.proposal.action,
      performed: action,
      blocks: [],
      effect,
      healthy: health.healthy,
      outcome: health.healthy ? 'remediated' : 'unhealthy',
      ...(health.healthy ? {} : { reason: `health check ${health.url}: ${health.detail}` }),
    };
  }

  private async awaitApproval(): Promise<ApprovalState> {
    const approval = this.input.approval;
    upsertSearchAttributes([{ key: AdosStage, value: 'awaiting_approval' }]);
    const outcome = await this.approvalGate.wait({ action: this.proposal.action }, () => {
      this.status.stage = 'awaiting_approval';
      this.status.waitingFor = `approval by ${approval?.quorum} of ${approval?.approvers.join(', ')} (within ${approval?.timeout})`;
      this.showDetails();
    });
    this.status.waitingFor = undefined;
    return outcome === 'approved' ? 'approved' : outcome;
  }

  private approvalReason(state: ApprovalState): string {
    return state === 'rejected' ? `rejected by ${this.approvalGate.snapshot()?.rejectedBy}` : `no quorum within ${this.input.approval?.timeout}`;
  }

  /** What prod's approvers approve: exactly this action on this target for this incident. */
  private approvalSubject(): ApprovalSubject {
    const { input } = this;
    const plan = { action: this.proposal.action, service: input.service, environment: input.environment, incident: input.kind, replicas: input.replicas ?? null };
    return { kind: 'remediation', workflowId: this.workflowId, gate: 'remediation', target: input.environment, planSha256: sha256Hex(canonicalJson(plan)), artifacts: {} };
  }

  private stageTo(stage: RemediationStatus['stage']): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
    this.showDetails();
  }

  /** The Web UI's current details: the stage, what the run waits for, the blocks so far. */
  private showDetails(): void {
    const { status } = this;
    setCurrentDetails(
      [`${status.stage}: ${status.proposed} on ${status.service} in ${status.environment}`, status.waitingFor ? `waiting for ${status.waitingFor}` : undefined, ...status.blocks.map((b) => `blocked by ${b.gate}: ${b.reason}`), status.outcome ? `outcome: ${status.outcome}` : undefined]
        .filter((line): line is string => line !== undefined)
        .join('\n'),
    );
  }

  private async finish(ending: Omit<RemediationResult, 'workflowId'>): Promise<RemediationResult> {
    const result: RemediationResult = { workflowId: this.workflowId, ...ending };
    this.status.outcome = ending.outcome as RemediationOutcome;
    this.stageTo('finished');
    await this.control.recordRemediationFinished({
      ...this.audit.next('run.finished'),
      detail: { outcome: result.outcome, proposed: result.proposed, performed: result.performed, reason: result.reason },
      status: result.outcome,
      result,
    });
    log.info('remediation finished', { outcome: result.outcome, performed: result.performed });
    await condition(allHandlersFinished);
    return result;
  }
}
