/**
 * The anomaly pipeline's contract (README, "Anomaly pipeline"): an anomaly the monitor could not classify in, a
 * handler agent generated for it, extracted, deployed to stage, tested on the anomaly's own samples, approved at the
 * one approval gate (escalated to the tenant's governance approvers when nobody decides in time) and promoted to prod,
 * or removed. Validated by whoever starts it (the monitor, `ados`, tests) and by the workflow at entry, with the same
 * schema. The approval messages are the gate's own (shared/contract/approval.ts: approveSignal, decideUpdate, …).
 */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { approvalPolicySchema, type ApprovalGateSnapshot } from '../approval';
import { DURATION_PATTERN, durationSchema, durationToMs } from '../duration';
import { tenantIdSchema } from '../tenancy/profile';
import { issuesFromZod, type Validated } from '../validation';
import { ensembleConfigSchema } from './detection';
import { metricNameSchema } from './monitor';

/** The workflow type, for starting it by name (the monitor starts it as a child). */
export const ANOMALY_PIPELINE_WORKFLOW = 'anomalyPipeline';

/** How long each approval gate of the pipeline waits when the input does not say: the first, then the escalated one. */
export const DEFAULT_HANDLER_APPROVAL_TIMEOUT = '1h';

export const ANOMALY_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type AnomalySeverity = (typeof ANOMALY_SEVERITIES)[number];

/**
 * The anomaly's shape, the `<RootCause>` of the handler's name: a short excursion up (spike) or down (dip), a lasting
 * move of the level (level_shift), a metric that stopped moving (flatline), or a change of pattern at the same level.
 */
export const ANOMALY_TYPES = ['spike', 'dip', 'level_shift', 'flatline', 'pattern_change'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

const isoTime = (what: string) => z.string({ message: `${what}: an ISO-8601 time` }).refine((t) => !Number.isNaN(Date.parse(t)), `${what}: an ISO-8601 time, e.g. 2014-02-19T00:22:00Z`);

/** One sample of a metric. */
export const metricSampleSchema = z.strictObject({
  ts: isoTime('ts'),
  value: z.number({ message: 'a number' }).finite('a finite number'),
});
export type MetricSample = z.infer<typeof metricSampleSchema>;

/** What the monitor detected: its span, its peak, the detectors that agreed and its samples (in time order). */
export const detectedAnomalySchema = z
  .strictObject({
    start: isoTime('start'),
    end: isoTime('end'),
    peakTs: isoTime('peakTs'),
    peakScore: z.number({ message: 'a number' }).finite().min(0, 'zero or more'),
    detectors: z.array(z.string().min(1, 'a detector name')).min(1, 'name at least one detector that flagged it'),
    samples: z.array(metricSampleSchema).min(1, 'give the anomaly\'s samples (at least one)').max(10_000, 'at most 10000 samples'),
  })
  .superRefine((a, ctx) => {
    const [start, end, peak] = [Date.parse(a.start), Date.parse(a.end), Date.parse(a.peakTs)];
    if (end < start) ctx.addIssue({ code: 'custom', path: ['end'], message: `${a.end} is before start ${a.start}` });
    if (peak < start || peak > end) ctx.addIssue({ code: 'custom', path: ['peakTs'], message: `${a.peakTs} is outside the anomaly (${a.start} … ${a.end})` });
    a.samples.forEach((s, i) => {
      const ts = Date.parse(s.ts);
      if (i > 0 && ts <= Date.parse(a.samples[i - 1].ts)) ctx.addIssue({ code: 'custom', path: ['samples', i, 'ts'], message: `${s.ts} is not after the sample before it: give the samples in time order` });
    });
  });
export type DetectedAnomaly = z.infer<typeof detectedAnomalySchema>;

/** The promoted handler's watch of its metric in prod: a day, reading new samples every 15 minutes. */
export const DEFAULT_WATCH_FOR = '24h';
export const DEFAULT_WATCH_INTERVAL = '15m';
/** A watch's intervals at most (its history stays bounded: a few events per interval). */
export const MAX_WATCH_INTERVALS = 1000;

/** How many intervals a watch takes (0 when either is not a duration longer than zero: their own checks say so). */
function watchIntervals(watchFor: string, watchInterval: string): number {
  if (!DURATION_PATTERN.test(watchFor) || !DURATION_PATTERN.test(watchInterval) || durationToMs(watchInterval) === 0) return 0;
  return Math.ceil(durationToMs(watchFor) / durationToMs(watchInterval));
}

/** The first gate's policy: who owns the metric's handlers. Its timeout defaults to an hour. */
const handlerApprovalSchema = approvalPolicySchema.extend({ timeout: durationSchema.default(DEFAULT_HANDLER_APPROVAL_TIMEOUT) });

export const anomalyPipelineInputSchema = z.strictObject({
  tenantId: tenantIdSchema,
  metric: metricNameSchema,
  anomaly: detectedAnomalySchema,
  severity: z.enum(ANOMALY_SEVERITIES, { message: `one of ${ANOMALY_SEVERITIES.join(', ')}` }),
  /** The shape when the starter knows it; otherwise the pipeline classifies it from the samples and the baseline. */
  anomalyType: z.enum(ANOMALY_TYPES, { message: `one of ${ANOMALY_TYPES.join(', ')}` }).optional(),
  /**
   * The detector configuration that caught it (shared/contract/anomaly/detection.ts): it goes into the handler's schema
   * and is what the deployed handler scores with.
   */
  detection: ensembleConfigSchema,
  /** Other metrics the anomaly touches (the handler's schema lists them); the metric itself is always included. */
  affectedMetrics: z.array(metricNameSchema).max(50, 'at most 50 metrics').default([]),
  requestedBy: z.string().min(1).max(200).default('anomaly-monitor'),
  /** Who approves the handler's promotion first (quorum, timeout: default 1h). */
  approval: handlerApprovalSchema,
  /**
   * Who decides once the first gate's timeout passed (timeout default 1h; a second timeout rejects). Absent: the
   * tenant's governance approvers (its profile's `approvals.prod`, roles included), read when the escalation opens.
   */
  escalation: handlerApprovalSchema.optional(),
  /**
   * The normal window the handler must stay quiet on (and warms up on before the anomaly's samples): metric_samples
   * of this span, or by default the `baselineSamples` samples right before the anomaly.
   */
  normalWindow: z.strictObject({ start: isoTime('normalWindow.start'), end: isoTime('normalWindow.end') }).optional(),
  baselineSamples: z.number().int('a whole number').min(20, 'at least 20 samples').max(5_000, 'at most 5000 samples').default(600),
  /** How many of the metric's new samples the promoted handler scores at most per read (a backlog takes several). */
  watchSamples: z.number().int('a whole number').min(1, 'at least 1').max(10_000, 'at most 10000').default(300),
  /** How long the promoted handler watches the metric in prod (the pipeline then finishes; the handler keeps serving). */
  watchFor: durationSchema.default(DEFAULT_WATCH_FOR),
  /** How often it reads the metric's new samples while it watches. */
  watchInterval: durationSchema.default(DEFAULT_WATCH_INTERVAL),
}).superRefine((input, ctx) => {
  const intervals = watchIntervals(input.watchFor, input.watchInterval);
  if (intervals > MAX_WATCH_INTERVALS) {
    ctx.addIssue({
      code: 'custom',
      path: ['watchFor'],
      message: `watchFor ${input.watchFor} at watchInterval ${input.watchInterval} is ${intervals} intervals, more than ${MAX_WATCH_INTERVALS}: shorten watchFor or lengthen watchInterval`,
    });
  }
});
export type AnomalyPipelineInput = z.input<typeof anomalyPipelineInputSchema>;
export type AnomalyPipelineRequest = z.output<typeof anomalyPipelineInputSchema>;

export function validateAnomalyPipelineInput(raw: unknown): Validated<AnomalyPipelineRequest> {
  const parsed = anomalyPipelineInputSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  return { ok: true, value: parsed.data };
}

/** Where the handler runs: the process runtime's environments (the same names as a delivery's). */
export const HANDLER_ENVIRONMENTS = ['stage', 'prod'] as const;
export type HandlerEnvironment = (typeof HANDLER_ENVIRONMENTS)[number];

/** A handler process as deploy.process's runtime runs it: a real pid behind a real loopback port. */
export interface HandlerDeployment {
  environment: HandlerEnvironment;
  service: string;
  release: string;
  url: string;
  port: number;
  pid: number;
  privatePort: number;
}

/** One staging test: the samples sent, how many the handler flagged, and whether that is what the test wants. */
export interface HandlerTestResult {
  name: 'flags-anomaly' | 'quiet-on-normal';
  samples: number;
  /** Samples the test judges (the anomaly's own, or the whole normal window). */
  judged: number;
  flagged: number;
  passed: boolean;
  detail: string;
}

export type AnomalyPipelineStage =
  | 'classifying'
  | 'generating'
  | 'extracting'
  | 'staging'
  | 'testing'
  | 'awaiting_approval'
  | 'escalated'
  | 'promoting'
  | 'removing'
  | 'watching'
  | 'finished';

/**
 * How a pipeline ended: `promoted` (serving in prod, its alert rate recorded), `rejected` (by an approver, or by the
 * escalation's timeout: `reason` says which), `tests_failed` (stage tests failed: removed, never asked for approval),
 * `extraction_failed`, `deploy_failed` (the handler never became healthy in stage, or in prod after its approval: the
 * reason says which).
 */
export type AnomalyPipelineOutcome = 'promoted' | 'rejected' | 'tests_failed' | 'extraction_failed' | 'deploy_failed';

/** The promoted handler's alert rate on the metric in prod: over the samples it scored so far. */
export interface HandlerAlertRate {
  samples: number;
  alerts: number;
  /** alerts / samples. */
  rate: number;
  from?: string;
  to?: string;
  /** The watch's reads that found new samples, so far. */
  reads?: number;
}

export interface AnomalyPipelineStatus {
  workflowId: string;
  tenantId: string;
  metric: string;
  stage: AnomalyPipelineStage;
  anomalyType?: AnomalyType;
  handler?: string;
  extractionWorkflowId?: string;
  staging?: HandlerDeployment;
  tests: HandlerTestResult[];
  /** The gate deciding now (the escalated one once the first timed out). */
  approval?: ApprovalGateSnapshot;
  escalated: boolean;
  production?: HandlerDeployment;
  /** The stage process stopped and checked gone (reject, failed tests). */
  removed?: { pid: number; stopped: boolean };
  alertRate?: HandlerAlertRate;
  waitingFor?: string;
  outcome?: AnomalyPipelineOutcome;
  reason?: string;
}

export interface AnomalyPipelineResult {
  workflowId: string;
  outcome: AnomalyPipelineOutcome;
  anomalyType: AnomalyType;
  handler: string;
  extractionWorkflowId: string;
  tests: HandlerTestResult[];
  staging?: HandlerDeployment;
  production?: HandlerDeployment;
  removed?: { pid: number; stopped: boolean };
  alertRate?: HandlerAlertRate;
  escalated: boolean;
  reason?: string;
}

export const anomalyPipelineStatusQuery = defineQuery<AnomalyPipelineStatus>('anomalyPipelineStatus');
