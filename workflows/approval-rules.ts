import type { ApprovalDecisionKind, ApprovalGateOutcome, ApprovalPolicy } from '../shared/contract/approval';

/**
 * The rules of the approval gate, pure so they are unit-tested and shared by the signal path and
 * the update validator (which must be synchronous).
 */
export interface GateRulesState {
  /** Absent when the run has no gate (e.g. it does not go to prod). */
  policy?: ApprovalPolicy;
  requestedBy: string;
  open: boolean;
  approvedBy: readonly string[];
  outcome?: ApprovalGateOutcome;
  /** Where the run is, for the "not yet" reason. */
  stage: string;
}

export type Judgement = { counts: true } | { counts: false; reason: string };

export function judgeDecision(
  state: GateRulesState,
  decision: { decision: ApprovalDecisionKind; approver: string },
): Judgement {
  if (!state.policy) return { counts: false, reason: 'this run has no approval gate (it does not deploy to prod)' };
  if (state.outcome) return { counts: false, reason: `the approval gate is already closed (${state.outcome})` };
  if (!state.open) {
    return { counts: false, reason: `approval has not been requested yet (the run is in ${state.stage}); decide once it waits for approval` };
  }
  if (!state.policy.approvers.includes(decision.approver)) {
    return {
      counts: false,
      reason: `"${decision.approver}" is not a listed approver (listed: ${state.policy.approvers.join(', ')})`,
    };
  }
  if (decision.decision === 'approve' && decision.approver === state.requestedBy) {
    return { counts: false, reason: `"${decision.approver}" requested this run and cannot approve it` };
  }
  if (decision.decision === 'approve' && state.approvedBy.includes(decision.approver)) {
    return { counts: false, reason: `"${decision.approver}" has already approved; each approver counts once` };
  }
  return { counts: true };
}

/** The gate's outcome after a decision that counts. */
export function outcomeAfter(
  policy: ApprovalPolicy,
  approvedBy: readonly string[],
  decision: ApprovalDecisionKind,
): ApprovalGateOutcome | undefined {
  if (decision === 'reject') return 'rejected';
  return approvedBy.length >= policy.quorum ? 'approved' : undefined;
}
