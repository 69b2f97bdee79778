/**
 * The investigator of a novel anomaly (`anomalyInvestigation`, ID `anomaly-investigation-<tenant>-<metric>-<start>`),
 * a child of the anomaly monitor: its input, the context it gathers and the finding it records. Bundle-safe.
 */
import type { MonitoredAnomaly } from './monitor';

export interface AnomalyInvestigationInput {
  anomaly: MonitoredAnomaly;
  /** Earlier sightings of its signature within the window, as the monitor counted them. */
  seenBefore: number;
  /** The novel window, e.g. "24h". */
  novelWindow: string;
}

/** Summary statistics of a span of samples (undefined figures when the span has none). */
export interface SpanStats {
  samples: number;
  mean?: number;
  min?: number;
  max?: number;
}

/** What the investigator gathers: the anomaly's samples against the baseline before it, and its earlier sightings. */
export interface AnomalyContext {
  during: SpanStats;
  /** The span of four times the anomaly's length right before it. */
  baseline: SpanStats;
  /** Earlier anomalies of the metric with the same signature within the window: ID and start, newest first (10 at most). */
  earlier: Array<{ id: string; start: string }>;
}

/** The finding recorded for the anomaly (anomaly_findings) and the note its signature is recorded as known with. */
export interface AnomalyFinding {
  anomalyId: string;
  signature: string;
  /** `up` or `down`: where the anomaly's mean sits against the baseline's; `flat` when no baseline or no change. */
  direction: 'up' | 'down' | 'flat';
  /** (mean during − mean of the baseline) / |mean of the baseline|, when the baseline's mean is not 0. */
  relativeChange?: number;
  context: AnomalyContext;
  summary: string;
}

/** The finding from the context: which way and how far the anomaly moved the metric, in one sentence. Pure. */
export function findingOf(input: AnomalyInvestigationInput, context: AnomalyContext): AnomalyFinding {
  const { anomaly } = input;
  const before = context.baseline.mean;
  const during = context.during.mean;
  const relativeChange = before !== undefined && during !== undefined && before !== 0 ? (during - before) / Math.abs(before) : undefined;
  const direction = relativeChange === undefined || relativeChange === 0 ? 'flat' : relativeChange > 0 ? 'up' : 'down';
  const change = relativeChange === undefined ? 'against no baseline' : `${relativeChange >= 0 ? '+' : ''}${(relativeChange * 100).toFixed(1)}% against the baseline`;
  return {
    anomalyId: anomaly.id,
    signature: anomaly.signature,
    direction,
    ...(relativeChange !== undefined ? { relativeChange } : {}),
    context,
    summary: `${anomaly.metric}: recurring ${anomaly.signature} (${input.seenBefore} earlier in ${input.novelWindow}), ${direction} ${change}, peak score ${anomaly.peakScore.toFixed(2)}`,
  };
}
