import { type Kysely, sql } from 'kysely';

/**
 * Notifications of known anomalies (README, "Anomaly monitor").
 *
 * - `anomaly_notifications`: one row per anomaly and channel (`log`: the control worker's warn line; `webhook`: a
 *   POST of `payload` to `target`), inserted in the transaction that records the anomaly's `known` class, so there is
 *   a notification exactly when there is a classification. Unique on (anomaly_id, channel): a retried activity finds
 *   the row instead of adding one, and delivers it while it is not `delivered` (`pending` until an attempt, `failed`
 *   after one that did not get through, with `attempts` and `last_error`).
 * - `tenants.notifications`: the tenant profile's `notifications` section (its webhook URL), validated by
 *   shared/contract/tenancy/profile.ts; `{}` is the default (no webhook: the log channel).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('anomaly_notifications')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('anomaly_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel IN ('log', 'webhook')`))
    .addColumn('target', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status IN ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('delivered_at', 'timestamptz')
    .addUniqueConstraint('anomaly_notifications_once', ['anomaly_id', 'channel'])
    // A webhook always has somewhere to go; the log channel has nowhere but the worker's log.
    .addCheckConstraint('anomaly_notifications_target', sql`(channel = 'webhook') = (target IS NOT NULL)`)
    .execute();
  // Every monitor interval asks for its metric's undelivered notifications: an index of those only, oldest first.
  await sql`CREATE INDEX anomaly_notifications_undelivered ON anomaly_notifications (tenant_id, metric, id) WHERE status <> 'delivered'`.execute(db);
  await db.schema
    .alterTable('tenants')
    .addColumn('notifications', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('notifications').execute();
  await db.schema.dropTable('anomaly_notifications').ifExists().execute();
}
