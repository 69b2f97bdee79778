/**
 * The anomaly monitor's activities (control queue): score the samples that came in since the detectors' checkpoint
 * and commit the anomalies they closed with the new checkpoint in one transaction, scrape a Prometheus endpoint into
 * samples, record each anomaly's class once (auditing, and for a known one queueing its notification, then
 * delivering it; each interval retries the ones that failed), record the monitor's own audit entries and its end. Each
 * is idempotent, so a retry (or a restarted worker) scores and alerts once.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AnomalyClass, AnomalyMonitorInput, AnomalyToClassify, MonitoredAnomaly } from '../../shared/contract/anomaly/monitor';
import { anomalySignature } from '../../shared/contract/anomaly/monitor';
import { anomalyNotification } from '../../shared/contract/anomaly/notification';
import { mergeGapMs } from '../../shared/contract/anomaly/detection';
import { durationToMs } from '../../shared/contract/duration';
import { anomalyPipelineWorkflowId } from '../../shared/contract/workflow-ids';
import { createEnsemble, createGrouper, type DetectedAnomaly } from '../../shared/node/anomaly/detection';
import { deliverNotifications, queueNotification, retryNotifications } from '../../shared/node/anomaly/notifications';
import { ScrapeRefusedError, scrapeSeries } from '../../shared/node/anomaly/prometheus';
import { insertSamples, readSamplesAfter, type MetricRef } from '../../shared/node/anomaly/samples';
import {
  anomaliesToClassify,
  classifiedByMonitor,
  commitInterval,
  currentThreshold,
  loadCheckpoint,
  recordClassification,
  type ClassificationRecord,
} from '../../shared/node/anomaly/store';
import { loadConfig, webUiWorkflowUrl } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { createLogger, type Logger } from '../../shared/node/logger';
import { getTenant } from '../../shared/node/tenancy/store';
import { appendAudit, finishRun, insertRun, type AuditEntry } from '../common/run-records';

export interface MonitorRequest {
  workflowId: string;
  input: AnomalyMonitorInput;
}

/** The detectors' state as the checkpoint holds it. */
interface DetectorState {
  ensemble: unknown;
  grouper: unknown;
}

export interface ScoredInterval {
  /** Samples scored by this interval (0 when nothing new came in, or an earlier attempt had committed them). */
  scored: number;
  samplesScored: number;
  lastTs?: string;
  /** The threshold the samples were held against (the metric's, as feedback moved it). */
  threshold: number;
  /** Every anomaly of the metric detected and not yet classified (this interval's and any left over). */
  toClassify: AnomalyToClassify[];
  /** The monitor's tally of classified anomalies per class, as the database holds it before this interval's. */
  classified: Record<AnomalyClass, number>;
}

export interface ClassifiedRequest extends ClassificationRecord {
  workflowId: string;
  anomaly: MonitoredAnomaly;
}

const refOf = (input: Pick<AnomalyMonitorInput, 'tenantId' | 'metric'>): MetricRef => ({ tenantId: input.tenantId, metric: input.metric });

/** A detected anomaly as recorded: its ID is the pipeline's workflow ID for it. */
function monitoredOf(ref: MetricRef, detected: DetectedAnomaly, threshold: number): MonitoredAnomaly {
  const start = new Date(detected.start).toISOString();
  return {
    id: anomalyPipelineWorkflowId(ref.tenantId, ref.metric, start),
    tenantId: ref.tenantId,
    metric: ref.metric,
    start,
    end: new Date(detected.end).toISOString(),
    peakTs: new Date(detected.peakTs).toISOString(),
    peakScore: detected.peakScore,
    detectors: [...detected.detectors],
    samples: detected.samples,
    signature: anomalySignature(detected),
    threshold,
  };
}

/** `logger` receives the notifications of known anomalies, whatever their channel (default: the worker's LOG_LEVEL, on stderr). */
export function createAnomalyMonitorActivities(db: Db, logger: Logger = createLogger('anomaly-monitor', loadConfig().logLevel)) {
  return {
    /** Records the monitor (its `runs` row, once) and answers the metric's current threshold. */
    async openAnomalyMonitor(request: MonitorRequest): Promise<{ threshold: number }> {
      const { input, workflowId } = request;
      await insertRun(db, { workflowId, tenantId: input.tenantId, runId: input.metric, kind: 'anomaly-monitor', requestedBy: input.requestedBy, input });
      return { threshold: await currentThreshold(db, refOf(input), input.detection.threshold) };
    },

    /**
     * Scores the samples after the checkpoint (one range read, `batchLimit` at most) with the ensemble and the
     * grouper continued from their checkpointed state, commits the anomalies they closed with the new checkpoint,
     * and answers every anomaly of the metric still to classify.
     */
    async scoreAnomalyInterval(request: MonitorRequest): Promise<ScoredInterval> {
      const { input, workflowId } = request;
      const ref = refOf(input);
      // Known anomalies' notifications that a receiver refused before: each interval tries them again.
      await retryNotifications(db, ref, { logger, allowedHosts: loadConfig().httpAllowedHosts });
      const threshold = await currentThreshold(db, ref, input.detection.threshold);
      const checkpoint = await loadCheckpoint(db, ref);
      const samples = await readSamplesAfter(db, ref, checkpoint?.lastTs, input.batchLimit);
      let scored = 0;
      let samplesScored = checkpoint?.samplesScored ?? 0;
      let lastTs = checkpoint?.lastTs;
      if (samples.length > 0) {
        const state = (checkpoint?.detectorState ?? null) as DetectorState | null;
        const ensemble = createEnsemble({ ...input.detection, threshold }, state?.ensemble as never);
        const grouper = createGrouper({ mergeGapMs: mergeGapMs(input.detection) }, state?.grouper as never);
        const closed: MonitoredAnomaly[] = [];
        for (const sample of samples) {
          for (const detected of grouper.push(ensemble.push(sample))) closed.push(monitoredOf(ref, detected, threshold));
        }
        const next = { detectorState: { ensemble: ensemble.snapshot(), grouper: grouper.snapshot() }, lastTs: samples[samples.length - 1].ts, samplesScored: samplesScored + samples.length };
        const { committed } = await commitInterval(db, ref, { workflowId, fromTs: checkpoint?.lastTs, checkpoint: next, anomalies: closed });
        if (committed) {
          scored = samples.length;
          samplesScored = next.samplesScored;
          lastTs = next.lastTs;
        } else {
          const now = await loadCheckpoint(db, ref);
          samplesScored = now?.samplesScored ?? samplesScored;
          lastTs = now?.lastTs;
        }
      }
      return {
        scored,
        samplesScored,
        ...(lastTs !== undefined ? { lastTs: new Date(lastTs).toISOString() } : {}),
        threshold,
        toClassify: await anomaliesToClassify(db, ref, durationToMs(input.novelWindow)),
        classified: await classifiedByMonitor(db, workflowId),
      };
    },

    /** Scrapes the monitor's Prometheus endpoint once and stores the series' value as the sample of this moment. */
    async scrapeMetricSample(request: MonitorRequest): Promise<{ ts: string; value: number }> {
      const { source } = request.input;
      if (source.kind !== 'scrape') throw ApplicationFailure.nonRetryable('the monitor has no scrape source', 'InvalidAnomalyMonitorInput');
      try {
        const value = await scrapeSeries(source.url, { series: source.series, labels: source.labels }, loadConfig().httpAllowedHosts);
        const ts = Date.now();
        await insertSamples(db, refOf(request.input), [{ ts, value }]);
        return { ts: new Date(ts).toISOString(), value };
      } catch (error) {
        if (error instanceof ScrapeRefusedError) throw ApplicationFailure.nonRetryable(error.message, 'ScrapeRefused');
        throw error;
      }
    },

    /**
     * Records an anomaly's class and action once, with its audit entry (`anomaly.<class>`) and, for a known one, its
     * notification (by the tenant's channel: its webhook, else the log) in the same transaction; then delivers the
     * notification while it is not delivered. A delivery that fails is recorded (`failed`, the error), not thrown: the
     * monitor goes on to its other anomalies, and its next interval's scoring retries it (never a second row; a retry
     * of this activity records nothing again). Answers whether this call recorded the class and the class it has now.
     */
    async recordAnomalyClassification(request: ClassifiedRequest): Promise<{ recorded: boolean; storedClass?: AnomalyClass }> {
      const { anomaly } = request;
      const info = Context.current().info;
      const config = loadConfig();
      const answer = await db.transaction().execute(async (trx) => {
        const stored = await recordClassification(trx, request);
        if (stored.recorded) {
          await appendAudit(trx, {
            workflowId: request.workflowId,
            tenantId: anomaly.tenantId,
            auditKey: `anomaly:${anomaly.id}`,
            event: `anomaly.${request.class}`,
            detail: { anomalyId: anomaly.id, metric: anomaly.metric, start: anomaly.start, end: anomaly.end, peakScore: anomaly.peakScore, signature: anomaly.signature, action: request.action, reason: request.reason, childWorkflowId: request.childWorkflowId },
            workflowRunId: info.workflowExecution?.runId,
          });
          if (request.action === 'notify') {
            // The channel of this moment is kept with the row: a retry delivers where the first attempt meant to.
            const tenant = await getTenant(trx, anomaly.tenantId);
            const notification = anomalyNotification(anomaly, request.reason, { workflowId: request.workflowId, webUiUrl: webUiWorkflowUrl(config, request.workflowId) });
            await queueNotification(trx, notification, tenant?.profile.notifications.webhookUrl ?? null);
          }
        }
        return stored;
      });
      if (request.action === 'notify') await deliverNotifications(db, anomaly.id, { logger, allowedHosts: config.httpAllowedHosts });
      return answer;
    },

    /** An anomaly's samples (its span, 10,000 at most), for the pipeline's input. */
    async readAnomalySamples(request: MetricRef & { start: string; end: string }): Promise<Array<{ ts: string; value: number }>> {
      const rows = await db
        .selectFrom('metric_samples')
        .select(['ts', 'value'])
        .where('tenant_id', '=', request.tenantId)
        .where('metric', '=', request.metric)
        .where('ts', '>=', new Date(request.start))
        .where('ts', '<=', new Date(request.end))
        .orderBy('ts')
        .limit(10_000)
        .execute();
      return rows.map((row) => ({ ts: row.ts.toISOString(), value: row.value }));
    },

    /** Appends the monitor's own audit entries (started, handed over, stopped). */
    async recordAnomalyMonitorAudit(entries: AuditEntry[]): Promise<void> {
      await appendAudit(db, entries);
    },

    /** The monitor's end: its audit entries, then its `runs` row's status and result. */
    async finishAnomalyMonitor(request: { workflowId: string; audit: AuditEntry[]; result: unknown }): Promise<void> {
      await appendAudit(db, request.audit);
      await finishRun(db, request.workflowId, 'stopped', request.result);
    },
  };
}

export type AnomalyMonitorActivities = ReturnType<typeof createAnomalyMonitorActivities>;
