import {
  approvalMessage,
  type ApprovalDecisionKind,
  type ApprovalGateOutcome,
  type ApprovalPolicy,
  type ApproverKey,
  type ApprovalSignature,
} from '../shared/contract/approval';

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
  if (decision.decision === 'approve' && state.policy.authors?.includes(decision.approver)) {
    return { counts: false, reason: `"${decision.approver}" wrote this plan (approval.authors) and cannot approve it` };
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

/** The roles through which an approver counts under a policy (empty: named, or no roles in the policy). */
export function rolesOf(policy: ApprovalPolicy | undefined, approver: string): string[] {
  return Object.entries(policy?.roles ?? {})
    .filter(([, members]) => members.includes(approver))
    .map(([role]) => role);
}

/**
 * The approvals that no longer count when the gate would let the run go on: those given more than `maxAgeMs` before
 * `now` (workflow time). An approval exactly `maxAgeMs` old still counts.
 */
export function lapsedApprovals(approvedAt: ReadonlyMap<string, number>, maxAgeMs: number, now: number): string[] {
  return [...approvedAt].filter(([, at]) => now - at > maxAgeMs).map(([approver]) => approver);
}

/** What the signature rule needs to know about the gate. */
export interface SignatureRulesState {
  workflowId: string;
  gate: string;
  /** The hash of what the gate asks to approve now. */
  subjectHash?: string;
  keys: readonly ApproverKey[];
  mode: ApprovalPolicy['signatures'];
}

/** A decision as far as its signature goes. */
export interface SignedFields {
  decision: ApprovalDecisionKind;
  approver: string;
  subjectHash?: string;
  signature?: ApprovalSignature;
}

/**
 * Whether a decision's signature counts: signed over the gate's current subject, with a key registered for that
 * approver, and verifying over approvalMessage(). An unsigned decision counts only where signatures are optional.
 * `unknownKey` tells the caller to reload the keys and ask again (a key may have been registered since the gate
 * opened); `verify` is Ed25519 verification (workflows/common/signature.ts).
 */
export function judgeSignature(
  state: SignatureRulesState,
  decision: SignedFields,
  verify: (publicKey: string, message: string, signature: string) => boolean,
): Judgement & { unknownKey?: true } {
  const { signature, subjectHash } = decision;
  if (!signature || !subjectHash) {
    if (state.mode === 'required') {
      return {
        counts: false,
        reason: `unsigned: this gate counts only decisions signed with the approver's registered key (ados approve signs when ${decision.approver} has a key: ados approver keygen)`,
      };
    }
    return { counts: true };
  }
  if (subjectHash !== state.subjectHash) {
    return { counts: false, reason: `signed another subject (${subjectHash.slice(0, 12)}…); the gate asks to approve ${state.subjectHash?.slice(0, 12) ?? 'nothing yet'}…` };
  }
  const key = state.keys.find((k) => k.approver === decision.approver && k.keyId === signature.keyId);
  if (!key) {
    const theirs = state.keys.filter((k) => k.approver === decision.approver).map((k) => k.keyId);
    return {
      counts: false,
      unknownKey: true,
      reason: `key ${signature.keyId} is not registered for "${decision.approver}" in this tenant (${theirs.length > 0 ? `registered: ${theirs.join(', ')}` : 'no key registered'})`,
    };
  }
  const message = approvalMessage({ workflowId: state.workflowId, gate: state.gate, decision: decision.decision, approver: decision.approver, subjectHash });
  if (!verify(key.publicKey, message, signature.value)) {
    return { counts: false, reason: `the signature does not verify with key ${key.keyId} of "${decision.approver}" (signed for another run, gate or decision?)` };
  }
  return { counts: true };
}
