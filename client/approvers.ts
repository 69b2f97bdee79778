/** Approver keys from the client's side: make one, list a tenant's, revoke one (README, "Signed approvals"). */
import type { DatabaseHandle } from '../shared/node/db';
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
