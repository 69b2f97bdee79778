import { ApplicationFailure, condition, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import {
  approvalDecisionSchema,
  approveSignal,
  decideUpdate,
  rejectSignal,
  type ApprovalDecision,
  type ApprovalGateOutcome,
  type ApprovalGateSnapshot,
  type ApprovalPolicy,
  type ApprovalSignalPayload,
  type RecordedDecision,
} from '../shared/contract/approval';
import { durationToMs } from '../shared/contract/duration';
import { AdosAwaitingApproval } from '../shared/contract/search-attributes';
import { formatIssues, issuesFromZod } from '../shared/contract/validation';
import { judgeDecision, outcomeAfter } from './approval-rules';

/**
 * The one approval gate: delivery runs before prod, breaking schema migrations, the anomaly
 * pipeline and model promotion all wait here, with the same rules and the same audit.
 *
 * Handlers are registered when the gate is created (at workflow start), so that a decision sent
 * too early is answered and audited as "not requested yet" instead of silently buffered.
 */
export interface ApprovalGateOptions {
  gate: string;
  policy?: ApprovalPolicy;
  requestedBy: string;
  /** Where the workflow is, for the reason given to early decisions. */
  stage: () => string;
  /** Persists one decision (counted or not) and its audit entry; must be idempotent on seq. */
  record: (decision: RecordedDecision, seq: number) => Promise<void>;
}

export class ApprovalGate {
  private isOpen = false;
  private readonly approvedBy: string[] = [];
  private rejectedBy?: string;
  private readonly decisions: RecordedDecision[] = [];
  private result?: ApprovalGateOutcome;
  private deadline?: string;

  constructor(private readonly options: ApprovalGateOptions) {
    const fromSignal = (decision: ApprovalDecision['decision']) => (payload: ApprovalSignalPayload) =>
      this.receive({ decision, ...payload }, 'signal').then(() => undefined);
    setHandler(approveSignal, fromSignal('approve'));
    setHandler(rejectSignal, fromSignal('reject'));
    setHandler(decideUpdate, (decision) => this.receiveUpdate(decision), {
      // Synchronous on purpose: an async validator could never reject.
      validator: (decision) => this.validate(decision),
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

  /** Opens the gate and waits for quorum, a rejection, or the policy's timeout. */
  async wait(): Promise<ApprovalGateOutcome> {
    const policy = this.options.policy;
    if (!policy) throw new Error(`approval gate ${this.options.gate} has no policy`);
    const timeoutMs = durationToMs(policy.timeout);
    // Date.now() is workflow time here: deterministic on replay.
    this.deadline = new Date(Date.now() + timeoutMs).toISOString();
    this.isOpen = true;
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: true }]);
    const decided = await condition(() => this.result !== undefined, timeoutMs);
    if (!decided) this.result = 'expired';
    this.isOpen = false;
    upsertSearchAttributes([{ key: AdosAwaitingApproval, value: false }]);
    return this.result as ApprovalGateOutcome;
  }

  private validate(raw: ApprovalDecision): void {
    const parsed = approvalDecisionSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`invalid decision: ${formatIssues(issuesFromZod(parsed.error))}`);
    const judgement = judgeDecision(this.rulesState(), parsed.data);
    if (!judgement.counts) throw new Error(judgement.reason);
  }

  private async receiveUpdate(decision: ApprovalDecision): Promise<ApprovalGateSnapshot> {
    const recorded = await this.receive(decision, 'update');
    // The state can change between validation and this handler (another decision won the race).
    if (!recorded.counted) {
      throw ApplicationFailure.create({ type: 'ApprovalNotCounted', message: recorded.reason, nonRetryable: true });
    }
    return this.snapshot() as ApprovalGateSnapshot;
  }

  /**
   * Judges and applies a decision synchronously (so concurrent handlers see a consistent gate and
   * replay gives the same order), then records it.
   */
  private async receive(raw: ApprovalSignalPayload & { decision: ApprovalDecision['decision'] }, via: RecordedDecision['via']): Promise<RecordedDecision> {
    const parsed = approvalDecisionSchema.safeParse(raw);
    let recorded: RecordedDecision;
    if (!parsed.success) {
      recorded = {
        decision: raw.decision,
        approver: typeof raw.approver === 'string' ? raw.approver : String(raw.approver),
        comment: typeof raw.comment === 'string' ? raw.comment : undefined,
        counted: false,
        reason: `invalid decision: ${formatIssues(issuesFromZod(parsed.error))}`,
        via,
      };
    } else {
      const judgement = judgeDecision(this.rulesState(), parsed.data);
      recorded = { ...parsed.data, counted: judgement.counts, via, ...(judgement.counts ? {} : { reason: judgement.reason }) };
      if (judgement.counts && this.options.policy) {
        if (parsed.data.decision === 'approve') this.approvedBy.push(parsed.data.approver);
        else this.rejectedBy = parsed.data.approver;
        this.result = outcomeAfter(this.options.policy, this.approvedBy, parsed.data.decision);
      }
    }
    const seq = this.decisions.length;
    this.decisions.push(recorded);
    await this.options.record(recorded, seq);
    return recorded;
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
