import { ApplicationFailure, condition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/common/audit-activities';
import {
  approvalDecisionSchema,
  approvalSignalPayloadSchema,
  approveSignal,
  decideUpdate,
  decisionFromSignal,
  rejectSignal,
  type ApprovalDecision,
  type ApprovalDecisionKind,
  type ApprovalGateOutcome,
  type ApprovalGateSnapshot,
  type ApprovalPolicy,
  type RecordedDecision,
} from '../shared/contract/approval';
import { durationToMs } from '../shared/contract/duration';
import { AdosAwaitingApproval } from '../shared/contract/search-attributes';
import { formatIssues, issuesFromZod } from '../shared/contract/validation';
import { judgeDecision, outcomeAfter } from './approval-rules';
import type { AuditTrail } from './common/audit-trail';
import { fieldOf, recordedText } from './common/untrusted';

/** What a gate needs from the run around it. */
export interface ApprovalGateOptions {
  /** The gate's name in the `approvals` table and the audit (`prod`, `schema-migration`, …). */
  gate: string;
  /** Absent when the run has no gate (every decision is then refused as such). */
  policy?: ApprovalPolicy;
  requestedBy: string;
  /** Where the workflow is, for the reason given to early decisions. */
  stage: () => string;
  audit: AuditTrail;
  /**
   * The run's audit activities, each idempotent on its key. `recordAudit` runs in the main flow (a local activity is
   * fine); `recordApprovalDecision` runs in the signal and update handlers, so pass an ordinary activity: a local one
   * there can complete in the same workflow task as the main flow's, and replay would order the update differently.
   */
  activities: Pick<AuditActivities, 'recordAudit' | 'recordApprovalDecision'>;
}

/**
 * The one approval gate: delivery runs before prod, breaking schema migrations, the anomaly pipeline and model
 * promotion all wait here, with the same rules and the same audit.
 *
 * Handlers are registered when the gate is created (at workflow start), so that a decision sent too early is answered
 * and audited as "not requested yet" instead of silently buffered. Every payload is parsed strictly: a signal that
 * does not parse is audited as ignored with the reason (never thrown: a throwing signal handler would fail the
 * workflow task), and the Update's validator refuses it before anything is written.
 */
export class ApprovalGate {
  private isOpen = false;
  private readonly approvedBy: string[] = [];
  private rejectedBy?: string;
  private readonly decisions: RecordedDecision[] = [];
  private result?: ApprovalGateOutcome;
  private deadline?: string;

  constructor(private readonly options: ApprovalGateOptions) {
    const fromSignal = (decision: ApprovalDecisionKind) => (payload: unknown) => this.receiveSignal(decision, payload);
    setHandler(approveSignal, fromSignal('approve'));
    setHandler(rejectSignal, fromSignal('reject'));
    setHandler(decideUpdate, (decision) => this.receiveUpdate(decision), {
      // Synchronous on purpose: an async validator could never reject.
      validator: (decision: unknown) => this.validate(decision),
    });
  }

  get outcome(): ApprovalGateOutcome | undefined {
    return this.result;
  }

  snapshot(): ApprovalGateSnapshot | undefined {
    const policy = this.options.policy;
    if (!policy) return undefined;
    return {
      gate: this.options.gate,
      policy,
      requestedBy: this.options.requestedBy,
      approvedBy: [...this.approvedBy],
      rejectedBy: this.rejectedBy,
      decisions: this.decisions.map((d) => ({ ...d })),
      outcome: this.result,
      deadline: this.deadline,
    };
  }

  /**
   * Audits the request, opens the gate and waits for quorum, a rejection, or the policy's timeout (audited as
   * expired). `detail` is added to the `approval.requested` entry (what is to be approved). `onOpen` runs as the gate
   * opens, in the same activation: a run that shows "awaiting approval" from there never refuses a decision sent on
   * seeing it as "not requested yet".
   */
  async wait(detail: Record<string, unknown> = {}, onOpen?: () => void): Promise<ApprovalGateOutcome> {
    const { policy, gate, audit, activities } = this.options;
    if (!policy) throw new Error(`approval gate ${gate} has no policy`);
    await activities.recordAudit({ ...audit.next('approval.requested'), detail: { gate, policy, ...detail } });
    const timeoutMs = durationToMs(policy.timeout);
    // Date.now() is workflow time here: deterministic on replay.
    this.deadline = new Date(Date.now() + timeoutMs).toISOString();
    this.isOpen = true;
    onOpen?.();
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: true }]);
    const decided = await condition(() => this.result !== undefined, timeoutMs);
    if (!decided) this.result = 'expired';
    this.isOpen = false;
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: false }]);
    if (this.result === 'expired') await activities.recordAudit({ ...audit.next('approval.expired'), detail: { gate, timeout: policy.timeout } });
    return this.result as ApprovalGateOutcome;
  }

  private validate(raw: unknown): void {
    const parsed = approvalDecisionSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(issuesFromZod(parsed.error))}`);
    const judgement = judgeDecision(this.rulesState(), parsed.data);
    if (!judgement.counts) throw new Error(judgement.reason);
  }

  private async receiveSignal(decision: ApprovalDecisionKind, payload: unknown): Promise<void> {
    const parsed = approvalSignalPayloadSchema.safeParse(payload);
    if (parsed.success) {
      await this.receive(decisionFromSignal(decision, parsed.data), 'signal');
      return;
    }
    await this.record({
      decision,
      approver: recordedText(fieldOf(payload, 'approver')),
      ...(typeof fieldOf(payload, 'comment') === 'string' ? { comment: recordedText(fieldOf(payload, 'comment')) } : {}),
      counted: false,
      reason: `invalid ${decision} signal: ${formatIssues(issuesFromZod(parsed.error))}`,
      via: 'signal',
    });
  }

  private async receiveUpdate(raw: unknown): Promise<ApprovalGateSnapshot> {
    // The validator has accepted this payload; parse again for its typed value (and in case validation was skipped).
    const parsed = approvalDecisionSchema.safeParse(raw);
    if (!parsed.success) {
      throw ApplicationFailure.create({ type: 'InvalidDecision', message: formatIssues(issuesFromZod(parsed.error)), nonRetryable: true });
    }
    const recorded = await this.receive(parsed.data, 'update');
    // The state can change between validation and this handler (another decision won the race).
    if (!recorded.counted) {
      throw ApplicationFailure.create({ type: 'ApprovalNotCounted', message: recorded.reason, nonRetryable: true });
    }
    return this.snapshot() as ApprovalGateSnapshot;
  }

  /**
   * Judges and applies a well-formed decision synchronously (so concurrent handlers see a consistent gate and replay
   * gives the same order), then records it.
   */
  private async receive(decision: ApprovalDecision, via: RecordedDecision['via']): Promise<RecordedDecision> {
    const judgement = judgeDecision(this.rulesState(), decision);
    const recorded: RecordedDecision = { ...decision, counted: judgement.counts, via, ...(judgement.counts ? {} : { reason: judgement.reason }) };
    if (judgement.counts && this.options.policy) {
      if (decision.decision === 'approve') this.approvedBy.push(decision.approver);
      else this.rejectedBy = decision.approver;
      this.result = outcomeAfter(this.options.policy, this.approvedBy, decision.decision);
    }
    await this.record(recorded);
    return recorded;
  }

  /** Keeps the decision in the gate's list and writes it (with its audit entry) under its sequence number. */
  private async record(recorded: RecordedDecision): Promise<void> {
    const { gate, audit, activities } = this.options;
    const seq = this.decisions.length;
    this.decisions.push(recorded);
    const event = recorded.counted ? (recorded.decision === 'approve' ? 'approval.granted' : 'approval.refused') : 'approval.ignored';
    await activities.recordApprovalDecision({ ...audit.next(event), detail: { ...recorded }, gate, seq, ...recorded });
  }

  private rulesState() {
    return {
      policy: this.options.policy,
      requestedBy: this.options.requestedBy,
      open: this.isOpen,
      approvedBy: this.approvedBy,
      outcome: this.result,
      stage: this.options.stage(),
    };
  }
}
