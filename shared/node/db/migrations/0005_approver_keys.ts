import { type Kysely, sql } from 'kysely';

/**
 * Approver identity (README, "Signed approvals"): each approver's Ed25519 public keys, per tenant. A gate loads the
 * keys of its approvers and counts a decision only when its signature verifies with one of them. Keys are never
 * deleted: rotating adds the new key and revokes the old one (`revoked_at`), so the history of who could sign stays.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('approver_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('approver', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('added_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('revoked_at', 'timestamptz')
    .addPrimaryKeyConstraint('approver_keys_pk', ['tenant_id', 'approver', 'key_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('approver_keys').execute();
}
