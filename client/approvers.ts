/** Approvers from the client's side: their keys (README, "Signed approvals"), roles and the tenant's policy ("Approver policy"). */
import { userInfo } from 'node:os';
import { effectiveApprovalPolicy, type TenantApprovals, type TenantGatePolicy } from '../shared/contract/approval';
import type { TenantProfile } from '../shared/contract/tenancy/profile';
import { InputValidationError } from '../shared/contract/validation';
import type { AdosConfig } from '../shared/node/config';
import { openDatabase, type DatabaseHandle, type Db } from '../shared/node/db';
import { getTenant, requireTenant, updateTenant } from '../shared/node/tenancy/store';
import { defaultKeyFile, generateKeyFile, listKeys, registerKey, revokeKey } from '../shared/node/approvals/keys';

/** A key pair for an approver: the private key written to `file` (default ~/.config/ados/keys/…), the public key registered. */
export async function createApproverKey(database: DatabaseHandle, tenantId: string, approver: string, file = defaultKeyFile(tenantId, approver)) {
  const { keyId, publicKey } = generateKeyFile(file);
  await registerKey(database.db, tenantId, approver, publicKey);
  return { tenantId, approver, keyId, publicKey, keyFile: file };
}

/** Every key of a tenant, revoked ones marked. */
export async function listApproverKeys(database: DatabaseHandle, tenantId: string) {
  const rows = await listKeys(database.db, tenantId);
  return rows.map((r) => ({ approver: r.approver, keyId: r.key_id, addedAt: r.added_at.toISOString(), revokedAt: r.revoked_at?.toISOString() ?? null }));
}

/** Revokes a key; false when no such active key exists. */
export async function revokeApproverKey(database: DatabaseHandle, tenantId: string, approver: string, keyId: string): Promise<boolean> {
  return revokeKey(database.db, tenantId, approver, keyId);
}

/** Whose change a CLI command records (the tenant's audit trail names it). */
const changedBy = () => userInfo().username;

/** A tenant's approver roles and prod policy (the profile's `approvals` section). */
export async function approvalSettings(database: DatabaseHandle, tenantId: string): Promise<TenantApprovals> {
  return (await requireTenant(database.db, tenantId)).profile.approvals;
}

/**
 * Adds (or with `granted` false removes) an approver to a role of a tenant; audited as a tenant change. The members
 * are read and written under the tenant row's lock (updateTenant), so grants made at the same time all hold.
 */
export async function setRoleMember(database: DatabaseHandle, tenantId: string, role: string, approver: string, granted: boolean): Promise<TenantApprovals['roles']> {
  const updated = await updateTenant(
    database.db,
    tenantId,
    ({ approvals: { roles } }: TenantProfile) => {
      const members = roles[role] ?? [];
      if (!granted && !members.includes(approver)) {
        throw new InputValidationError('flags', [{ path: '--as', message: `${approver} does not hold role ${role} in ${tenantId} (ados approver list --tenant ${tenantId})` }]);
      }
      const next = granted ? [...new Set([...members, approver])] : members.filter((m) => m !== approver);
      const { [role]: _dropped, ...others } = roles;
      return { approvals: { roles: next.length > 0 ? { ...others, [role]: next } : others } };
    },
    changedBy(),
  );
  return updated.profile.approvals.roles;
}

/**
 * Sets a tenant's prod approval policy: `changes` over the policy in force (or the defaults when there is none),
 * read and written under the tenant row's lock; `null` removes it (each plan's `approval` decides again). Validated
 * by the profile's schema: issues name the field.
 */
export async function setProdPolicy(database: DatabaseHandle, tenantId: string, changes: Partial<TenantGatePolicy> | null): Promise<TenantApprovals['prod']> {
  const updated = await updateTenant(database.db, tenantId, ({ approvals: { prod } }: TenantProfile) => ({ approvals: { prod: changes === null ? null : { ...(prod ?? {}), ...changes } } }), changedBy());
  return updated.profile.approvals.prod;
}

/**
 * Which gate a request's `approval` section is for: a delivery run's prod gate (only when the run goes to prod), or
 * schema extraction's breaking-migration gate (always: a migration changes what every environment runs, so it is held
 * to the tenant's strictest policy, `approvals.prod`).
 */
export type TenantApprovalGate = 'delivery' | 'migration';

/**
 * A request (a delivery run's plan, an extraction's) with the approval policy its gate will enforce (README, "Approver
 * policy"): where its tenant has an `approvals.prod` policy and the gate applies (see TenantApprovalGate), its
 * `approval` becomes effectiveApprovalPolicy (role members resolved now, so the workflow reads no configuration);
 * otherwise the request is returned as it is. A request that would weaken the tenant's policy is refused
 * (InputValidationError, exit 2) naming the field.
 */
export async function applyTenantApprovalPolicy(db: Db, raw: unknown, gate: TenantApprovalGate = 'delivery'): Promise<unknown> {
  if (typeof raw !== 'object' || raw === null) return raw;
  const request = raw as Record<string, unknown>;
  // No environments: the default, every one, prod included.
  const toProd = !Array.isArray(request.environments) || request.environments.includes('prod');
  if (typeof request.tenantId !== 'string' || (gate === 'delivery' && !toProd)) return raw;
  const tenant = await getTenant(db, request.tenantId);
  if (!tenant) return raw;
  const resolved = effectiveApprovalPolicy(request.tenantId, tenant.profile.approvals, { approval: request.approval, requestedBy: String(request.requestedBy ?? '') });
  if (!resolved.ok) throw new InputValidationError('approval policy', resolved.issues);
  return resolved.value ? { ...request, approval: resolved.value } : raw;
}

/** applyTenantApprovalPolicy against DATABASE_URL; without it no tenant policy can be read, and the plan's stands. */
export async function withTenantApprovalPolicy(config: Pick<AdosConfig, 'databaseUrl'>, raw: unknown, gate: TenantApprovalGate = 'delivery'): Promise<unknown> {
  if (!config.databaseUrl) return raw;
  const database = await openDatabase(config.databaseUrl, { poolSize: 1 });
  try {
    return await applyTenantApprovalPolicy(database.db, raw, gate);
  } finally {
    await database.close();
  }
}
