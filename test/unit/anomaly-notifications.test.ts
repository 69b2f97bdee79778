/**
 * The notification of a known anomaly, its pure parts (no server): the JSON a webhook receives, the channel a tenant's
 * profile gives, the profile's `notifications.webhookUrl` (accepted, refused naming the field and the fix, removed),
 * the allowlist's refusal (one message for scrapes and webhooks, before anything is sent) and the lines
 * `ados anomaly show` prints for each state of a delivery. The delivery itself is in
 * test/integration/anomaly-monitor.test.ts.
 */
import { notificationText } from '../../client/anomaly';
import type { MonitoredAnomaly } from '../../shared/contract/anomaly/monitor';
import { anomalyNotification, notificationChannel } from '../../shared/contract/anomaly/notification';
import { applyProfilePatch, defaultProfile, profileChanges, WEBHOOK_URL_RULE } from '../../shared/contract/tenancy/profile';
import { NotificationFailedError, postNotification } from '../../shared/node/anomaly/notifications';
import { DEFAULT_HTTP_ALLOWED_HOSTS, hostRefusal, parseAllowedHosts } from '../../shared/node/http/allowed-hosts';

const LOOPBACK = parseAllowedHosts(DEFAULT_HTTP_ALLOWED_HOSTS).entries;

const anomaly: MonitoredAnomaly = {
  id: 'anomaly-acme-cpu-20140214T100000000Z',
  tenantId: 'acme',
  metric: 'cpu',
  start: '2014-02-14T10:00:00.000Z',
  end: '2014-02-14T10:10:00.000Z',
  peakTs: '2014-02-14T10:05:00.000Z',
  peakScore: 0.8,
  detectors: ['mahalanobis', 'robustZ'],
  samples: 3,
  signature: 'mahalanobis+robustZ/burst',
  threshold: 0.5,
};

describe('the notification', () => {
  it('carries the anomaly, why it is known and where to look', () => {
    const monitor = 'anomaly-monitor-acme-cpu';
    expect(anomalyNotification(anomaly, 'signature mahalanobis+robustZ/burst is recorded as known', { workflowId: monitor, webUiUrl: `http://localhost:8233/namespaces/default/workflows/${monitor}` })).toEqual({
      event: 'anomaly.known',
      tenant: 'acme',
      metric: 'cpu',
      anomalyId: anomaly.id,
      signature: 'mahalanobis+robustZ/burst',
      start: anomaly.start,
      end: anomaly.end,
      peakTs: anomaly.peakTs,
      peakScore: 0.8,
      detectors: ['mahalanobis', 'robustZ'],
      reason: 'signature mahalanobis+robustZ/burst is recorded as known',
      monitorWorkflowId: monitor,
      links: { show: `ados anomaly show ${anomaly.id} --tenant acme`, monitor: `http://localhost:8233/namespaces/default/workflows/${monitor}` },
    });
  });

  it('goes by the webhook when the tenant has one, else by the log', () => {
    expect(notificationChannel(null)).toEqual({ channel: 'log', target: null });
    expect(notificationChannel('https://hooks.example.com/ados')).toEqual({ channel: 'webhook', target: 'https://hooks.example.com/ados' });
  });
});

describe("the profile's webhook", () => {
  it('is none by default, set by a change (trimmed), audited by its path, and removed with null', () => {
    expect(defaultProfile().notifications).toEqual({ webhookUrl: null });
    const set = applyProfilePatch(defaultProfile(), { notifications: { webhookUrl: ' http://127.0.0.1:9000/hook?token=abc ' } });
    expect(set).toMatchObject({ ok: true, value: { notifications: { webhookUrl: 'http://127.0.0.1:9000/hook?token=abc' } } });
    if (!set.ok) return;
    expect(profileChanges(defaultProfile(), set.value)).toEqual({ 'notifications.webhookUrl': { before: null, after: 'http://127.0.0.1:9000/hook?token=abc' } });
    // A change that does not name it keeps it.
    expect(applyProfilePatch(set.value, { limits: { priority: 9 } })).toMatchObject({ ok: true, value: { notifications: { webhookUrl: 'http://127.0.0.1:9000/hook?token=abc' } } });
    expect(applyProfilePatch(set.value, { notifications: { webhookUrl: null } })).toMatchObject({ ok: true, value: { notifications: { webhookUrl: null } } });
  });

  it.each(['ftp://hooks.example.com/ados', 'hooks.example.com/ados', '', 'https://', 'https://alice:secret@hooks.example.com/ados', 42])('refuses %j naming notifications.webhookUrl and the fix', (webhookUrl) => {
    const checked = applyProfilePatch(defaultProfile(), { notifications: { webhookUrl } });
    expect(checked).toEqual({ ok: false, issues: [{ path: 'notifications.webhookUrl', message: WEBHOOK_URL_RULE }] });
    expect(WEBHOOK_URL_RULE).toContain('or none for the log channel only');
  });

  it('refuses a misspelt field of the section rather than drop it', () => {
    expect(applyProfilePatch(defaultProfile(), { notifications: { webhook: 'https://hooks.example.com' } })).toEqual({ ok: false, issues: [{ path: 'notifications', message: expect.stringContaining('webhook') }] });
  });
});

describe('the allowlist', () => {
  it('refuses a host it does not list with the one message scrapes give, naming the setting and where to change it', () => {
    expect(hostRefusal('http://127.0.0.1:9000/hook', LOOPBACK, 'the control worker')).toBeUndefined();
    expect(hostRefusal('https://hooks.example.com/ados', LOOPBACK, 'the control worker')).toBe(
      'host hooks.example.com is not allowed by ADOS_HTTP_ALLOWED_HOSTS (127.0.0.0/8,::1,localhost); add it to that setting of the control worker',
    );
  });

  it('refuses a webhook before anything is sent', async () => {
    const notification = anomalyNotification(anomaly, 'known', { workflowId: 'm', webUiUrl: 'http://localhost:8233' });
    const refused = await postNotification('https://192.0.2.10/hook', notification, LOOPBACK).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NotificationFailedError);
    expect((refused as Error).message).toBe('host 192.0.2.10 is not allowed by ADOS_HTTP_ALLOWED_HOSTS (127.0.0.0/8,::1,localhost); add it to that setting of the control worker');
  });
});

describe('ados anomaly show', () => {
  const base = { createdAt: '2026-11-22T10:00:00.000Z' };
  it.each([
    ['log, delivered', { ...base, channel: 'log', target: null, status: 'delivered', attempts: 1, deliveredAt: '2026-11-22T10:00:01.000Z' }, "log (the control worker's warn line) delivered at 2026-11-22T10:00:01.000Z"],
    [
      'webhook, delivered by a retry',
      { ...base, channel: 'webhook', target: 'http://127.0.0.1:9000/hook', status: 'delivered', attempts: 2, lastError: 'POST http://127.0.0.1:9000/hook answered HTTP 500: down', deliveredAt: '2026-11-22T10:00:03.000Z' },
      'webhook http://127.0.0.1:9000/hook delivered at 2026-11-22T10:00:03.000Z (attempt 2; the one before failed: POST http://127.0.0.1:9000/hook answered HTTP 500: down)',
    ],
    [
      'webhook, failed',
      { ...base, channel: 'webhook', target: 'http://127.0.0.1:9000/hook', status: 'failed', attempts: 3, lastError: 'POST http://127.0.0.1:9000/hook answered HTTP 503' },
      'webhook http://127.0.0.1:9000/hook FAILED after 3 attempt(s): POST http://127.0.0.1:9000/hook answered HTTP 503 (the monitor retries it)',
    ],
    ['webhook, pending', { ...base, channel: 'webhook', target: 'http://127.0.0.1:9000/hook', status: 'pending', attempts: 0 }, 'webhook http://127.0.0.1:9000/hook pending since 2026-11-22T10:00:00.000Z (0 attempt(s) so far)'],
  ] as const)('prints a notification (%s) as one line', (_state, notification, line) => {
    expect(notificationText(notification)).toBe(line);
  });
});
