/**
 * The anomaly's shape from its samples against the normal window before it: the `<RootCause>` of the handler's name.
 * Pure (no Temporal import), so it is unit-tested on its own and gives the same answer on replay.
 */
import type { AnomalyType, MetricSample } from '../../shared/contract/anomaly/pipeline';

/** How many robust deviations (MAD × 1.4826) from the baseline's median count as "away from normal". */
const AWAY = 3;
/** An excursion this short (in samples), or one most of whose samples are back near normal, is a spike or a dip. */
const SHORT = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The baseline's median and robust spread (never zero: a flat baseline gets a spread of 1% of its level, or 1e-9). */
function robustBaseline(values: readonly number[]): { center: number; spread: number } {
  const center = median(values);
  const mad = median(values.map((v) => Math.abs(v - center))) * 1.4826;
  return { center, spread: Math.max(mad, Math.abs(center) * 0.01, 1e-9) };
}

/**
 * flatline: the anomaly's values do not move while the baseline's did; spike / dip: the peak is far from normal and the
 * excursion is short (or mostly back near normal); level_shift: the anomaly's median itself sits far from normal;
 * pattern_change: none of these (the detectors saw a different pattern at the usual level). Without a baseline the
 * anomaly's first sample stands in for normal.
 */
export function classifyAnomalyType(anomaly: readonly MetricSample[], baseline: readonly MetricSample[], peakTs: string): AnomalyType {
  const values = anomaly.map((s) => s.value);
  const reference = baseline.length > 0 ? baseline.map((s) => s.value) : [values[0]];
  const { center, spread } = robustBaseline(reference);
  const moving = reference.length > 1 && Math.max(...reference) - Math.min(...reference) > 0;
  if (values.length > 1 && moving && Math.max(...values) - Math.min(...values) <= spread * 0.01) return 'flatline';
  const peak = anomaly.find((s) => s.ts === peakTs)?.value ?? values.reduce((far, v) => (Math.abs(v - center) > Math.abs(far - center) ? v : far), values[0]);
  const away = (v: number) => Math.abs(v - center) > AWAY * spread;
  const level = median(values);
  if (away(peak) && (values.length <= SHORT || !away(level))) return peak > center ? 'spike' : 'dip';
  if (away(level)) return 'level_shift';
  return 'pattern_change';
}
