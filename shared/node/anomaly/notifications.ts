/**
 * Notifications of known anomalies (migration 0018_anomaly_notifications). A notification is queued in the transaction
 * that records the anomaly's `known` class (so there is one exactly when there is a classification), then delivered
 * by the activity that recorded it, or by the monitor's next interval: the log channel is the control worker's warn line, the webhook
 * channel a POST of the notification's JSON to the tenant's URL (through ADOS_HTTP_ALLOWED_HOSTS) and the same line.
 * A delivery that fails is recorded (`failed`, attempts, the error) and retried by the monitor at its next interval
 * (MAX_NOTIFICATION_ATTEMPTS in all), so that a receiver that is down never holds up the monitor's other anomalies.
 */
import { sql } from 'kysely';
import type { AnomalyNotification, NotificationChannel, NotificationStatus } from '../../contract/anomaly/notification';
import { notificationChannel } from '../../contract/anomaly/notification';
import type { Db } from '../db';
import { hostRefusal } from '../http/allowed-hosts';
import type { Logger } from '../logger';

/** The header every attempt carries the anomaly's ID in (the one the `http` capability sends its key in). */
export const NOTIFICATION_KEY_HEADER = 'Idempotency-Key';
/** One POST's limit: well inside the classification activity's start-to-close timeout (1 min). */
const WEBHOOK_TIMEOUT_MS = 10_000;
/** How much of a refusing answer's body, and of an error, is kept. */
const EXCERPT_CHARS = 200;
const ERROR_CHARS = 2000;

/** A notification as `ados anomaly show` reports it. */
export interface NotificationRecord {
  channel: NotificationChannel;
  /** The webhook's URL; null for the log channel. */
  target: string | null;
  status: NotificationStatus;
  attempts: number;
  lastError?: string;
  createdAt: string;
  deliveredAt?: string;
}

/** A delivery that did not get through: retrying may (the receiver is back, the allowlist was widened). */
export class NotificationFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationFailedError';
  }
}

/**
 * Queues the notification of a known anomaly by the tenant's channel (its webhook when it has one), once per anomaly
 * and channel. Run it in the transaction that records the classification.
 */
export async function queueNotification(db: Db, notification: AnomalyNotification, webhookUrl: string | null): Promise<void> {
  const { channel, target } = notificationChannel(webhookUrl);
  await db
    .insertInto('anomaly_notifications')
    .values({ tenant_id: notification.tenant, anomaly_id: notification.anomalyId, metric: notification.metric, channel, target, payload: JSON.stringify(notification) })
    .onConflict((oc) => oc.columns(['anomaly_id', 'channel']).doNothing())
    .execute();
}

/** An anomaly's notifications (none unless it was classified known), oldest first. */
export async function anomalyNotifications(db: Db, anomalyId: string): Promise<NotificationRecord[]> {
  const rows = await db.selectFrom('anomaly_notifications').selectAll().where('anomaly_id', '=', anomalyId).orderBy('id').execute();
  return rows.map((row) => ({
    channel: row.channel as NotificationChannel,
    target: row.target,
    status: row.status as NotificationStatus,
    attempts: row.attempts,
    ...(row.last_error ? { lastError: row.last_error } : {}),
    createdAt: row.created_at.toISOString(),
    ...(row.delivered_at ? { deliveredAt: row.delivered_at.toISOString() } : {}),
  }));
}

/** What an error says, with the cause fetch hides behind "fetch failed" (`connect ECONNREFUSED 127.0.0.1:9`). */
function errorText(error: unknown): string {
  const { message, cause } = error as { message?: string; cause?: { message?: string } };
  return `${message ?? String(error)}${cause?.message ? ` (${cause.message})` : ''}`;
}

/**
 * POSTs a notification to a webhook whose host the allowlist admits (10 s at most); anything but a 2xx answer is a
 * NotificationFailedError. Redirects are not followed: one could lead to a host the allowlist refuses.
 */
export async function postNotification(url: string, notification: AnomalyNotification, allowedHosts: readonly string[]): Promise<void> {
  const refusal = hostRefusal(url, allowedHosts, 'the control worker');
  if (refusal) throw new NotificationFailedError(refusal);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [NOTIFICATION_KEY_HEADER]: notification.anomalyId },
      body: JSON.stringify(notification),
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
  } catch (error) {
    throw new NotificationFailedError(`POST ${url}: ${errorText(error)}`);
  }
  // Read to the end either way, so the connection is free for the next call.
  const body = (await response.text().catch(() => '')).trim().slice(0, EXCERPT_CHARS);
  if (response.status >= 200 && response.status < 300) return;
  const redirect = response.status >= 300 && response.status < 400 ? ' (redirects are not followed: give the final URL with --notify-url)' : '';
  throw new NotificationFailedError(`POST ${url} answered HTTP ${response.status}${redirect}${body ? `: ${body}` : ''}`);
}

/** How often a notification is attempted before the monitor stops retrying it (it stays `failed`, shown by `show`). */
export const MAX_NOTIFICATION_ATTEMPTS = 10;
/** Retries one interval makes at most: each may wait out a webhook's 10 s, inside the scoring activity's 2 minutes. */
const RETRIES_PER_INTERVAL = 5;

type NotificationRow = { id: string; channel: string; target: string | null; payload: unknown; anomaly_id: string };
interface DeliveryOptions {
  logger: Logger;
  allowedHosts: readonly string[];
}

/**
 * One attempt at each row: counted before it is made (so one a crash cut short shows too), then `delivered`, or
 * `failed` with the error. The warn line of a known anomaly is logged for every channel by the attempt that delivers
 * it. Never throws for a delivery that fails: the monitor goes on, and retries it at its next interval.
 */
async function attempt(db: Db, rows: readonly NotificationRow[], options: DeliveryOptions): Promise<{ delivered: number; failed: number }> {
  let delivered = 0;
  for (const row of rows) {
    const notification = row.payload as AnomalyNotification;
    const { attempts } = await db
      .updateTable('anomaly_notifications')
      .set({ attempts: sql<number>`attempts + 1` })
      .where('id', '=', row.id)
      .returning('attempts')
      .executeTakeFirstOrThrow();
    const fields = { tenant: notification.tenant, metric: notification.metric, anomaly: row.anomaly_id, signature: notification.signature, peakScore: notification.peakScore, channel: row.channel, ...(row.target ? { target: row.target } : {}), attempts };
    try {
      if (row.channel === 'webhook') await postNotification(row.target!, notification, options.allowedHosts);
    } catch (error) {
      const message = errorText(error).slice(0, ERROR_CHARS);
      await db.updateTable('anomaly_notifications').set({ status: 'failed', last_error: message }).where('id', '=', row.id).execute();
      const next = attempts < MAX_NOTIFICATION_ATTEMPTS ? 'the monitor retries it at its next interval' : `the last of ${MAX_NOTIFICATION_ATTEMPTS}: not retried`;
      options.logger.warn({ ...fields, err: message }, `notification of known anomaly ${row.anomaly_id} failed (attempt ${attempts}; ${next}): ${message}`);
      continue;
    }
    options.logger.warn(fields, `known anomaly on ${notification.metric}: ${notification.reason}`);
    await db.updateTable('anomaly_notifications').set({ status: 'delivered', delivered_at: new Date() }).where('id', '=', row.id).execute();
    delivered += 1;
  }
  return { delivered, failed: rows.length - delivered };
}

const undelivered = (db: Db) =>
  db.selectFrom('anomaly_notifications').select(['id', 'channel', 'target', 'payload', 'anomaly_id']).where('status', '<>', 'delivered').where('attempts', '<', MAX_NOTIFICATION_ATTEMPTS);

/** Delivers the anomaly's notifications not delivered yet (none once they are: a second call sends nothing). */
export async function deliverNotifications(db: Db, anomalyId: string, options: DeliveryOptions): Promise<{ delivered: number; failed: number }> {
  return attempt(db, await undelivered(db).where('anomaly_id', '=', anomalyId).orderBy('id').execute(), options);
}

/**
 * Retries the metric's notifications that failed (or that a crash left pending), oldest first, a few per call and
 * each at most MAX_NOTIFICATION_ATTEMPTS times in all: what the monitor does at every interval.
 */
export async function retryNotifications(db: Db, ref: { tenantId: string; metric: string }, options: DeliveryOptions): Promise<{ delivered: number; failed: number }> {
  const rows = await undelivered(db).where('tenant_id', '=', ref.tenantId).where('metric', '=', ref.metric).orderBy('id').limit(RETRIES_PER_INTERVAL).execute();
  return attempt(db, rows, options);
}
