/** The typed client API for anomalies (`ados anomaly`): list, show (with the metric's threshold and feedback), feedback. */
import type { AnomalyDetail, AnomalySummary } from '../shared/node/anomaly/store';

export { getAnomaly, listAnomalies, recordFalsePositive, type AnomalyDetail, type AnomalySummary, type FalsePositiveReport } from '../shared/node/anomaly/store';

/** One line per anomaly: ID, class (or "detected"), span, peak score, signature. */
export function anomalyLine(anomaly: AnomalySummary): string {
  return `${anomaly.id}  ${(anomaly.class ?? anomaly.status).padEnd(14)} ${anomaly.start} … ${anomaly.end}  peak ${anomaly.peakScore.toFixed(2)}  ${anomaly.signature}`;
}

/** `ados anomaly show`: the anomaly, its class and action, the metric's current threshold and the feedback it had. */
export function anomalyDetailText(detail: AnomalyDetail): string {
  return [
    `${detail.id} (${detail.metric}, tenant ${detail.tenantId})`,
    `  span:       ${detail.start} … ${detail.end} (${detail.samples} anomalous sample(s))`,
    `  peak:       ${detail.peakScore.toFixed(3)} at ${detail.peakTs}, by ${detail.detectors.join(', ')}`,
    `  signature:  ${detail.signature}`,
    `  class:      ${detail.class ?? `not yet classified (${detail.status})`}${detail.action ? ` → ${detail.action}` : ''}`,
    ...(detail.reason ? [`  reason:     ${detail.reason}`] : []),
    ...(detail.childWorkflowId ? [`  child:      ${detail.childWorkflowId}`] : []),
    `  threshold:  ${detail.currentThreshold} now (${detail.threshold} when detected)`,
    ...(detail.feedback.length === 0
      ? ['  feedback:   none (`ados anomaly feedback <id> --false-positive`)']
      : detail.feedback.map((f) => `  feedback:   ${f.verdict.replace('_', ' ')} by ${f.by} at ${f.at}: threshold ${f.thresholdBefore} → ${f.thresholdAfter}${f.note ? ` (${f.note})` : ''}`)),
    ...(detail.finding !== undefined ? [`  finding:    ${(detail.finding as { summary?: string }).summary ?? JSON.stringify(detail.finding)}`] : []),
  ].join('\n');
}
