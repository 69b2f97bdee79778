/**
 * The approval gate's messages and policy, shared by every kind of work that waits on a human
 * (delivery runs before prod, breaking schema migrations).
 */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationSchema } from './duration';

/** How long a gate waits for its quorum when the policy does not say. */
export const DEFAULT_APPROVAL_TIMEOUT = '72h';

export const approvalPolicySchema = z.object({
  approvers: z
    .array(z.string().min(1, 'an approver id cannot be empty'))
    .min(1, 'list at least one approver'),
  quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
  timeout: durationSchema.default(DEFAULT_APPROVAL_TIMEOUT),
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

export const approvalDecisionKindSchema = z.enum(['approve', 'reject']);
export type ApprovalDecisionKind = z.output<typeof approvalDecisionKindSchema>;

/** Longest approver id a gate accepts: ids are user names, not documents. */
export const MAX_APPROVER_LENGTH = 200;
/** Longest comment a gate accepts. */
export const MAX_APPROVAL_COMMENT_LENGTH = 2000;

const approverSchema = z
  .string({ message: 'must be a string: who decides (--as <user>)' })
  .min(1, 'say who decides (--as <user>)')
  .max(MAX_APPROVER_LENGTH, `an approver id has at most ${MAX_APPROVER_LENGTH} characters`);
const commentSchema = z
  .string({ message: 'must be a string' })
  .max(MAX_APPROVAL_COMMENT_LENGTH, `keep the comment under ${MAX_APPROVAL_COMMENT_LENGTH} characters`)
  .optional();

/**
 * What an `approve` or `reject` signal carries. Strict: the signal's name is the decision, so a payload naming a
 * `decision` (or any other key) is refused rather than allowed to override it.
 */
export const approvalSignalPayloadSchema = z.strictObject({ approver: approverSchema, comment: commentSchema });
export type ApprovalSignalPayload = z.output<typeof approvalSignalPayloadSchema>;

/** What the `decide` Update carries (strict, like the signals). A reject must say why. */
export const approvalDecisionSchema = z
  .strictObject({ decision: approvalDecisionKindSchema, approver: approverSchema, comment: commentSchema })
  .refine((d) => d.decision !== 'reject' || (d.comment ?? '').trim() !== '', {
    message: 'a rejection needs a comment saying why (--comment "...")',
    path: ['comment'],
  });
export type ApprovalDecision = z.output<typeof approvalDecisionSchema>;

/** The decision a signal stands for: its name, with the payload's fields (parsed strictly first). */
export function decisionFromSignal(decision: ApprovalDecisionKind, payload: ApprovalSignalPayload): ApprovalDecision {
  return { ...payload, decision };
}

export interface RecordedDecision {
  decision: ApprovalDecisionKind;
  approver: string;
  comment?: string;
  counted: boolean;
  /** Why a decision did not count; absent when it did. */
  reason?: string;
  via: 'signal' | 'update';
}

export type ApprovalGateOutcome = 'approved' | 'rejected' | 'expired';

export interface ApprovalGateSnapshot {
  gate: string;
  policy: ApprovalPolicy;
  requestedBy: string;
  approvedBy: string[];
  rejectedBy?: string;
  decisions: RecordedDecision[];
  outcome?: ApprovalGateOutcome;
  /** Wall-clock deadline as ISO text, from workflow time. */
  deadline?: string;
}

/** Typed for senders; the gate parses what actually arrives with approvalSignalPayloadSchema. */
export const approveSignal = defineSignal<[ApprovalSignalPayload]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignalPayload]>('reject');
/** The same decision as an Update: its validator refuses at once a decision that would not count. */
export const decideUpdate = defineUpdate<ApprovalGateSnapshot, [ApprovalDecision]>('decide');
