/**
 * The anomaly monitor's tables (migration 0012_anomaly_monitor), shared by its activities and the `ados anomaly` CLI:
 * detector checkpoints committed with the anomalies found up to them, classification, known signatures, findings,
 * false-positive feedback and the metric's threshold it moves; `ados anomaly show` adds the notifications
 * (notifications.ts).
 */
import { type Selectable, sql } from 'kysely';
import {
  noneClassified,
  thresholdAfterFalsePositive,
  type AnomalyAction,
  type AnomalyClass,
  type AnomalyToClassify,
  type MonitoredAnomaly,
} from '../../contract/anomaly/monitor';
import type { Db } from '../db';
import type { AnomaliesTable } from '../db/schema';
import { anomalyNotifications, type NotificationRecord } from './notifications';
import type { MetricRef } from './samples';

/** A monitor's detector checkpoint: the detectors' plain-JSON state and the last sample they scored. */
export interface MonitorCheckpoint {
  detectorState: unknown;
  lastTs?: number;
  samplesScored: number;
}

/** The metric's checkpoint, if its monitor ever committed one. */
export async function loadCheckpoint(db: Db, ref: MetricRef): Promise<MonitorCheckpoint | undefined> {
  const row = await db
    .selectFrom('anomaly_monitor_checkpoints')
    .select(['detector_state', 'last_ts', 'samples_scored'])
    .where('tenant_id', '=', ref.tenantId)
    .where('metric', '=', ref.metric)
    .executeTakeFirst();
  if (!row) return undefined;
  return { detectorState: row.detector_state, ...(row.last_ts ? { lastTs: row.last_ts.getTime() } : {}), samplesScored: Number(row.samples_scored) };
}

export interface IntervalCommit {
  workflowId: string;
  /** The checkpoint's last ts this interval started from (undefined: none); another commit since makes this one void. */
  fromTs?: number;
  checkpoint: MonitorCheckpoint;
  anomalies: readonly MonitoredAnomaly[];
}

/**
 * Commits one interval in one transaction: the anomalies it closed (each once, by ID) and the detectors' new
 * checkpoint. If the checkpoint moved since the interval read it (an earlier attempt of the same activity
 * committed), nothing is written and `committed` is false: samples are scored, and anomalies recorded, once.
 */
export async function commitInterval(db: Db, ref: MetricRef, commit: IntervalCommit): Promise<{ committed: boolean }> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('anomaly_monitor_checkpoints')
      .values({ tenant_id: ref.tenantId, metric: ref.metric, workflow_id: commit.workflowId, detector_state: 'null', last_ts: null, samples_scored: 0 })
      .onConflict((oc) => oc.columns(['tenant_id', 'metric']).doNothing())
      .execute();
    const { rows } = await sql<{ last_ts: Date | null }>`
      SELECT last_ts FROM anomaly_monitor_checkpoints WHERE tenant_id = ${ref.tenantId} AND metric = ${ref.metric} FOR UPDATE`.execute(trx);
    if ((rows[0].last_ts?.getTime() ?? undefined) !== commit.fromTs) return { committed: false };
    if (commit.anomalies.length > 0) {
      await trx
        .insertInto('anomalies')
        .values(
          commit.anomalies.map((a) => ({
            id: a.id,
            tenant_id: a.tenantId,
            metric: a.metric,
            start_ts: new Date(a.start),
            end_ts: new Date(a.end),
            peak_ts: new Date(a.peakTs),
            peak_score: a.peakScore,
            detectors: JSON.stringify(a.detectors),
            samples: a.samples,
            signature: a.signature,
            threshold: a.threshold,
            class: null,
            action: null,
            reason: null,
            child_workflow_id: null,
            monitor_workflow_id: commit.workflowId,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
    await trx
      .updateTable('anomaly_monitor_checkpoints')
      .set({
        workflow_id: commit.workflowId,
        detector_state: JSON.stringify(commit.checkpoint.detectorState),
        last_ts: commit.checkpoint.lastTs === undefined ? null : new Date(commit.checkpoint.lastTs),
        samples_scored: commit.checkpoint.samplesScored,
        updated_at: new Date(),
      })
      .where('tenant_id', '=', ref.tenantId)
      .where('metric', '=', ref.metric)
      .execute();
    return { committed: true };
  });
}

type AnomalyRow = Omit<Selectable<AnomaliesTable>, 'class' | 'status' | 'action' | 'reason' | 'child_workflow_id' | 'monitor_workflow_id' | 'created_at' | 'updated_at'>;

const anomalyOf = (row: AnomalyRow): MonitoredAnomaly => ({
  id: row.id,
  tenantId: row.tenant_id,
  metric: row.metric,
  start: row.start_ts.toISOString(),
  end: row.end_ts.toISOString(),
  peakTs: row.peak_ts.toISOString(),
  peakScore: row.peak_score,
  detectors: row.detectors as string[],
  samples: row.samples,
  signature: row.signature,
  threshold: row.threshold,
});

/**
 * The metric's anomalies detected and not yet classified, oldest first, each with what classification needs: how
 * often its signature was seen before it within `novelWindowMs` (false positives aside), and whether the signature is
 * known or was marked a false positive.
 */
export async function anomaliesToClassify(db: Db, ref: MetricRef, novelWindowMs: number, limit = 500): Promise<AnomalyToClassify[]> {
  const { rows } = await sql<AnomalyRow & { seen_before: number; known: boolean; false_positive: boolean }>`
    SELECT a.id, a.tenant_id, a.metric, a.start_ts, a.end_ts, a.peak_ts, a.peak_score, a.detectors, a.samples, a.signature, a.threshold,
      (SELECT count(*)::integer FROM anomalies b
        WHERE b.tenant_id = a.tenant_id AND b.metric = a.metric AND b.signature = a.signature
          AND b.start_ts < a.start_ts AND b.start_ts >= a.start_ts - ${novelWindowMs}::integer * interval '1 millisecond'
          AND b.class IS DISTINCT FROM 'false_positive') AS seen_before,
      EXISTS (SELECT 1 FROM anomaly_signatures s WHERE s.tenant_id = a.tenant_id AND s.metric = a.metric AND s.signature = a.signature) AS known,
      EXISTS (SELECT 1 FROM anomaly_feedback f JOIN anomalies c ON c.id = f.anomaly_id
        WHERE f.verdict = 'false_positive' AND c.tenant_id = a.tenant_id AND c.metric = a.metric AND c.signature = a.signature) AS false_positive
    FROM anomalies a
    WHERE a.tenant_id = ${ref.tenantId} AND a.metric = ${ref.metric} AND a.status = 'detected'
    ORDER BY a.start_ts
    LIMIT ${limit}`.execute(db);
  return rows.map((row) => ({ anomaly: anomalyOf(row), seenBefore: row.seen_before, knownSignature: row.known, falsePositiveSignature: row.false_positive }));
}

/**
 * How many anomalies a monitor has classified, per class, as the database holds them. The monitor's status takes its
 * tally from here each interval, so a class a crashed attempt committed (and no retry returns as still to classify)
 * is counted all the same.
 */
export async function classifiedByMonitor(db: Db, monitorWorkflowId: string): Promise<Record<AnomalyClass, number>> {
  const rows = await db
    .selectFrom('anomalies')
    .select(['class', (eb) => eb.fn.countAll<string>().as('n')])
    .where('monitor_workflow_id', '=', monitorWorkflowId)
    .where('status', '=', 'classified')
    .groupBy('class')
    .execute();
  const tally = noneClassified();
  for (const row of rows) if (row.class && row.class in tally) tally[row.class as AnomalyClass] = Number(row.n);
  return tally;
}

export interface ClassificationRecord {
  id: string;
  class: AnomalyClass;
  action: AnomalyAction;
  reason: string;
  childWorkflowId?: string;
}

/**
 * Records an anomaly's class and action, once. Answers whether this call classified it, and the class the anomaly has
 * now (what an earlier attempt, or an operator's feedback, recorded when this call did not). Run it in a transaction
 * with the classification's audit entry, so that both are written or neither.
 */
export async function recordClassification(db: Db, record: ClassificationRecord): Promise<{ recorded: boolean; storedClass?: AnomalyClass }> {
  const updated = await db
    .updateTable('anomalies')
    .set({ class: record.class, action: record.action, reason: record.reason, child_workflow_id: record.childWorkflowId ?? null, status: 'classified', updated_at: new Date() })
    .where('id', '=', record.id)
    .where('status', '=', 'detected')
    .executeTakeFirst();
  const row = await db.selectFrom('anomalies').select('class').where('id', '=', record.id).executeTakeFirst();
  return { recorded: Number(updated.numUpdatedRows) > 0, ...(row?.class ? { storedClass: row.class as AnomalyClass } : {}) };
}

/** Records a signature as known for the metric (an investigator's finding, a promoted handler); once per signature. */
export async function recordKnownSignature(db: Db, ref: MetricRef, signature: string, note: string, recordedBy: string): Promise<void> {
  await db
    .insertInto('anomaly_signatures')
    .values({ tenant_id: ref.tenantId, metric: ref.metric, signature, note: note.slice(0, 2000), recorded_by: recordedBy })
    .onConflict((oc) => oc.columns(['tenant_id', 'metric', 'signature']).doNothing())
    .execute();
}

/** Records an investigator's finding about an anomaly, once. */
export async function recordFinding(db: Db, anomaly: Pick<MonitoredAnomaly, 'id' | 'tenantId' | 'metric'>, workflowId: string, finding: unknown): Promise<void> {
  await db
    .insertInto('anomaly_findings')
    .values({ anomaly_id: anomaly.id, tenant_id: anomaly.tenantId, metric: anomaly.metric, workflow_id: workflowId, finding: JSON.stringify(finding) })
    .onConflict((oc) => oc.column('anomaly_id').doNothing())
    .execute();
}

/** The metric's current threshold: the one feedback moved it to, else `fallback` (its detection configuration's). */
export async function currentThreshold(db: Db, ref: MetricRef, fallback: number): Promise<number> {
  const row = await db.selectFrom('anomaly_thresholds').select('threshold').where('tenant_id', '=', ref.tenantId).where('metric', '=', ref.metric).executeTakeFirst();
  return row?.threshold ?? fallback;
}

/** An anomaly of a tenant that is not there (exit 3 in the CLI). */
export class AnomalyNotFoundError extends Error {
  constructor(readonly anomalyId: string, tenantId: string) {
    super(`no anomaly ${anomalyId} of tenant ${tenantId}; see \`ados anomaly list --tenant ${tenantId}\``);
    this.name = 'AnomalyNotFoundError';
  }
}

export interface FalsePositiveReport {
  anomalyId: string;
  metric: string;
  /** False when this anomaly already had a false-positive verdict (nothing changed). */
  recorded: boolean;
  thresholdBefore: number;
  thresholdAfter: number;
}

/**
 * Records that an anomaly was a false positive, once per anomaly, and moves its metric's threshold up one step
 * (thresholdAfterFalsePositive), in one transaction; the anomaly's class becomes `false_positive`, and the monitor
 * reads the new threshold at its next interval.
 */
export async function recordFalsePositive(db: Db, tenantId: string, anomalyId: string, givenBy: string, note?: string): Promise<FalsePositiveReport> {
  return db.transaction().execute(async (trx) => {
    const anomaly = await trx.selectFrom('anomalies').select(['metric', 'threshold']).where('id', '=', anomalyId).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!anomaly) throw new AnomalyNotFoundError(anomalyId, tenantId);
    const ref = { tenantId, metric: anomaly.metric };
    await trx
      .insertInto('anomaly_thresholds')
      .values({ tenant_id: tenantId, metric: anomaly.metric, threshold: anomaly.threshold })
      .onConflict((oc) => oc.columns(['tenant_id', 'metric']).doNothing())
      .execute();
    const { rows } = await sql<{ threshold: number }>`
      SELECT threshold FROM anomaly_thresholds WHERE tenant_id = ${tenantId} AND metric = ${anomaly.metric} FOR UPDATE`.execute(trx);
    const before = rows[0].threshold;
    const after = thresholdAfterFalsePositive(before);
    const inserted = await trx
      .insertInto('anomaly_feedback')
      .values({ anomaly_id: anomalyId, verdict: 'false_positive', tenant_id: tenantId, metric: anomaly.metric, given_by: givenBy, note: note ?? null, threshold_before: before, threshold_after: after })
      .onConflict((oc) => oc.columns(['anomaly_id', 'verdict']).doNothing())
      .returning('anomaly_id')
      .executeTakeFirst();
    if (!inserted) return { anomalyId, metric: ref.metric, recorded: false, thresholdBefore: before, thresholdAfter: before };
    await trx.updateTable('anomaly_thresholds').set({ threshold: after, updated_at: new Date() }).where('tenant_id', '=', tenantId).where('metric', '=', anomaly.metric).execute();
    await trx.updateTable('anomalies').set({ class: 'false_positive', status: 'classified', updated_at: new Date() }).where('id', '=', anomalyId).execute();
    return { anomalyId, metric: ref.metric, recorded: true, thresholdBefore: before, thresholdAfter: after };
  });
}

/** An anomaly as `ados anomaly list` shows it. */
export interface AnomalySummary extends MonitoredAnomaly {
  class?: AnomalyClass;
  status: string;
  action?: AnomalyAction;
  reason?: string;
  childWorkflowId?: string;
}

const summaryOf = (row: AnomalyRow & Pick<Selectable<AnomaliesTable>, 'class' | 'status' | 'action' | 'reason' | 'child_workflow_id'>): AnomalySummary => ({
  ...anomalyOf(row),
  ...(row.class ? { class: row.class as AnomalyClass } : {}),
  status: row.status,
  ...(row.action ? { action: row.action as AnomalyAction } : {}),
  ...(row.reason ? { reason: row.reason } : {}),
  ...(row.child_workflow_id ? { childWorkflowId: row.child_workflow_id } : {}),
});

/** A tenant's anomalies, newest first (of one metric, when given), `limit` at most. */
export async function listAnomalies(db: Db, tenantId: string, options: { metric?: string; limit?: number } = {}): Promise<AnomalySummary[]> {
  let query = db.selectFrom('anomalies').selectAll().where('tenant_id', '=', tenantId);
  if (options.metric) query = query.where('metric', '=', options.metric);
  const rows = await query.orderBy('start_ts', 'desc').limit(options.limit ?? 50).execute();
  return rows.map(summaryOf);
}

/** One anomaly with its metric's current threshold, the feedback it had, its investigator's finding and its notifications. */
export interface AnomalyDetail extends AnomalySummary {
  currentThreshold: number;
  feedback: Array<{ verdict: string; by: string; note?: string; thresholdBefore: number; thresholdAfter: number; at: string }>;
  finding?: unknown;
  /** A known anomaly's notification (one per channel; none for the other classes). */
  notifications: NotificationRecord[];
}

export async function getAnomaly(db: Db, tenantId: string, anomalyId: string): Promise<AnomalyDetail> {
  const row = await db.selectFrom('anomalies').selectAll().where('id', '=', anomalyId).where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) throw new AnomalyNotFoundError(anomalyId, tenantId);
  const feedback = await db.selectFrom('anomaly_feedback').selectAll().where('anomaly_id', '=', anomalyId).orderBy('created_at').execute();
  const finding = await db.selectFrom('anomaly_findings').select('finding').where('anomaly_id', '=', anomalyId).executeTakeFirst();
  return {
    ...summaryOf(row),
    currentThreshold: await currentThreshold(db, { tenantId, metric: row.metric }, row.threshold),
    feedback: feedback.map((f) => ({
      verdict: f.verdict,
      by: f.given_by,
      ...(f.note ? { note: f.note } : {}),
      thresholdBefore: f.threshold_before,
      thresholdAfter: f.threshold_after,
      at: f.created_at.toISOString(),
    })),
    ...(finding ? { finding: finding.finding } : {}),
    notifications: await anomalyNotifications(db, anomalyId),
  };
}
