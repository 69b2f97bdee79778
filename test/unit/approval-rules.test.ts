import { approvalDecisionSchema, approvalPolicySchema, type ApprovalDecisionKind, type ApprovalGateOutcome, type ApprovalPolicy } from '../../shared/contract/approval';
import { jsonPath } from '../../shared/contract/validation';
import { judgeDecision, outcomeAfter, type GateRulesState, type Judgement } from '../../workflows/approval-rules';

const policy = (approvers: string[], quorum = 1): ApprovalPolicy => ({ approvers, quorum, timeout: '72h', signatures: 'optional' });

function openGate(overrides: Partial<GateRulesState> = {}): GateRulesState {
  return { policy: policy(['alice', 'bob', 'carol']), requestedBy: 'carol', open: true, approvedBy: [], stage: 'awaiting_approval', ...overrides };
}

function refusal(judgement: Judgement): string {
  if (judgement.counts) throw new Error('expected the decision to be refused, but it counted');
  return judgement.reason;
}

/** Applies decisions the way the workflow's gate does: judge, then record and recompute the outcome. */
class GateSim {
  readonly approvedBy: string[] = [];
  outcome?: ApprovalGateOutcome;
  readonly log: { approver: string; counted: boolean; reason?: string }[] = [];

  constructor(readonly state: Omit<GateRulesState, 'approvedBy' | 'outcome'>) {}

  decide(decision: ApprovalDecisionKind, approver: string): Judgement {
    const judgement = judgeDecision({ ...this.state, approvedBy: this.approvedBy, outcome: this.outcome }, { decision, approver });
    this.log.push({ approver, counted: judgement.counts, reason: judgement.counts ? undefined : judgement.reason });
    if (judgement.counts && this.state.policy) {
      if (decision === 'approve') this.approvedBy.push(approver);
      this.outcome = outcomeAfter(this.state.policy, this.approvedBy, decision);
    }
    return judgement;
  }
}

describe('judgeDecision and outcomeAfter: quorum', () => {
  it('quorum 1: the first listed approver approves the gate', () => {
    const gate = new GateSim({ policy: policy(['alice', 'bob'], 1), requestedBy: 'carol', open: true, stage: 'awaiting_approval' });
    expect(gate.outcome).toBeUndefined();
    expect(gate.decide('approve', 'bob')).toEqual({ counts: true });
    expect(gate.outcome).toBe('approved');
    expect(gate.approvedBy).toEqual(['bob']);
  });

  it('quorum 2: one approval leaves the gate open, the second approves it', () => {
    const gate = new GateSim({ policy: policy(['alice', 'bob', 'dave'], 2), requestedBy: 'carol', open: true, stage: 'awaiting_approval' });
    expect(gate.decide('approve', 'alice')).toEqual({ counts: true });
    expect(gate.outcome).toBeUndefined();
    expect(gate.decide('approve', 'dave')).toEqual({ counts: true });
    expect(gate.outcome).toBe('approved');
  });

  it('outcomeAfter compares the approvals so far with the quorum', () => {
    expect(outcomeAfter(policy(['a', 'b', 'c'], 2), ['a'], 'approve')).toBeUndefined();
    expect(outcomeAfter(policy(['a', 'b', 'c'], 2), ['a', 'b'], 'approve')).toBe('approved');
    expect(outcomeAfter(policy(['a', 'b', 'c'], 3), ['a', 'b'], 'approve')).toBeUndefined();
    expect(outcomeAfter(policy(['a', 'b', 'c'], 3), [], 'reject')).toBe('rejected');
  });

  it('a duplicate approver counts once: quorum 2 is not met by the same person twice', () => {
    const gate = new GateSim({ policy: policy(['alice', 'bob'], 2), requestedBy: 'carol', open: true, stage: 'awaiting_approval' });
    gate.decide('approve', 'alice');
    const second = gate.decide('approve', 'alice');
    expect(refusal(second)).toBe('"alice" has already approved; each approver counts once');
    expect(gate.approvedBy).toEqual(['alice']);
    expect(gate.outcome).toBeUndefined();
    gate.decide('approve', 'bob');
    expect(gate.outcome).toBe('approved');
    expect(gate.log.map((entry) => entry.counted)).toEqual([true, false, true]);
  });
});

describe('judgeDecision: refusals', () => {
  it('refuses self-approval by the requester, even when listed', () => {
    const reason = refusal(judgeDecision(openGate(), { decision: 'approve', approver: 'carol' }));
    expect(reason).toBe('"carol" requested this run and cannot approve it');
  });

  it('refuses a non-approver and lists the approvers in the reason', () => {
    const reason = refusal(judgeDecision(openGate(), { decision: 'approve', approver: 'mallory' }));
    expect(reason).toBe('"mallory" is not a listed approver (listed: alice, bob, carol)');
  });

  it('refuses a reject from a non-approver too', () => {
    const reason = refusal(judgeDecision(openGate(), { decision: 'reject', approver: 'mallory' }));
    expect(reason).toContain('not a listed approver');
  });

  it('refuses a decision before the gate opens, naming the stage the run is in', () => {
    const reason = refusal(judgeDecision(openGate({ open: false, stage: 'stage' }), { decision: 'approve', approver: 'alice' }));
    expect(reason).toBe('approval has not been requested yet (the run is in stage); decide once it waits for approval');
  });

  it('refuses any decision after the outcome, naming it', () => {
    expect(refusal(judgeDecision(openGate({ outcome: 'approved', approvedBy: ['alice'] }), { decision: 'approve', approver: 'bob' }))).toBe(
      'the approval gate is already closed (approved)',
    );
    expect(refusal(judgeDecision(openGate({ outcome: 'rejected' }), { decision: 'reject', approver: 'alice' }))).toContain('(rejected)');
    expect(refusal(judgeDecision(openGate({ outcome: 'expired', open: false }), { decision: 'approve', approver: 'alice' }))).toContain(
      'already closed (expired)',
    );
  });

  it('refuses a decision after the gate approved, in a sequence', () => {
    const gate = new GateSim({ policy: policy(['alice', 'bob'], 1), requestedBy: 'carol', open: true, stage: 'awaiting_approval' });
    gate.decide('approve', 'alice');
    expect(refusal(gate.decide('reject', 'bob'))).toBe('the approval gate is already closed (approved)');
    expect(gate.outcome).toBe('approved');
  });

  it('refuses every decision when the run has no policy', () => {
    const reason = refusal(judgeDecision(openGate({ policy: undefined }), { decision: 'approve', approver: 'alice' }));
    expect(reason).toBe('this run has no approval gate (it does not deploy to prod)');
  });
});

describe('judgeDecision: rejections', () => {
  it('a reject from a listed approver counts and rejects the gate, even after an approval short of quorum', () => {
    const gate = new GateSim({ policy: policy(['alice', 'bob'], 2), requestedBy: 'carol', open: true, stage: 'awaiting_approval' });
    gate.decide('approve', 'alice');
    expect(gate.decide('reject', 'bob')).toEqual({ counts: true });
    expect(gate.outcome).toBe('rejected');
  });

  it('the requester, when listed, may reject (only approving is refused)', () => {
    expect(judgeDecision(openGate(), { decision: 'reject', approver: 'carol' })).toEqual({ counts: true });
  });
});

describe('approvalDecisionSchema', () => {
  it('accepts an approve without comment and a reject with one', () => {
    expect(approvalDecisionSchema.safeParse({ decision: 'approve', approver: 'alice' }).success).toBe(true);
    expect(approvalDecisionSchema.safeParse({ decision: 'reject', approver: 'alice', comment: 'p99 too high' }).success).toBe(true);
  });

  it.each([
    ['no comment', undefined],
    ['an empty comment', ''],
    ['a blank comment', '   '],
  ])('refuses a reject with %s at path comment', (_, comment) => {
    const parsed = approvalDecisionSchema.safeParse({ decision: 'reject', approver: 'alice', comment });
    expect(parsed.success).toBe(false);
    const issues = parsed.error!.issues;
    expect(issues).toHaveLength(1);
    expect(jsonPath(issues[0].path)).toBe('comment');
    expect(issues[0].message).toContain('a rejection needs a comment');
  });

  it('refuses an empty approver and an unknown decision kind', () => {
    const parsed = approvalDecisionSchema.safeParse({ decision: 'maybe', approver: '' });
    expect(parsed.success).toBe(false);
    const byPath = Object.fromEntries(parsed.error!.issues.map((issue) => [jsonPath(issue.path), issue.message]));
    expect(byPath.approver).toBe('say who decides (--as <user>)');
    expect(byPath.decision).toContain('"approve"');
  });

  it('approvalPolicySchema fills quorum 1, timeout 72h and optional signatures', () => {
    expect(approvalPolicySchema.parse({ approvers: ['alice'] })).toEqual({ approvers: ['alice'], quorum: 1, timeout: '72h', signatures: 'optional' });
  });
});
