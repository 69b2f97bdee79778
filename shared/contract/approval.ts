/**
 * The approval gate's messages and policy, shared by every kind of work that waits on a human
 * (delivery runs before prod, breaking schema migrations).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationSchema } from './duration';

/** How long a gate waits for its quorum when the policy does not say. */
export const DEFAULT_APPROVAL_TIMEOUT = '72h';

/**
 * `required`: only a decision signed with the approver's registered Ed25519 key over this run's subject counts;
 * `optional`: unsigned decisions count too, but a signed one must verify. See README, "Signed approvals".
 */
export const APPROVAL_SIGNATURE_MODES = ['required', 'optional'] as const;
export type ApprovalSignatureMode = (typeof APPROVAL_SIGNATURE_MODES)[number];

export const approvalPolicySchema = z.object({
  approvers: z
    .array(z.string().min(1, 'an approver id cannot be empty'))
    .min(1, 'list at least one approver'),
  quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
  timeout: durationSchema.default(DEFAULT_APPROVAL_TIMEOUT),
  signatures: z.enum(APPROVAL_SIGNATURE_MODES, { message: `must be one of ${APPROVAL_SIGNATURE_MODES.join(', ')}` }).default('optional'),
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

/** A decision's Ed25519 signature: which registered key, and the signature over approvalMessage() (base64). */
export const approvalSignatureSchema = z.strictObject({
  keyId: z.string({ message: 'must be a string' }).regex(/^[0-9a-f]{16}$/, 'a key id is 16 hex digits (`ados approver list` shows them)'),
  value: z.string({ message: 'must be a string' }).regex(/^[A-Za-z0-9+/]{86}==$/, 'an Ed25519 signature in base64 (88 characters)'),
});
export type ApprovalSignature = z.output<typeof approvalSignatureSchema>;

/** sha256 (hex) of the canonical JSON of an ApprovalSubject. */
const subjectHashSchema = z.string({ message: 'must be a string' }).regex(/^[0-9a-f]{64}$/, 'the sha256 (hex) of the subject the status query shows');

/**
 * What an `approve` or `reject` signal carries. Strict: the signal's name is the decision, so a payload naming a
 * `decision` (or any other key) is refused rather than allowed to override it. `subjectHash` and `signature` come
 * together: the hash of exactly what is approved, signed by the approver.
 */
export const approvalSignalPayloadSchema = z.strictObject({
  approver: approverSchema,
  comment: commentSchema,
  subjectHash: subjectHashSchema.optional(),
  signature: approvalSignatureSchema.optional(),
});
export type ApprovalSignalPayload = z.output<typeof approvalSignalPayloadSchema>;

/** What the `decide` Update carries (strict, like the signals). A reject must say why. */
export const approvalDecisionSchema = z
  .strictObject({
    decision: approvalDecisionKindSchema,
    approver: approverSchema,
    comment: commentSchema,
    subjectHash: subjectHashSchema.optional(),
    signature: approvalSignatureSchema.optional(),
  })
  .refine((d) => d.decision !== 'reject' || (d.comment ?? '').trim() !== '', {
    message: 'a rejection needs a comment saying why (--comment "...")',
    path: ['comment'],
  })
  .refine((d) => (d.signature === undefined) === (d.subjectHash === undefined), {
    message: 'a signature and the subject hash it signs come together',
    path: ['signature'],
  });
export type ApprovalDecision = z.output<typeof approvalDecisionSchema>;

/** The decision a signal stands for: its name, with the payload's fields (parsed strictly first). */
export function decisionFromSignal(decision: ApprovalDecisionKind, payload: ApprovalSignalPayload): ApprovalDecision {
  return { ...payload, decision };
}

/**
 * Exactly what a gate asks people to approve: for a delivery run, its plan and the artifacts deployed in the
 * environments before the gate; for a schema migration, the schemas and the breaking steps. Its hash is what
 * approvers sign, so an approval never carries over to something else.
 */
export interface ApprovalSubject {
  kind: string;
  workflowId: string;
  gate: string;
  /** The environment the approval opens (delivery: prod). */
  target: string;
  /** sha256 of the plan (or schema set) as validated. */
  planSha256: string;
  /** Artifact name → sha256, of what the approval would promote. */
  artifacts: Record<string, string>;
}

/** The subject, its hash, and when it was taken. */
export interface SubjectSnapshot {
  subject: ApprovalSubject;
  subjectHash: string;
}

/**
 * The exact text an approver signs: the decision bound to the run, the gate and the subject. Another run, another
 * gate, another decision or another subject gives another text, so a signature cannot be replayed elsewhere.
 */
export function approvalMessage(fields: { workflowId: string; gate: string; decision: ApprovalDecisionKind; approver: string; subjectHash: string }): string {
  return `ados-approval/v1\n${fields.workflowId}\n${fields.gate}\n${fields.decision}\n${fields.approver}\n${fields.subjectHash}`;
}

/** An approver's registered public key, as a gate loads them. */
export interface ApproverKey {
  approver: string;
  keyId: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
}

export interface RecordedDecision {
  decision: ApprovalDecisionKind;
  approver: string;
  comment?: string;
  /** The subject hash the decision was signed over, and the key that signed it (absent when unsigned). */
  subjectHash?: string;
  keyId?: string;
  counted: boolean;
  /** Why a decision did not count; absent when it did. */
  reason?: string;
  via: 'signal' | 'update';
}

export type ApprovalGateOutcome = 'approved' | 'rejected' | 'expired';

export interface ApprovalGateSnapshot {
  gate: string;
  tenantId: string;
  policy: ApprovalPolicy;
  requestedBy: string;
  approvedBy: string[];
  rejectedBy?: string;
  decisions: RecordedDecision[];
  outcome?: ApprovalGateOutcome;
  /** Wall-clock deadline as ISO text, from workflow time. */
  deadline?: string;
  /** What is being approved, and its hash (what `ados approve` signs); set once the gate opens. */
  subject?: ApprovalSubject;
  subjectHash?: string;
  /** Approvals voided because the subject changed after they were given. */
  voided?: Array<{ approver: string; subjectHash?: string; reason: string }>;
}

/** Typed for senders; the gate parses what actually arrives with approvalSignalPayloadSchema. */
export const approveSignal = defineSignal<[ApprovalSignalPayload]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignalPayload]>('reject');
/** The gate's state, from every kind that has one (undefined when the run has no gate): what `ados approve` signs. */
export const approvalQuery = defineQuery<ApprovalGateSnapshot | undefined>('approval');
/** The same decision as an Update: its validator refuses at once a decision that would not count. */
export const decideUpdate = defineUpdate<ApprovalGateSnapshot, [ApprovalDecision]>('decide');
