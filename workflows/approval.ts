import { ApplicationFailure, condition, patched, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/common/audit-activities';
import {
  approvalDecisionSchema,
  approvalQuery,
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
  type ApprovalSubject,
  type ApproverKey,
  type RecordedDecision,
} from '../shared/contract/approval';
import { canonicalJson } from '../shared/contract/canonical';
import { durationToMs } from '../shared/contract/duration';
import { AdosAwaitingApproval } from '../shared/contract/search-attributes';
import { formatIssues, issuesFromZod } from '../shared/contract/validation';
import { judgeDecision, judgeSignature, lapsedApprovals, outcomeAfter, rolesOf, type Judgement } from './approval-rules';
import type { AuditTrail } from './common/audit-trail';
import { sha256Hex, verifyEd25519 } from './common/signature';
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
  activities: Pick<AuditActivities, 'recordAudit' | 'recordApprovalDecision' | 'loadApproverKeys'>;
  /** The run's workflow id and tenant: what signatures are bound to, and whose keys count. */
  workflowId: string;
  tenantId: string;
  /**
   * Exactly what is to be approved, read when the gate opens and again before it lets the run go on (an activity
   * where it reads the world, e.g. the releases of a delivery run). Its hash is what approvers sign.
   */
  subject: () => Promise<ApprovalSubject>;
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
  /** When each counted approval was given (workflow time), for the policy's maxAge. */
  private readonly approvedAt = new Map<string, number>();
  private rejectedBy?: string;
  private readonly decisions: RecordedDecision[] = [];
  private result?: ApprovalGateOutcome;
  private deadline?: string;
  private subject?: { subject: ApprovalSubject; subjectHash: string };
  private keys: ApproverKey[] = [];
  private readonly voided: NonNullable<ApprovalGateSnapshot['voided']> = [];

  constructor(private readonly options: ApprovalGateOptions) {
    const fromSignal = (decision: ApprovalDecisionKind) => (payload: unknown) => this.receiveSignal(decision, payload);
    setHandler(approveSignal, fromSignal('approve'));
    setHandler(rejectSignal, fromSignal('reject'));
    setHandler(approvalQuery, () => this.snapshot());
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
      tenantId: this.options.tenantId,
      policy,
      requestedBy: this.options.requestedBy,
      approvedBy: [...this.approvedBy],
      ...(this.approvedAt.size > 0 ? { approvedAt: Object.fromEntries([...this.approvedAt].map(([who, at]) => [who, new Date(at).toISOString()])) } : {}),
      rejectedBy: this.rejectedBy,
      decisions: this.decisions.map((d) => ({ ...d })),
      outcome: this.result,
      deadline: this.deadline,
      ...(this.subject ? { subject: this.subject.subject, subjectHash: this.subject.subjectHash } : {}),
      ...(this.voided.length > 0 ? { voided: this.voided.map((v) => ({ ...v })) } : {}),
    };
  }

  /**
   * Takes the subject and the approvers' keys, audits the request, opens the gate and waits for quorum, a rejection,
   * or the policy's timeout (audited as expired). Before it answers "approved" it takes the subject again: if it
   * changed (a release was redeployed meanwhile), the approvals are void (audited), and the gate asks again until
   * the same deadline. `detail` is added to the `approval.requested` entry. `onOpen` runs as the gate opens, in the
   * same activation: a run that shows "awaiting approval" from there never refuses a decision sent on seeing it as
   * "not requested yet".
   */
  async wait(detail: Record<string, unknown> = {}, onOpen?: () => void): Promise<ApprovalGateOutcome> {
    const { policy, gate, audit, activities } = this.options;
    if (!policy) throw new Error(`approval gate ${gate} has no policy`);
    const [subject, keys] = await Promise.all([this.takeSubject(), activities.loadApproverKeys({ tenantId: this.options.tenantId, approvers: policy.approvers })]);
    this.subject = subject;
    this.keys = keys;
    await activities.recordAudit({
      ...audit.next('approval.requested'),
      detail: { gate, policy, subjectHash: subject.subjectHash, subject: subject.subject, keys: keys.map((k) => ({ approver: k.approver, keyId: k.keyId })), ...detail },
    });
    const timeoutMs = durationToMs(policy.timeout);
    // Date.now() is workflow time here: deterministic on replay.
    const deadline = Date.now() + timeoutMs;
    this.deadline = new Date(deadline).toISOString();
    this.isOpen = true;
    onOpen?.();
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: true }]);
    for (;;) {
      const decided = await condition(() => this.result !== undefined, Math.max(0, deadline - Date.now()), { summary: `${gate}: approval by ${policy.quorum} of ${policy.approvers.join(', ')} within ${policy.timeout}` });
      if (!decided) {
        this.result = 'expired';
        break;
      }
      if (this.result !== 'approved') break;
      const now = await this.takeSubject();
      if (now.subjectHash !== this.subject.subjectHash) {
        await this.voidApprovals(now);
        continue;
      }
      if (policy.maxAge && (await this.lapseApprovals(policy.maxAge))) continue;
      break;
    }
    this.isOpen = false;
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: false }]);
    if (this.result === 'expired') await activities.recordAudit({ ...audit.next('approval.expired'), detail: { gate, timeout: policy.timeout } });
    return this.result as ApprovalGateOutcome;
  }

  private async takeSubject(): Promise<{ subject: ApprovalSubject; subjectHash: string }> {
    const subject = await this.options.subject();
    return { subject, subjectHash: sha256Hex(canonicalJson(subject)) };
  }

  /** The subject changed under the approvals: they no longer count, and the gate asks again for the new one. */
  private async voidApprovals(now: { subject: ApprovalSubject; subjectHash: string }): Promise<void> {
    const before = this.subject!;
    const reason = `what was approved changed before it was promoted (subject ${before.subjectHash.slice(0, 12)}… → ${now.subjectHash.slice(0, 12)}…)`;
    for (const approver of this.approvedBy) this.voided.push({ approver, subjectHash: before.subjectHash, reason });
    const approvers = [...this.approvedBy];
    this.approvedBy.length = 0;
    this.approvedAt.clear();
    this.result = undefined;
    this.subject = now;
    await this.options.activities.recordAudit({
      ...this.options.audit.next('approval.voided'),
      detail: { gate: this.options.gate, approvers, reason, from: before, to: now },
    });
  }

  /**
   * The policy's expiry, applied when the gate would let the run go on: approvals older than `maxAge` no longer count
   * (audited as `approval.lapsed`) and the gate waits for fresh ones, until the same deadline. True when any lapsed.
   * Behind a patch: the audit entry is a command histories recorded before expiry existed do not have.
   */
  private async lapseApprovals(maxAge: string): Promise<boolean> {
    const lapsed = lapsedApprovals(this.approvedAt, durationToMs(maxAge), Date.now());
    if (lapsed.length === 0 || !patched('approval-max-age')) return false;
    const reason = `approved more than ${maxAge} (the policy's maxAge) before the gate would let the run go on; approve again`;
    for (const approver of lapsed) {
      this.voided.push({ approver, subjectHash: this.subject?.subjectHash, reason });
      this.approvedAt.delete(approver);
      this.approvedBy.splice(this.approvedBy.indexOf(approver), 1);
    }
    this.result = undefined;
    await this.options.activities.recordAudit({ ...this.options.audit.next('approval.lapsed'), detail: { gate: this.options.gate, approvers: lapsed, maxAge, reason } });
    return true;
  }

  private validate(raw: unknown): void {
    const parsed = approvalDecisionSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(issuesFromZod(parsed.error))}`);
    // Only the gate's rules refuse here, writing nothing. A decision whose signature does not count (unsigned where
    // required, replayed, another tenant's or a revoked key, forged) goes to the handler, which reloads the keys (one
    // registered since the gate opened counts), records it as approval.ignored with the reason, then refuses it.
    const rules = judgeDecision(this.rulesState(), parsed.data);
    if (!rules.counts) throw new Error(rules.reason);
  }

  /** The gate's rules, then the signature's. */
  private judge(decision: ApprovalDecision): Judgement & { unknownKey?: true } {
    const rules = judgeDecision(this.rulesState(), decision);
    if (!rules.counts) return rules;
    const { policy } = this.options;
    return judgeSignature(
      { workflowId: this.options.workflowId, gate: this.options.gate, subjectHash: this.subject?.subjectHash, keys: this.keys, mode: policy?.signatures ?? 'optional' },
      decision,
      verifyEd25519,
    );
  }

  /**
   * Reloads the approvers' keys before judging a signed decision, so rotation holds on an open gate: a key registered
   * since it opened counts, a key revoked since no longer does. Histories from before the patch reloaded only for a
   * key the gate had not loaded.
   */
  private async refreshKeysFor(decision: ApprovalDecision): Promise<void> {
    const { signature } = decision;
    const policy = this.options.policy;
    if (!signature || !policy || !this.isOpen) return;
    const loaded = this.keys.some((k) => k.approver === decision.approver && k.keyId === signature.keyId);
    if (loaded && !patched('approval-keys-per-decision')) return;
    this.keys = await this.options.activities.loadApproverKeys({ tenantId: this.options.tenantId, approvers: policy.approvers });
  }

  private async receiveSignal(decision: ApprovalDecisionKind, payload: unknown): Promise<void> {
    const parsed = approvalSignalPayloadSchema.safeParse(payload);
    if (parsed.success) {
      const full = decisionFromSignal(decision, parsed.data);
      const checked = approvalDecisionSchema.safeParse(full);
      if (checked.success) {
        await this.refreshKeysFor(checked.data);
        await this.receive(checked.data, 'signal');
        return;
      }
      await this.record({ ...full, counted: false, reason: `invalid ${decision} signal: ${formatIssues(issuesFromZod(checked.error))}`, via: 'signal', ...signedBy(full) });
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
    await this.refreshKeysFor(parsed.data);
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
    const judgement = this.judge(decision);
    const { signature: _signature, ...fields } = decision;
    const roles = rolesOf(this.options.policy, decision.approver);
    const recorded: RecordedDecision = {
      ...fields,
      ...signedBy(decision),
      ...(roles.length > 0 ? { roles } : {}),
      counted: judgement.counts,
      via,
      ...(judgement.counts ? {} : { reason: judgement.reason }),
    };
    if (judgement.counts && this.options.policy) {
      if (decision.decision === 'approve') {
        this.approvedBy.push(decision.approver);
        this.approvedAt.set(decision.approver, Date.now());
      } else this.rejectedBy = decision.approver;
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

/** The signed-over subject and key of a decision, for its record (the signature itself is in the history). */
function signedBy(decision: Pick<ApprovalDecision, 'subjectHash' | 'signature'>): Pick<RecordedDecision, 'subjectHash' | 'keyId'> {
  return decision.signature && decision.subjectHash ? { subjectHash: decision.subjectHash, keyId: decision.signature.keyId } : {};
}
