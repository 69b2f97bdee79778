/**
 * Approver policy, the pure parts: the tenant's `approvals` section (roles and the prod gate's policy), the policy a
 * run's gate enforces (effectiveApprovalPolicy: the tenant's, which a plan may strengthen and never weaken), and the
 * gate's separation-of-duties, role and expiry rules.
 */
import { effectiveApprovalPolicy, tenantApprovalsSchema, type ApprovalPolicy, type TenantApprovals } from '../../shared/contract/approval';
import { applyProfilePatch, defaultProfile } from '../../shared/contract/tenancy/profile';
import { validateDeliveryRunInput } from '../../shared/contract/delivery/input';
import { judgeDecision, lapsedApprovals, rolesOf } from '../../workflows/approval-rules';
import { exampleRun } from '../workflows/fixtures';

const approvals = (prod: Record<string, unknown> | null, roles: Record<string, string[]> = { 'release-manager': ['dave', 'erin'] }): TenantApprovals =>
  tenantApprovalsSchema.parse({ roles, prod });

const issuesOf = (result: ReturnType<typeof effectiveApprovalPolicy>) => (result.ok ? [] : result.issues);
const policyOf = (result: ReturnType<typeof effectiveApprovalPolicy>): ApprovalPolicy | undefined => {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.issues)}`);
  return result.value;
};

describe("the tenant's approvals section", () => {
  it('defaults to no roles and no prod policy', () => {
    expect(defaultProfile().approvals).toEqual({ roles: {}, prod: null });
  });

  it('fills the prod policy defaults', () => {
    expect(approvals({ roles: ['release-manager'] }).prod).toEqual({
      approvers: [],
      roles: ['release-manager'],
      quorum: 1,
      timeout: '72h',
      signatures: 'optional',
      maxAge: null,
      requireAuthors: false,
    });
  });

  it.each([
    [{ roles: {}, stage: { approvers: ['a'] } }, '', /only roles and prod/],
    [{ prod: { approvers: [] } }, 'prod.approvers', /at least one approver or role/],
    [{ prod: { roles: ['auditor'] } }, 'prod.roles[0]', /no role "auditor" in approvals.roles/],
    [{ roles: { 'Release Manager': ['a'] } }, 'roles.Release Manager', /role name/],
    [{ prod: { approvers: ['a'], maxAge: '1 day' } }, 'prod.maxAge', /duration|unit/],
  ])('refuses %j at %s', (value, path, message) => {
    const parsed = tenantApprovalsSchema.safeParse(value);
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues[0];
    expect(issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('')).toBe(path);
    expect(issue.message).toMatch(message);
  });

  it('is patched like the other sections: given parts replace, the rest stays', () => {
    const withRoles = applyProfilePatch(defaultProfile(), { approvals: { roles: { 'release-manager': ['dave'] } } });
    if (!withRoles.ok) throw new Error(JSON.stringify(withRoles.issues));
    const withPolicy = applyProfilePatch(withRoles.value, { approvals: { prod: { roles: ['release-manager'], quorum: 1 } } });
    if (!withPolicy.ok) throw new Error(JSON.stringify(withPolicy.issues));
    expect(withPolicy.value.approvals.roles).toEqual({ 'release-manager': ['dave'] });
    expect(withPolicy.value.approvals.prod?.roles).toEqual(['release-manager']);
    const refused = applyProfilePatch(withRoles.value, { approvals: { prod: { roles: ['auditor'] } } });
    expect(refused.ok ? [] : refused.issues.map((i) => i.path)).toEqual(['approvals.prod.roles[0]']);
  });
});

describe('effectiveApprovalPolicy: the tenant policy, strengthened by the plan, never weakened', () => {
  const tenant = approvals({ approvers: ['alice'], roles: ['release-manager'], quorum: 2, timeout: '48h', signatures: 'required', maxAge: '24h' });

  it('no tenant policy: the plan decides alone', () => {
    expect(effectiveApprovalPolicy('acme', approvals(null), { approval: { approvers: ['x'] }, requestedBy: 'carol' })).toEqual({ ok: true, value: undefined });
  });

  it('a plan without an approval section gets the tenant policy, role members resolved', () => {
    expect(policyOf(effectiveApprovalPolicy('acme', tenant, { requestedBy: 'carol' }))).toEqual({
      approvers: ['alice', 'dave', 'erin'],
      quorum: 2,
      timeout: '48h',
      signatures: 'required',
      roles: { 'release-manager': ['dave', 'erin'] },
      maxAge: '24h',
    });
  });

  it('a plan may strengthen: fewer approvers, higher quorum, shorter timeout and maxAge, authors', () => {
    const policy = policyOf(
      effectiveApprovalPolicy('acme', tenant, { approval: { approvers: ['alice', 'dave', 'erin'], quorum: 3, timeout: '1h', maxAge: '30m', authors: ['frank'] }, requestedBy: 'carol' }),
    );
    expect(policy).toMatchObject({ quorum: 3, timeout: '1h', maxAge: '30m', authors: ['frank'], signatures: 'required' });
  });

  it.each([
    [{ approvers: ['alice', 'mallory'] }, 'approval.approvers[1]', /"mallory" may not approve under tenant acme's prod approval policy \(approvers alice; role release-manager: dave, erin\)/],
    [{ quorum: 1 }, 'approval.quorum', /1 is below the quorum of 2; a plan may strengthen/],
    [{ timeout: '96h' }, 'approval.timeout', /96h is longer than the timeout of 48h/],
    [{ signatures: 'optional' }, 'approval.signatures', /optional signatures where they are required/],
    [{ maxAge: '2d' }, 'approval.maxAge', /2d is longer than the maxAge of 24h/],
    [{ quorum: 'two' }, 'approval.quorum', /number/],
    [{ approvers: ['alice'], sneaky: true }, 'approval', /sneaky/],
  ])('refuses a plan that weakens it: %j', (approval, path, message) => {
    const issues = issuesOf(effectiveApprovalPolicy('acme', tenant, { approval, requestedBy: 'carol' }));
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)?.message).toMatch(message);
  });

  it('requireAuthors: a plan must name its authors', () => {
    const strict = approvals({ roles: ['release-manager'], requireAuthors: true });
    expect(issuesOf(effectiveApprovalPolicy('acme', strict, { requestedBy: 'carol' }))).toEqual([
      { path: 'approval.authors', message: "required by tenant acme's prod approval policy: name who wrote the plan (they cannot approve it)" },
    ]);
    expect(policyOf(effectiveApprovalPolicy('acme', strict, { approval: { authors: ['dave'] }, requestedBy: 'carol' }))?.authors).toEqual(['dave']);
  });

  it('refuses a policy nobody can meet once the requester and the authors are set aside', () => {
    const issues = issuesOf(effectiveApprovalPolicy('acme', approvals({ roles: ['release-manager'], quorum: 2 }), { approval: { authors: ['erin'] }, requestedBy: 'dave' }));
    expect(issues).toEqual([{ path: 'approval.quorum', message: expect.stringMatching(/^quorum 2 can never be met: only 0 eligible/) }]);
    const empty = issuesOf(effectiveApprovalPolicy('acme', approvals({ roles: ['release-manager'] }, { 'release-manager': [] }), { requestedBy: 'carol' }));
    expect(empty[0]).toMatchObject({ path: 'approval.approvers', message: expect.stringContaining('nobody may approve') });
  });

  it('the effective policy passes the run input validation, and authors count against the quorum there too', () => {
    const policy = policyOf(effectiveApprovalPolicy('acme', tenant, { requestedBy: 'carol' }));
    expect(validateDeliveryRunInput({ ...exampleRun({ tenantId: 'acme', requestedBy: 'carol' }), approval: policy }).ok).toBe(true);
    const authored = validateDeliveryRunInput({ ...exampleRun({ tenantId: 'acme', requestedBy: 'carol' }), approval: { approvers: ['alice', 'bob'], quorum: 2, authors: ['bob'] } });
    expect(authored.ok ? [] : authored.issues.map((i) => i.path)).toEqual(['approval.quorum']);
  });
});

describe('the gate: separation of duties, roles, expiry', () => {
  const policy: ApprovalPolicy = { approvers: ['alice', 'dave', 'erin'], quorum: 2, timeout: '72h', signatures: 'optional', roles: { 'release-manager': ['dave', 'erin'] }, authors: ['erin'] };
  const state = { policy, requestedBy: 'dave', open: true, approvedBy: [], stage: 'awaiting_approval' };

  it('the requester and the plan authors never count, even as role members; the other members do', () => {
    expect(judgeDecision(state, { decision: 'approve', approver: 'dave' })).toEqual({ counts: false, reason: '"dave" requested this run and cannot approve it' });
    expect(judgeDecision(state, { decision: 'approve', approver: 'erin' })).toEqual({ counts: false, reason: '"erin" wrote this plan (approval.authors) and cannot approve it' });
    expect(judgeDecision({ ...state, requestedBy: 'carol' }, { decision: 'approve', approver: 'dave' })).toEqual({ counts: true });
    expect(judgeDecision(state, { decision: 'reject', approver: 'erin' })).toEqual({ counts: true });
  });

  it('rolesOf names the roles an approver counts through', () => {
    expect(rolesOf(policy, 'dave')).toEqual(['release-manager']);
    expect(rolesOf(policy, 'alice')).toEqual([]);
    expect(rolesOf({ ...policy, roles: undefined }, 'dave')).toEqual([]);
  });

  it('lapsedApprovals: older than maxAge lapses, exactly maxAge still counts', () => {
    const approvedAt = new Map([
      ['alice', 1_000],
      ['bob', 5_000],
    ]);
    expect(lapsedApprovals(approvedAt, 4_000, 5_000)).toEqual([]);
    expect(lapsedApprovals(approvedAt, 4_000, 5_001)).toEqual(['alice']);
    expect(lapsedApprovals(approvedAt, 10, 6_000)).toEqual(['alice', 'bob']);
  });
});
