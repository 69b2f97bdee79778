/**
 * The approval gate's messages and policy, shared by every kind of work that waits on a human
 * (delivery runs before prod, breaking schema migrations).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationSchema, durationToMs } from './duration';
import { issuesFromZod, type Validated, type ValidationIssue } from './validation';

/** How long a gate waits for its quorum when the policy does not say. */
export const DEFAULT_APPROVAL_TIMEOUT = '72h';

/**
 * `required`: only a decision signed with the approver's registered Ed25519 key over this run's subject counts;
 * `optional`: unsigned decisions count too, but a signed one must verify. See README, "Signed approvals".
 */
export const APPROVAL_SIGNATURE_MODES = ['required', 'optional'] as const;
export type ApprovalSignatureMode = (typeof APPROVAL_SIGNATURE_MODES)[number];

/** A role name as the tenant's `approvals.roles` registers it (`release-manager`). */
export const APPROVER_ROLE_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
const roleNameSchema = z.string({ message: 'must be a role name' }).regex(APPROVER_ROLE_PATTERN, 'a role name is lowercase letters, digits and "-", starting with a letter (release-manager)');
const approverIdSchema = z.string({ message: 'must be an approver id' }).min(1, 'an approver id cannot be empty').max(200, 'an approver id has at most 200 characters');
/** Role → its members; a bad role name is explained (zod's own message for a record key names no rule). */
const roleMembersSchema = z.record(roleNameSchema, z.array(approverIdSchema), {
  error: (issue) => (issue.code === 'invalid_key' ? 'a role name is lowercase letters, digits and "-", starting with a letter (release-manager)' : undefined),
});

/**
 * The policy a gate enforces, as the run input carries it: resolved when the run starts (the tenant's policy,
 * strengthened by the plan's `approval` section: effectiveApprovalPolicy), so the workflow reads no configuration.
 * `approvers` is everyone who may count, role members included; `roles` says which of them are there by a role.
 */
export const approvalPolicySchema = z.object({
  approvers: z.array(approverIdSchema).min(1, 'list at least one approver'),
  quorum: z.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
  timeout: durationSchema.default(DEFAULT_APPROVAL_TIMEOUT),
  signatures: z.enum(APPROVAL_SIGNATURE_MODES, { message: `must be one of ${APPROVAL_SIGNATURE_MODES.join(', ')}` }).default('optional'),
  /** Role → the approvers above who count as its members (from the tenant's `approvals.roles` at start). */
  roles: roleMembersSchema.optional(),
  /** Who wrote the plan: like the requester, they never count as approvers of it (separation of duties). */
  authors: z.array(approverIdSchema).optional(),
  /** An approval older than this when the gate would let the run go on no longer counts (it must be given again). */
  maxAge: durationSchema.optional(),
});
export type ApprovalPolicy = z.output<typeof approvalPolicySchema>;

/** The environments a gate stands before: a delivery run waits for approval before prod only. */
export const GATED_ENVIRONMENTS = ['prod'] as const;

/**
 * A tenant's policy for the gate before one environment (the profile's `approvals.prod`): named approvers and roles
 * (any member counts), quorum N of those, timeout, signatures, expiry of an approval (`maxAge`, none by default) and
 * whether plans must name their authors (who then cannot approve them). A plan may strengthen it, never weaken it.
 */
export const tenantGatePolicySchema = z
  .strictObject({
    approvers: z.array(approverIdSchema).default([]),
    roles: z.array(roleNameSchema).default([]),
    quorum: approvalPolicySchema.shape.quorum,
    timeout: approvalPolicySchema.shape.timeout,
    signatures: approvalPolicySchema.shape.signatures,
    maxAge: durationSchema.nullable().default(null),
    requireAuthors: z.boolean({ message: 'must be true or false' }).default(false),
  })
  .refine((p) => p.approvers.length + p.roles.length > 0, { message: 'name at least one approver or role', path: ['approvers'] });
export type TenantGatePolicy = z.output<typeof tenantGatePolicySchema>;

/** The tenant profile's `approvals` section: who holds which role, and the policy of each gated environment. */
export const tenantApprovalsSchema = z
  .strictObject(
    {
      roles: roleMembersSchema.default({}),
      prod: tenantGatePolicySchema.nullable().default(null),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `only roles and ${GATED_ENVIRONMENTS.join(', ')} (the environments with an approval gate) go here` : undefined) },
  )
  .superRefine((approvals, ctx) => {
    for (const environment of GATED_ENVIRONMENTS) {
      approvals[environment]?.roles.forEach((role, index) => {
        if (!(role in approvals.roles)) {
          ctx.addIssue({ code: 'custom', path: [environment, 'roles', index], message: `no role "${role}" in approvals.roles (ados approver grant --role ${role} --as <user>)` });
        }
      });
    }
  });
export type TenantApprovals = z.output<typeof tenantApprovalsSchema>;

/** The plan's `approval` section where a tenant policy applies: every field optional, nothing defaulted, nothing unknown. */
const planApprovalSchema = z.strictObject({
  approvers: z.array(approverIdSchema).min(1, 'list at least one approver, or leave approvers out (the tenant policy names them)').optional(),
  quorum: approvalPolicySchema.shape.quorum.unwrap().optional(),
  timeout: durationSchema.optional(),
  signatures: approvalPolicySchema.shape.signatures.unwrap().optional(),
  maxAge: durationSchema.optional(),
  authors: z.array(approverIdSchema).optional(),
});

/** Everyone who may count at a gate: the named approvers and each role's members, once each, in that order. */
export function eligibleApprovers(policy: Pick<TenantGatePolicy, 'approvers' | 'roles'>, roles: Record<string, readonly string[]>): string[] {
  return [...new Set([...policy.approvers, ...policy.roles.flatMap((role) => roles[role] ?? [])])];
}

/**
 * The policy a delivery run's gate enforces: the tenant's `approvals.prod` (undefined: the tenant has none, the
 * plan's `approval` section stands alone), with the plan's section allowed only to strengthen it. Refused, with the
 * field named: an approver the tenant's policy does not allow, a lower quorum, a longer timeout or maxAge, optional
 * signatures where the tenant requires them, no authors where the tenant requires them; and a policy nobody can meet.
 */
export function effectiveApprovalPolicy(
  tenantId: string,
  approvals: TenantApprovals,
  plan: { approval?: unknown; requestedBy: string },
): Validated<ApprovalPolicy | undefined> {
  const tenant = approvals.prod;
  if (!tenant) return { ok: true, value: undefined };
  const parsed = planApprovalSchema.safeParse(plan.approval ?? {});
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error).map((i) => ({ ...i, path: i.path === '(root)' ? 'approval' : `approval.${i.path}` })) };
  const asked = parsed.data;
  const issues: ValidationIssue[] = [];
  const theirs = `tenant ${tenantId}'s prod approval policy`;
  const weaker = (path: string, message: string) => issues.push({ path: `approval.${path}`, message: `${message}; a plan may strengthen ${theirs}, not weaken it` });

  const allowed = eligibleApprovers(tenant, approvals.roles);
  const describe = [...(tenant.approvers.length > 0 ? [`approvers ${tenant.approvers.join(', ')}`] : []), ...tenant.roles.map((r) => `role ${r}: ${(approvals.roles[r] ?? []).join(', ') || 'no members'}`)].join('; ');
  asked.approvers?.forEach((approver, index) => {
    if (!allowed.includes(approver)) weaker(`approvers[${index}]`, `"${approver}" may not approve under ${theirs} (${describe})`);
  });
  if (asked.quorum !== undefined && asked.quorum < tenant.quorum) weaker('quorum', `${asked.quorum} is below the quorum of ${tenant.quorum}`);
  if (asked.timeout !== undefined && durationToMs(asked.timeout) > durationToMs(tenant.timeout)) weaker('timeout', `${asked.timeout} is longer than the timeout of ${tenant.timeout}`);
  if (asked.signatures === 'optional' && tenant.signatures === 'required') weaker('signatures', 'optional signatures where they are required');
  if (asked.maxAge !== undefined && tenant.maxAge !== null && durationToMs(asked.maxAge) > durationToMs(tenant.maxAge)) weaker('maxAge', `${asked.maxAge} is longer than the maxAge of ${tenant.maxAge}`);
  if (tenant.requireAuthors && (asked.authors ?? []).length === 0) {
    issues.push({ path: 'approval.authors', message: `required by ${theirs}: name who wrote the plan (they cannot approve it)` });
  }
  if (issues.length > 0) return { ok: false, issues };

  const approvers = asked.approvers ?? allowed;
  const roles = Object.fromEntries(tenant.roles.map((role) => [role, (approvals.roles[role] ?? []).filter((member) => approvers.includes(member))]));
  const policy: ApprovalPolicy = {
    approvers,
    quorum: Math.max(asked.quorum ?? 1, tenant.quorum),
    timeout: asked.timeout ?? tenant.timeout,
    signatures: asked.signatures ?? tenant.signatures,
    ...(tenant.roles.length > 0 ? { roles } : {}),
    ...(asked.authors ? { authors: asked.authors } : {}),
    ...((asked.maxAge ?? tenant.maxAge) ? { maxAge: asked.maxAge ?? tenant.maxAge! } : {}),
  };
  if (approvers.length === 0) return { ok: false, issues: [{ path: 'approval.approvers', message: `nobody may approve under ${theirs} (${describe}): grant the role to someone (ados approver grant)` }] };
  const excluded = new Set([plan.requestedBy, ...(policy.authors ?? [])]);
  const eligible = approvers.filter((a) => !excluded.has(a));
  if (eligible.length < policy.quorum) {
    return {
      ok: false,
      issues: [{ path: 'approval.quorum', message: `quorum ${policy.quorum} can never be met: only ${eligible.length} eligible approver(s) (${eligible.join(', ') || 'none'}) besides the requester and the plan's authors` }],
    };
  }
  return { ok: true, value: policy };
}

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
  /** The policy's roles the approver holds (absent: named, or a policy without roles). */
  roles?: string[];
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
  /** Approver → when their counted approval was given (ISO, workflow time): what the policy's maxAge is measured from. */
  approvedAt?: Record<string, string>;
  rejectedBy?: string;
  decisions: RecordedDecision[];
  outcome?: ApprovalGateOutcome;
  /** Wall-clock deadline as ISO text, from workflow time. */
  deadline?: string;
  /** What is being approved, and its hash (what `ados approve` signs); set once the gate opens. */
  subject?: ApprovalSubject;
  subjectHash?: string;
  /** Approvals voided because the subject changed after they were given, or lapsed (older than the policy's maxAge). */
  voided?: Array<{ approver: string; subjectHash?: string; reason: string }>;
}

/** Typed for senders; the gate parses what actually arrives with approvalSignalPayloadSchema. */
export const approveSignal = defineSignal<[ApprovalSignalPayload]>('approve');
export const rejectSignal = defineSignal<[ApprovalSignalPayload]>('reject');
/** The gate's state, from every kind that has one (undefined when the run has no gate): what `ados approve` signs. */
export const approvalQuery = defineQuery<ApprovalGateSnapshot | undefined>('approval');
/** The same decision as an Update: its validator refuses at once a decision that would not count. */
export const decideUpdate = defineUpdate<ApprovalGateSnapshot, [ApprovalDecision]>('decide');
