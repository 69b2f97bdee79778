/**
 * The notification of a known anomaly (README, "Anomaly monitor"): the JSON stored with it in `anomaly_notifications`
 * and POSTed to the tenant's webhook, its channels and the states of its delivery. Pure; bundle-safe.
 */
import type { MonitoredAnomaly } from './monitor';

/** `log`: the control worker's warn line only (no webhook configured); `webhook`: a POST to the tenant's URL too. */
export const NOTIFICATION_CHANNELS = ['log', 'webhook'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** `pending` until an attempt, `failed` after one that did not get through (a retry delivers it), then `delivered`. */
export const NOTIFICATION_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/**
 * What a webhook receives (`content-type: application/json`, header `Idempotency-Key: <anomalyId>`, the same on every
 * attempt, so a receiver that saw a delivery whose answer was lost can tell the retry apart).
 */
export interface AnomalyNotification {
  event: 'anomaly.known';
  tenant: string;
  metric: string;
  anomalyId: string;
  signature: string;
  /** The anomaly's first and last anomalous samples, and its peak (ISO-8601). */
  start: string;
  end: string;
  peakTs: string;
  peakScore: number;
  detectors: string[];
  /** Why it was classified known (`signature … is recorded as known`). */
  reason: string;
  monitorWorkflowId: string;
  /** Where to look: the command that shows the anomaly (with this notification) and the monitor in the Web UI. */
  links: { show: string; monitor: string };
}

/** The notification of `anomaly`, classified known for `reason` by the monitor `monitorWorkflowId`. */
export function anomalyNotification(anomaly: MonitoredAnomaly, reason: string, monitor: { workflowId: string; webUiUrl: string }): AnomalyNotification {
  return {
    event: 'anomaly.known',
    tenant: anomaly.tenantId,
    metric: anomaly.metric,
    anomalyId: anomaly.id,
    signature: anomaly.signature,
    start: anomaly.start,
    end: anomaly.end,
    peakTs: anomaly.peakTs,
    peakScore: anomaly.peakScore,
    detectors: [...anomaly.detectors],
    reason,
    monitorWorkflowId: monitor.workflowId,
    links: { show: `ados anomaly show ${anomaly.id} --tenant ${anomaly.tenantId}`, monitor: monitor.webUiUrl },
  };
}

/** The channel a tenant's notification goes by, and where: its webhook when it configured one, else the log. */
export function notificationChannel(webhookUrl: string | null): { channel: NotificationChannel; target: string | null } {
  return webhookUrl === null ? { channel: 'log', target: null } : { channel: 'webhook', target: webhookUrl };
}
