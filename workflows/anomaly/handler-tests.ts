/**
 * The staged handler's tests and its alert rate, judged from what it answered (pure, unit-tested without a server).
 * The handler scores each request with a fresh ensemble, so every request starts with the normal window to warm it up.
 */
import type { HandlerAlertRate, HandlerTestResult, MetricSample } from '../../shared/contract/anomaly/pipeline';

/** What the handler answered to POST /score. */
export interface HandlerAnswer {
  scored: number;
  flagged: readonly string[];
}

/** It must flag the anomaly: at least one of the anomaly's own samples (sent after the normal window) is flagged. */
export function judgeFlagsAnomaly(normal: readonly MetricSample[], anomaly: readonly MetricSample[], answer: HandlerAnswer): HandlerTestResult {
  const own = new Set(anomaly.map((s) => s.ts));
  const flagged = answer.flagged.filter((ts) => own.has(ts)).length;
  return {
    name: 'flags-anomaly',
    samples: normal.length + anomaly.length,
    judged: anomaly.length,
    flagged,
    passed: flagged > 0,
    detail: flagged > 0 ? `flagged ${flagged} of the anomaly's ${anomaly.length} samples` : `flagged none of the anomaly's ${anomaly.length} samples (after ${normal.length} normal ones)`,
  };
}

/** It must stay quiet on the normal window: no sample flagged. */
export function judgeQuietOnNormal(normal: readonly MetricSample[], answer: HandlerAnswer): HandlerTestResult {
  const flagged = answer.flagged.length;
  return {
    name: 'quiet-on-normal',
    samples: normal.length,
    judged: normal.length,
    flagged,
    passed: flagged === 0,
    detail: flagged === 0 ? `quiet on ${normal.length} normal samples` : `flagged ${flagged} of ${normal.length} normal samples (first at ${answer.flagged[0]})`,
  };
}

/** The alert rate of a watch: flags among the watched samples (sent after the normal window that warms it up). */
export function alertRateOf(watched: readonly MetricSample[], answer: HandlerAnswer): HandlerAlertRate {
  const own = new Set(watched.map((s) => s.ts));
  const alerts = answer.flagged.filter((ts) => own.has(ts)).length;
  return {
    samples: watched.length,
    alerts,
    rate: watched.length > 0 ? alerts / watched.length : 0,
    ...(watched.length > 0 ? { from: watched[0].ts, to: watched[watched.length - 1].ts } : {}),
  };
}

/** A watch's alert rate so far with one more read's (`read` undefined: a read that found nothing new). */
export function addAlerts(sofar: HandlerAlertRate, read: HandlerAlertRate | undefined): HandlerAlertRate {
  if (!read || read.samples === 0) return sofar;
  const samples = sofar.samples + read.samples;
  const alerts = sofar.alerts + read.alerts;
  return {
    samples,
    alerts,
    rate: alerts / samples,
    from: sofar.from ?? read.from,
    to: read.to,
    reads: (sofar.reads ?? 0) + 1,
  };
}
