import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationSchema } from './duration';

/**
 * The approval gate's messages and policy, shared by every kind of work that waits on a human
 * (delivery runs before prod, breaking schema migrations, the anomaly pipeline, model promotion).
 */
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

/** What a signal or update carries. A reject must say why. */
export const approvalDecisionSchema = z
  .object({
    decision: approvalDecisionKindSchema,
    approver: z.string().min(1, 'say who decides (--as <user>)'),
    comment: z.string().max(2000, 'keep the comment under 2000 characters').optional(),
  })
  .refine((d) => d.decision !== 'reject' || (d.comment ?? '').trim() !== '', {
    message: 'a rejection needs a comment saying why (--comment "...")',
    path: ['comment'],
  });
export type ApprovalDecision = z.output<typeof approvalDecisionSchema>;

/** Signal payload: the decision kind is the signal's name. */
export interface ApprovalSignalPayload {
  approver: string;
  comment?: string;
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

export const approveSignal = defineSignal<[ApprovalSignalPayload]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignalPayload]>('reject');
/** The same decision as an Update: its validator refuses at once a decision that would not count. */
export const decideUpdate = defineUpdate<ApprovalGateSnapshot, [ApprovalDecision]>('decide');
