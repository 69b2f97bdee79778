/**
 * The anomaly monitor (`anomalyMonitor`, ID `anomaly-monitor-<tenant>-<metric>`): its input (validated by the client
 * before it starts and by the workflow at entry, with the same schema and messages), its stop signal and status query,
 * the plain-JSON state one run hands to the next (continue-as-new), and the anomalies it records and classifies.
 * Bundle-safe.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import { durationSchema } from '../duration';
import { defaultEnsembleConfig, ensembleConfigSchema } from './detection';
import { tenantIdSchema } from '../tenancy/profile';
import { issuesFromZod, type Validated } from '../validation';
import { METRIC_NAME_PATTERN } from '../workflow-ids';

/** Metric names: what `anomaly-monitor-<tenant>-<metric>`, the samples and the anomalies are keyed by. */
export const METRIC_NAME_RULE = 'letters, digits, "_", "." and "-" (up to 128), starting with a letter or digit';
export const metricNameSchema = z.string().regex(METRIC_NAME_PATTERN, METRIC_NAME_RULE);

/** How far one false positive raises a metric's threshold, and the highest it goes. */
export const THRESHOLD_STEP = 0.05;
export const MAX_THRESHOLD = 0.95;

/** Samples already in `metric_samples` (ingested with `ados metrics ingest`). */
const storedSource = z.object({ kind: z.literal('samples') }).strict();
/** A Prometheus text endpoint scraped once per interval: the series `series` (with these labels, when given). */
const scrapeSource = z
  .object({
    kind: z.literal('scrape'),
    url: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL of a Prometheus text endpoint, e.g. http://127.0.0.1:7243/metrics'),
    series: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name, e.g. "process_resident_memory_bytes"'),
    labels: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const monitorSourceSchema = z.discriminatedUnion('kind', [storedSource, scrapeSource], {
  error: 'must be { "kind": "samples" } (ingested with `ados metrics ingest`) or { "kind": "scrape", "url": …, "series": … }',
});
export type MonitorSource = z.output<typeof monitorSourceSchema>;

const anomalyMonitorShape = z
  .object({
    tenantId: tenantIdSchema,
    metric: metricNameSchema,
    source: monitorSourceSchema.default({ kind: 'samples' }),
    /** Time between two reads of new samples (and scrapes), e.g. "1m". */
    interval: durationSchema.default('1m'),
    /** The most samples one interval scores (the rest wait for the next one). */
    batchLimit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(200_000, 'at most 200,000').default(20_000),
    /** The detectors, their vote, the starting threshold (feedback moves the metric's own), the merge gap and rules. */
    detection: ensembleConfigSchema.default(defaultEnsembleConfig()),
    /** An anomaly unknown to every rule that lasts this long starts the handler pipeline (`anomalyPipeline`). */
    persistThreshold: durationSchema.default('1h'),
    /** An anomaly whose signature was seen more than `novelAfter` times within `novelWindow` (sample time) is novel. */
    novelAfter: z.number().int('must be a whole number').min(1, 'must be at least 1').max(10_000).default(10),
    novelWindow: durationSchema.default('24h'),
    /** Events in one run at which it hands over to the next (continue-as-new). */
    handOverAtEvents: z.number().int('must be a whole number').min(200, 'at least 200').max(40_000, 'at most 40,000').default(2000),
    /** Who approves the handlers the pipeline generates for this metric's unknown anomalies (none: no pipeline starts). */
    approvers: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/, 'must be a user name, e.g. "alice"')).max(20, 'at most 20').default([]),
    requestedBy: z.string().min(1, 'say who starts the monitor').max(128).default('unknown'),
  })
  .strict();

export type AnomalyMonitorRequest = z.input<typeof anomalyMonitorShape>;
export type AnomalyMonitorInput = z.output<typeof anomalyMonitorShape>;

/** Validates a monitor request; every issue names its field (`interval: must be a whole number and a unit …`). */
export function validateAnomalyMonitorInput(raw: unknown): Validated<AnomalyMonitorInput> {
  const parsed = anomalyMonitorShape.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, issues: issuesFromZod(parsed.error) };
}

/** Stop monitoring: the interval in progress finishes, then the monitor ends as `stopped`. */
export const stopMonitorSignal = defineSignal<[{ by?: string; reason?: string }?]>('stop');

/**
 * What becomes of an anomaly: `known` (its signature is recorded) → audited and notified; `false_positive` (an
 * operator said so of one with its signature) → recorded; `novel` (its signature seen more than `novelAfter` times in
 * the window) → an investigator; `unknown` (none of these, and it lasted `persistThreshold` or longer) → the handler
 * pipeline; `transient` (short and rare) → recorded, and counted towards novel next time.
 */
export const ANOMALY_CLASSES = ['known', 'false_positive', 'novel', 'unknown', 'transient'] as const;
export type AnomalyClass = (typeof ANOMALY_CLASSES)[number];

/** What the monitor does about each class. */
export const ANOMALY_ACTIONS = ['notify', 'record', 'investigate', 'pipeline'] as const;
export type AnomalyAction = (typeof ANOMALY_ACTIONS)[number];

/** An anomaly as the monitor records it (times are ISO-8601). Its ID is its pipeline's workflow ID. */
export interface MonitoredAnomaly {
  id: string;
  tenantId: string;
  metric: string;
  start: string;
  end: string;
  peakTs: string;
  peakScore: number;
  detectors: string[];
  samples: number;
  signature: string;
  /** The metric's threshold when it was detected. */
  threshold: number;
}

/** A detected anomaly handed to the workflow with what classification needs from the database. */
export interface AnomalyToClassify {
  anomaly: MonitoredAnomaly;
  /** Earlier anomalies of the metric with the same signature within the novel window (false positives aside). */
  seenBefore: number;
  /** The signature is recorded as known (anomaly_signatures). */
  knownSignature: boolean;
  /** An operator marked an anomaly of the metric with the same signature a false positive. */
  falsePositiveSignature: boolean;
}

/**
 * The signature an anomaly is recognised by: the detectors that agreed and its shape (`point`: at most two samples;
 * `burst`: up to 12; `sustained`: longer), e.g. `mad+mahalanobis/burst`.
 */
export function anomalySignature(detected: { detectors: readonly string[]; samples: number }): string {
  const shape = detected.samples <= 2 ? 'point' : detected.samples <= 12 ? 'burst' : 'sustained';
  return `${[...new Set(detected.detectors)].sort().join('+') || 'none'}/${shape}`;
}

/** A metric's threshold after a false positive: one step up, at most MAX_THRESHOLD (never down). */
export function thresholdAfterFalsePositive(current: number): number {
  return Math.max(current, Math.min(MAX_THRESHOLD, Math.round((current + THRESHOLD_STEP) * 1000) / 1000));
}

export const ANOMALY_MONITOR_STAGES = ['starting', 'watching', 'scoring', 'classifying', 'handing-over', 'stopped'] as const;
export type AnomalyMonitorStage = (typeof ANOMALY_MONITOR_STAGES)[number];

/** What one run hands to the next (plain JSON). Detector state is not here: it lives in the checkpoint table. */
export interface AnomalyMonitorState {
  chainIndex: number;
  intervals: number;
  samplesScored: number;
  /** The last scored sample's time (ISO), as of the latest interval. */
  lastTs?: string;
  threshold: number;
  /** Anomalies classified so far, per class. */
  classified: Record<AnomalyClass, number>;
  stopRequested: boolean;
  stopBy?: string;
  /** The audit entries' sequence number: keys stay unique across the chain. */
  auditSeq: number;
}

/** The status query's answer, and the line the Web UI's current details show. */
export interface AnomalyMonitorStatus extends AnomalyMonitorState {
  workflowId: string;
  tenantId: string;
  metric: string;
  stage: AnomalyMonitorStage;
  interval: string;
  source: MonitorSource;
  historyLength: number;
}

export const anomalyMonitorStatusQuery = defineQuery<AnomalyMonitorStatus>('status');

/** "watching · 4,032 samples to 2014-04-14T…Z · threshold 0.55 · 3 known, 1 novel, … · run #2". */
export function monitorStatusLine(status: Pick<AnomalyMonitorStatus, 'stage' | 'samplesScored' | 'lastTs' | 'threshold' | 'classified' | 'chainIndex'>): string {
  const classes = ANOMALY_CLASSES.filter((c) => status.classified[c] > 0).map((c) => `${status.classified[c]} ${c.replace('_', ' ')}`);
  return [
    status.stage,
    `${status.samplesScored.toLocaleString('en-US')} samples${status.lastTs ? ` to ${status.lastTs}` : ''}`,
    `threshold ${status.threshold}`,
    classes.length > 0 ? classes.join(', ') : 'no anomalies',
    `run #${status.chainIndex}`,
  ].join(' · ');
}

/** An empty tally per class. */
export function noneClassified(): Record<AnomalyClass, number> {
  return { known: 0, false_positive: 0, novel: 0, unknown: 0, transient: 0 };
}

/** How a monitor ends: only when told to stop (it otherwise runs on, run after run). */
export interface AnomalyMonitorResult extends AnomalyMonitorStatus {
  outcome: 'stopped';
}
