import { type Kysely, sql } from 'kysely';

/**
 * The anomaly pipeline's handlers (README, "Anomaly pipeline").
 *
 * - `anomaly_handlers`: one row per pipeline and environment (stage, prod) a generated handler was deployed to: the
 *   process runtime's release, url, port and pid, whether it still serves or was removed, and, once promoted, the
 *   alert rate of its first watch of the metric in prod.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('anomaly_handlers')
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('environment', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('handler', 'text', (c) => c.notNull())
    .addColumn('service', 'text', (c) => c.notNull())
    .addColumn('release', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('alert_samples', 'integer')
    .addColumn('alerts', 'integer')
    .addColumn('alert_rate', 'double precision')
    .addColumn('deployed_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('anomaly_handlers_pk', ['workflow_id', 'environment'])
    .execute();
  await db.schema.createIndex('anomaly_handlers_by_metric').on('anomaly_handlers').columns(['tenant_id', 'metric']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('anomaly_handlers').ifExists().execute();
}
