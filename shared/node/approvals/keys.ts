/**
 * Approver keys (README, "Signed approvals"): Ed25519 key pairs from node:crypto. The private key stays in a local
 * file the CLI reads (mode 0600); the public key is registered for the approver in the tenant (`approver_keys`),
 * where gates load it. Signing happens here; verification happens in the workflow (workflows/common/signature.ts).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { approvalMessage, type ApprovalDecisionKind, type ApprovalSignature, type ApproverKey } from '../../contract/approval';
import type { Db } from '../db';

/** Where `ados approver keygen` keeps private keys unless told otherwise: ~/.config/ados/keys/<tenant>/<approver>.pem. */
export function defaultKeyFile(tenantId: string, approver: string, home = os.homedir()): string {
  return path.join(home, '.config', 'ados', 'keys', tenantId, `${approver.replace(/[^A-Za-z0-9._@-]/g, '_')}.pem`);
}

/** A raw 32-byte Ed25519 public key (base64) from a key object. */
export function rawPublicKey(key: KeyObject): string {
  // SPKI DER of an Ed25519 key is a fixed 12-byte header followed by the 32 raw bytes.
  return key.export({ format: 'der', type: 'spki' }).subarray(12).toString('base64');
}

/** The key id: the first 16 hex digits of the sha256 of the raw public key. */
export function keyIdOf(publicKeyBase64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest('hex').slice(0, 16);
}

/** Generates a key pair and writes the private key as PKCS#8 PEM (0600, refusing to overwrite). */
export function generateKeyFile(file: string): { keyId: string; publicKey: string } {
  if (fs.existsSync(file)) throw new Error(`${file} exists: keep it, or give another --key-file (rotate: keygen a new file, then revoke the old key)`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  const raw = rawPublicKey(publicKey);
  return { keyId: keyIdOf(raw), publicKey: raw };
}

/** Reads a private key file; the error names the file and how to make one. */
export function readKeyFile(file: string): { privateKey: KeyObject; keyId: string } {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(fs.readFileSync(file));
  } catch (error) {
    throw new Error(`cannot read the approver key ${file} (${(error as Error).message}); make one with: ados approver keygen --tenant <t> --as <you>`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is a ${privateKey.asymmetricKeyType} key; approvals are signed with Ed25519 (ados approver keygen)`);
  return { privateKey, keyId: keyIdOf(rawPublicKey(createPublicKey(privateKey))) };
}

/** Signs a decision over the subject the gate shows (its status query's `subjectHash`). */
export function signDecision(
  file: string,
  fields: { workflowId: string; gate: string; decision: ApprovalDecisionKind; approver: string; subjectHash: string },
): ApprovalSignature {
  const { privateKey, keyId } = readKeyFile(file);
  return { keyId, value: sign(null, Buffer.from(approvalMessage(fields)), privateKey).toString('base64') };
}

/** Registers a public key for an approver of a tenant (idempotent: the same key twice is one row). */
export async function registerKey(db: Db, tenantId: string, approver: string, publicKey: string): Promise<string> {
  const keyId = keyIdOf(publicKey);
  await db
    .insertInto('approver_keys')
    .values({ tenant_id: tenantId, approver, key_id: keyId, public_key: publicKey })
    .onConflict((oc) => oc.columns(['tenant_id', 'approver', 'key_id']).doNothing())
    .execute();
  return keyId;
}

/** Revokes a key: gates opened or reloaded after this no longer count its signatures. */
export async function revokeKey(db: Db, tenantId: string, approver: string, keyId: string): Promise<boolean> {
  const result = await db
    .updateTable('approver_keys')
    .set({ revoked_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('approver', '=', approver)
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Every key of a tenant (revoked ones too, for `ados approver list`). */
export async function listKeys(db: Db, tenantId: string) {
  return db.selectFrom('approver_keys').selectAll().where('tenant_id', '=', tenantId).orderBy('approver').orderBy('added_at').execute();
}

/** The keys a gate counts: these approvers' unrevoked keys in the tenant. */
export async function activeKeys(db: Db, tenantId: string, approvers: readonly string[]): Promise<ApproverKey[]> {
  if (approvers.length === 0) return [];
  const rows = await db
    .selectFrom('approver_keys')
    .select(['approver', 'key_id', 'public_key'])
    .where('tenant_id', '=', tenantId)
    .where('approver', 'in', [...approvers])
    .where('revoked_at', 'is', null)
    .orderBy('approver')
    .orderBy('key_id')
    .execute();
  return rows.map((r) => ({ approver: r.approver, keyId: r.key_id, publicKey: r.public_key }));
}
