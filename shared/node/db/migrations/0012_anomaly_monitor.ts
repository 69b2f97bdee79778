import { type Kysely, sql } from 'kysely';

/**
 * Metrics in and the anomaly monitor (README, "Anomaly monitor").
 *
 * - `metric_samples`: one value per (tenant, metric, ts), the primary key, which also serves the monitor's range reads
 *   (`ts > checkpoint ORDER BY ts`); ingesting the same file again adds nothing (ON CONFLICT DO NOTHING).
 * - `anomaly_monitor_checkpoints`: per (tenant, metric) the detectors' state (plain JSON) and the last scored sample's
 *   ts, written in the transaction that records the anomalies found up to it: a restarted monitor continues from there
 *   and never scores, nor alerts on, an old sample again.
 * - `anomalies`: one row per detected anomaly, keyed by its ID (`anomaly-<tenant>-<metric>-<start>`, also its pipeline's
 *   workflow ID): span, peak, the detectors that agreed, its signature, and once classified its class and action.
 * - `anomaly_signatures`: signatures recorded as known per metric (an investigator's finding, a promoted handler).
 * - `anomaly_feedback`: operator verdicts (false positive), once per anomaly and verdict, with the threshold before
 *   and after; `anomaly_thresholds`: the metric's current ensemble threshold, moved by that feedback.
 * - `anomaly_findings`: what an investigator gathered about a novel anomaly.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const now = (c: any) => c.notNull().defaultTo(sql`clock_timestamp()`);
  await db.schema
    .createTable('metric_samples')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('ts', 'timestamptz', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('metric_samples_pk', ['tenant_id', 'metric', 'ts'])
    .execute();
  await db.schema
    .createTable('anomaly_monitor_checkpoints')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('detector_state', 'jsonb', (c) => c.notNull())
    .addColumn('last_ts', 'timestamptz')
    .addColumn('samples_scored', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('anomaly_monitor_checkpoints_pk', ['tenant_id', 'metric'])
    .execute();
  await db.schema
    .createTable('anomalies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('start_ts', 'timestamptz', (c) => c.notNull())
    .addColumn('end_ts', 'timestamptz', (c) => c.notNull())
    .addColumn('peak_ts', 'timestamptz', (c) => c.notNull())
    .addColumn('peak_score', 'double precision', (c) => c.notNull())
    .addColumn('detectors', 'jsonb', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('class', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('detected'))
    .addColumn('action', 'text')
    .addColumn('reason', 'text')
    .addColumn('child_workflow_id', 'text')
    .addColumn('monitor_workflow_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addColumn('updated_at', 'timestamptz', now)
    .execute();
  await db.schema.createIndex('anomalies_by_metric').on('anomalies').columns(['tenant_id', 'metric', 'start_ts']).execute();
  await db.schema.createIndex('anomalies_by_signature').on('anomalies').columns(['tenant_id', 'metric', 'signature', 'start_ts']).execute();
  await db.schema
    .createTable('anomaly_signatures')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('recorded_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('anomaly_signatures_pk', ['tenant_id', 'metric', 'signature'])
    .execute();
  await db.schema
    .createTable('anomaly_thresholds')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('threshold', 'double precision', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('anomaly_thresholds_pk', ['tenant_id', 'metric'])
    .execute();
  await db.schema
    .createTable('anomaly_feedback')
    .addColumn('anomaly_id', 'text', (c) => c.notNull())
    .addColumn('verdict', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('given_by', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('threshold_before', 'double precision', (c) => c.notNull())
    .addColumn('threshold_after', 'double precision', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .addPrimaryKeyConstraint('anomaly_feedback_pk', ['anomaly_id', 'verdict'])
    .execute();
  await db.schema
    .createTable('anomaly_findings')
    .addColumn('anomaly_id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('finding', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', now)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['anomaly_findings', 'anomaly_feedback', 'anomaly_thresholds', 'anomaly_signatures', 'anomalies', 'anomaly_monitor_checkpoints', 'metric_samples']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
