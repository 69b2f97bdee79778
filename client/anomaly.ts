/**
 * The typed client API for anomalies (`ados anomaly`): list, show (with the metric's threshold, feedback and a known
 * anomaly's notification), feedback.
 */
import { MAX_NOTIFICATION_ATTEMPTS, type NotificationRecord } from '../shared/node/anomaly/notifications';
import type { AnomalyDetail, AnomalySummary } from '../shared/node/anomaly/store';

export { getAnomaly, listAnomalies, recordFalsePositive, type AnomalyDetail, type AnomalySummary, type FalsePositiveReport } from '../shared/node/anomaly/store';

/**
 * A notification's line: its channel and target, then where its delivery stands (`delivered at …`, or `FAILED after 2
 * attempt(s): HTTP 500 …` while the monitor retries it), with the last error of a delivery that needed more than one.
 */
export function notificationText(notification: NotificationRecord): string {
  const where = notification.channel === 'webhook' ? `webhook ${notification.target}` : "log (the control worker's warn line)";
  const error = notification.lastError ? `: ${notification.lastError}` : '';
  if (notification.status === 'delivered') {
    const earlier = notification.attempts > 1 ? ` (attempt ${notification.attempts}; the one before failed${error})` : '';
    return `${where} delivered at ${notification.deliveredAt}${earlier}`;
  }
  if (notification.status === 'failed') {
    const next = notification.attempts < MAX_NOTIFICATION_ATTEMPTS ? 'the monitor retries it' : `not retried: ${MAX_NOTIFICATION_ATTEMPTS} attempts made`;
    return `${where} FAILED after ${notification.attempts} attempt(s)${error} (${next})`;
  }
  return `${where} pending since ${notification.createdAt} (${notification.attempts} attempt(s) so far)`;
}

/** One line per anomaly: ID, class (or "detected"), span, peak score, signature. */
export function anomalyLine(anomaly: AnomalySummary): string {
  return `${anomaly.id}  ${(anomaly.class ?? anomaly.status).padEnd(14)} ${anomaly.start} … ${anomaly.end}  peak ${anomaly.peakScore.toFixed(2)}  ${anomaly.signature}`;
}

/** `ados anomaly show`: the anomaly, its class and action, its notification, the metric's current threshold and the feedback it had. */
export function anomalyDetailText(detail: AnomalyDetail): string {
  return [
    `${detail.id} (${detail.metric}, tenant ${detail.tenantId})`,
    `  span:       ${detail.start} … ${detail.end} (${detail.samples} anomalous sample(s))`,
    `  peak:       ${detail.peakScore.toFixed(3)} at ${detail.peakTs}, by ${detail.detectors.join(', ')}`,
    `  signature:  ${detail.signature}`,
    `  class:      ${detail.class ?? `not yet classified (${detail.status})`}${detail.action ? ` → ${detail.action}` : ''}`,
    ...(detail.reason ? [`  reason:     ${detail.reason}`] : []),
    ...(detail.childWorkflowId ? [`  child:      ${detail.childWorkflowId}`] : []),
    ...detail.notifications.map((n) => `  notified:   ${notificationText(n)}`),
    `  threshold:  ${detail.currentThreshold} now (${detail.threshold} when detected)`,
    ...(detail.feedback.length === 0
      ? ['  feedback:   none (`ados anomaly feedback <id> --false-positive`)']
      : detail.feedback.map((f) => `  feedback:   ${f.verdict.replace('_', ' ')} by ${f.by} at ${f.at}: threshold ${f.thresholdBefore} → ${f.thresholdAfter}${f.note ? ` (${f.note})` : ''}`)),
    ...(detail.finding !== undefined ? [`  finding:    ${(detail.finding as { summary?: string }).summary ?? JSON.stringify(detail.finding)}`] : []),
  ].join('\n');
}
