/**
 * How the anomaly monitor classifies an anomaly it detected, and what it does about it: pure rules, unit-tested
 * without a server (test/unit/anomaly-classification.test.ts). The first rule that holds decides.
 */
import type { AnomalyAction, AnomalyClass, AnomalyToClassify } from '../../shared/contract/anomaly/monitor';

/** The limits classification uses, from the monitor's input (durations in ms). */
export interface ClassificationLimits {
  /** More earlier sightings of the signature than this within the window make it novel. */
  novelAfter: number;
  /** An anomaly lasting this long (sample time) or longer, and matching nothing else, is unknown. */
  persistThresholdMs: number;
}

export interface Classification {
  class: AnomalyClass;
  action: AnomalyAction;
  /** One sentence for the audit log and `ados anomaly show`. */
  reason: string;
}

/**
 * 1. an operator marked its signature a false positive → recorded (not acted on);
 * 2. its signature is recorded as known → audited and notified;
 * 3. its signature was seen more than `novelAfter` times in the window → an investigator;
 * 4. it lasted at least `persistThresholdMs` → the handler pipeline;
 * 5. otherwise it is transient: recorded, and it counts towards novel.
 */
export function classifyAnomaly(item: AnomalyToClassify, limits: ClassificationLimits): Classification {
  const { anomaly } = item;
  if (item.falsePositiveSignature) {
    return { class: 'false_positive', action: 'record', reason: `an operator marked signature ${anomaly.signature} a false positive on this metric` };
  }
  if (item.knownSignature) return { class: 'known', action: 'notify', reason: `signature ${anomaly.signature} is recorded as known` };
  if (item.seenBefore > limits.novelAfter) {
    return { class: 'novel', action: 'investigate', reason: `signature ${anomaly.signature} seen ${item.seenBefore} times before in the window (more than ${limits.novelAfter})` };
  }
  const lastedMs = Date.parse(anomaly.end) - Date.parse(anomaly.start);
  if (lastedMs >= limits.persistThresholdMs) {
    return { class: 'unknown', action: 'pipeline', reason: `matches no signature and lasted ${minutes(lastedMs)} (threshold ${minutes(limits.persistThresholdMs)})` };
  }
  return { class: 'transient', action: 'record', reason: `matches no signature, seen ${item.seenBefore} time(s) before, lasted ${minutes(lastedMs)}` };
}

/** The severity an unknown anomaly is handed to the pipeline with, from its peak score (the ensemble's vote, 0 … 1). */
export function severityOf(peakScore: number): 'low' | 'medium' | 'high' | 'critical' {
  return peakScore >= 0.9 ? 'critical' : peakScore >= 0.75 ? 'high' : peakScore >= 0.6 ? 'medium' : 'low';
}

const minutes = (ms: number): string => (ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 60_000)} min`);
