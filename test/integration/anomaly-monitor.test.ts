/**
 * The anomaly monitor on real processes: a Temporal dev server (child process), a real PostgreSQL, and the control
 * worker as an `ados worker` process (a prebuilt workflow bundle, so a restart is quick). A NAB series from the shared
 * set (read in place) is ingested with `ados metrics ingest` and watched with `ados metrics watch`, 1000 samples per
 * 1 s interval; the control worker is SIGKILLed once the monitor has scored part of the series and a new one is
 * started. The monitor carries on from its checkpoint: every sample is scored once, and the anomalies recorded are
 * exactly the ones a single pass of the same detectors closes (no anomaly twice, none from old samples again), each
 * classified once, and each known one (the first anomaly's signature is recorded as known beforehand) notified once,
 * by the log channel (the tenant has no webhook), even across the kill. A Prometheus
 * endpoint (a small HTTP server serving prom-client's exposition) is scraped by a second monitor. Feedback and
 * `ados anomaly show` close the story.
 *
 * Notifications of known anomalies go to one webhook, a node:http server on 127.0.0.1 that records each POST and
 * answers as a test tells it: the classification activity itself (in the SDK's activity environment, on this file's
 * PostgreSQL) POSTs once however often it is called, records a 500 without holding up the monitor, and the interval's
 * retry delivers the row (ten attempts at most); a tenant without a webhook is notified by the warn line; `ados
 * tenant create --notify-url` refuses a bad URL naming the flag. Last, a monitor on a worker process whose webhook
 * answers 500 at first: it goes on with the other anomalies, and its next interval delivers the refused one (POSTed a
 * second time).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { Gauge, Registry } from 'prom-client';
import { createAnomalyMonitorActivities, type AnomalyMonitorActivities, type ClassifiedRequest } from '../../activities/anomaly/monitor-activities';
import { getMonitorStatus, prepareAnomalyMonitor, startAnomalyMonitor, stopAnomalyMonitor } from '../../client/metrics';
import { buildWorkflowBundle } from '../../deploy/build-bundle';
import { defaultEnsembleConfig, mergeGapMs } from '../../shared/contract/anomaly/detection';
import { anomalySignature, type MonitoredAnomaly } from '../../shared/contract/anomaly/monitor';
import { anomalyNotification } from '../../shared/contract/anomaly/notification';
import { anomalyPipelineWorkflowId, anomalyMonitorWorkflowId } from '../../shared/contract/workflow-ids';
import { createEnsemble, createGrouper } from '../../shared/node/anomaly/detection';
import { MAX_NOTIFICATION_ATTEMPTS, NOTIFICATION_KEY_HEADER, retryNotifications } from '../../shared/node/anomaly/notifications';
import { ingestCsv, sampleLines } from '../../shared/node/anomaly/samples';
import { commitInterval, listAnomalies, recordKnownSignature } from '../../shared/node/anomaly/store';
import { loadConfig, loadNabDataDir, webUiWorkflowUrl, type AdosConfig } from '../../shared/node/config';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { registerScrapeMetrics } from '../../shared/node/metrics/ados-metrics';
import { eventually } from '../helpers/eventually';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { startTemporalServer, type TemporalServerProcess } from '../helpers/temporal-server';
import { PROJECT_ROOT } from '../helpers/toolchain';

const suffix = Math.random().toString(36).slice(2, 8);
const TENANT = `anom_${suffix}`;
const METRIC = 'art_daily_jumpsup';
const NAB_FILE = path.join(loadNabDataDir(), 'data', 'artificialWithAnomaly', `${METRIC}.csv`);
const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `anomaly-monitor-${process.pid}-${suffix}`);

let temporalServer: TemporalServerProcess;
let pg: PostgresServer;
let database: DatabaseHandle;
let db: Db;
let env: NodeJS.ProcessEnv;
let bundle: string;
let connection: Connection;
let client: Client;
let config: AdosConfig;
const processes: ManagedProcess[] = [];

function reports(): string {
  return [...processes.map((p) => p.report()), `----- temporal server\n${temporalServer?.output() ?? ''}`].join('\n');
}

async function startControlWorker(identity: string): Promise<ManagedProcess> {
  const worker = new ManagedProcess(`control worker ${identity}`, ['worker', '--role', 'control', '--identity', identity], { ...env, ADOS_WORKFLOW_BUNDLE: bundle });
  processes.push(worker);
  await worker.waitForOutput('"msg":"worker polling"', 60_000);
  return worker;
}

const cli = async (args: string[]) => runAdosCli([...args, '--tenant', TENANT], env, 60_000);

/** The anomalies (ID, signature) one uninterrupted pass of the default detectors closes over the file, by ID: what a monitor must record. */
async function expectedAnomalies(tenantId: string, metric: string): Promise<Array<{ id: string; signature: string }>> {
  const config = defaultEnsembleConfig();
  const ensemble = createEnsemble(config);
  const grouper = createGrouper({ mergeGapMs: mergeGapMs(config) });
  const found: Array<{ id: string; signature: string }> = [];
  for await (const { parsed } of sampleLines(NAB_FILE)) {
    if (!('sample' in parsed)) throw new Error(`${NAB_FILE}: a bad line`);
    for (const closed of grouper.push(ensemble.push(parsed.sample))) {
      found.push({ id: anomalyPipelineWorkflowId(tenantId, metric, new Date(closed.start).toISOString()), signature: anomalySignature(closed) });
    }
  }
  return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const notificationsOf = (tenantId: string) =>
  db.selectFrom('anomaly_notifications').select(['anomaly_id', 'channel', 'target', 'status', 'attempts', 'last_error']).where('tenant_id', '=', tenantId).orderBy('anomaly_id').execute();

/** One POST the webhook received. */
interface Received {
  path: string;
  key: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/**
 * The file's one webhook: records every POST, and answers with what `answer` says for its path (200 by default), so
 * each test gives its own path an outage of its own.
 */
const webhook = {
  received: [] as Received[],
  answer: new Map<string, (nth: number) => number>(),
  server: http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      webhook.received.push({ path, key: request.headers[NOTIFICATION_KEY_HEADER.toLowerCase()] as string | undefined, contentType: request.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      const status = (webhook.answer.get(path) ?? (() => 200))(webhook.received.filter((r) => r.path === path).length);
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(status === 200 ? 'ok' : 'receiver down');
    });
  }),
  url: (path: string) => `http://127.0.0.1:${(webhook.server.address() as AddressInfo).port}${path}`,
  to: (path: string) => webhook.received.filter((r) => r.path === path),
};

const checkpointOf = (metric: string) =>
  db.selectFrom('anomaly_monitor_checkpoints').select(['samples_scored', 'last_ts']).where('tenant_id', '=', TENANT).where('metric', '=', metric).executeTakeFirst();

beforeAll(async () => {
  fs.mkdirSync(tmpDir, { recursive: true });
  bundle = path.join(tmpDir, 'workflow-bundle.js');
  [temporalServer, pg] = await Promise.all([
    startTemporalServer({ dbFile: path.join(tmpDir, 'temporal.db') }),
    startPostgresServer({ database: 'ados_anomaly_monitor' }),
    buildWorkflowBundle(bundle),
  ]);
  database = await openDatabase(pg.url, { poolSize: 2 });
  db = database.db;
  await migrateToLatest(db);
  env = cleanEnv({ TEMPORAL_ADDRESS: temporalServer.address, DATABASE_URL: pg.url, ADOS_TASK_QUEUE_PREFIX: `am-${suffix}`, LOG_LEVEL: 'info' });
  config = loadConfig({ TEMPORAL_ADDRESS: temporalServer.address, ADOS_TASK_QUEUE_PREFIX: `am-${suffix}` });
  connection = await Connection.connect({ address: temporalServer.address });
  client = new Client({ connection });
  await new Promise<void>((resolve) => webhook.server.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => webhook.server.close(() => resolve()));
  await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
  await connection?.close();
  await database?.close();
  await pg?.stop();
  await temporalServer?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
}, 60_000);

test('ingest: a NAB file streamed in, idempotent by timestamp; bad lines reported by number, the good ones ingested', async () => {
  const mixed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ados-anomaly-')), 'mixed.csv');
  fs.writeFileSync(mixed, 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,oops\n2014-04-01 00:10:00,3\nnot a line\n');
  const [first, bad] = await Promise.all([cli(['metrics', 'ingest', NAB_FILE, '--metric', METRIC, '--json']), cli(['metrics', 'ingest', mixed, '--metric', 'mixed'])]);
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(first.stdout)).toMatchObject({ lines: 4032, added: 4032, alreadyThere: 0, badCount: 0 });
  expect(await ingestCsv(db, { tenantId: TENANT, metric: METRIC }, NAB_FILE)).toMatchObject({ added: 0, alreadyThere: 4032 });
  expect(bad.code).toBe(2);
  expect(bad.stdout).toContain('ingested 2 new sample(s) of 4 line(s) into mixed (0 already there, 2 bad line(s) skipped)');
  expect(bad.stderr).toContain('line 3: value: "oops" is not a finite number');
  expect(bad.stderr).toContain('line 5: expected 2 columns "timestamp,value", got 1');
  const stored = await db.selectFrom('metric_samples').select('value').where('tenant_id', '=', TENANT).where('metric', '=', 'mixed').orderBy('ts').execute();
  expect(stored.map((s) => s.value)).toEqual([1, 3]);
}, 60_000);

test('a monitor survives a SIGKILL of its worker: every sample scored once, the anomalies of one pass recorded once each, known ones notified once', async () => {
  const pass = await expectedAnomalies(TENANT, METRIC);
  const expected = pass.map((a) => a.id);
  expect(expected.length).toBeGreaterThan(2);
  // The first one's signature is known already (as an investigator would have recorded it), so its class is known.
  await recordKnownSignature(db, { tenantId: TENANT, metric: METRIC }, pass[0].signature, 'seen before', 'test');
  try {
    let worker = await startControlWorker('am-1');
    const watch = await cli(['metrics', 'watch', '--metric', METRIC, '--interval', '1s', '--batch-limit', '500', '--persist-threshold', '10m', '--novel-after', '2', '--novel-window', '7d', '--json']);
    expect({ code: watch.code, stderr: watch.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(watch.stdout)).toMatchObject({ workflowId: anomalyMonitorWorkflowId(TENANT, METRIC), alreadyRunning: false });
    const again = await startAnomalyMonitor(client, config, prepareAnomalyMonitor({ tenantId: TENANT, metric: METRIC }));
    expect(again).toMatchObject({ alreadyRunning: true });

    await eventually('part of the series scored', 30_000, async () => {
      const checkpoint = await checkpointOf(METRIC);
      return checkpoint && Number(checkpoint.samples_scored) >= 500 ? checkpoint : undefined;
    }, 50);
    await worker.stop('SIGKILL');
    const scoredAtKill = Number((await checkpointOf(METRIC))?.samples_scored);
    expect(scoredAtKill).toBeLessThan(4032);
    worker = await startControlWorker('am-2');

    await eventually('the whole series scored and every anomaly classified', 45_000, async () => {
      const checkpoint = await checkpointOf(METRIC);
      const open = await db.selectFrom('anomalies').select('id').where('tenant_id', '=', TENANT).where('status', '=', 'detected').execute();
      return Number(checkpoint?.samples_scored) === 4032 && open.length === 0 ? true : undefined;
    }, 200);
    const recorded = await db.selectFrom('anomalies').select(['id', 'class', 'action']).where('tenant_id', '=', TENANT).where('metric', '=', METRIC).orderBy('id').execute();
    expect(recorded.map((a) => a.id)).toEqual(expected);
    const audited = await db.selectFrom('audit_log').select('event_key').where('tenant_id', '=', TENANT).where('event_key', 'like', 'anomaly:%').execute();
    expect(audited.map((a) => a.event_key).sort()).toEqual(expected.map((id) => `anomaly:${id}`));
    // Each anomaly has the class its rules gave and the matching action; an unknown one started no pipeline (no approvers).
    const actionOf: Record<string, string> = { known: 'notify', false_positive: 'record', novel: 'investigate', unknown: 'pipeline', transient: 'record' };
    expect(recorded.filter((a) => a.class === null || a.action !== actionOf[a.class])).toEqual([]);
    // Each known one is notified once, by the log channel (the tenant has no webhook), even one whose classification
    // the killed worker committed before it could deliver; no other class is notified.
    const known = recorded.filter((a) => a.class === 'known').map((a) => ({ anomaly_id: a.id, channel: 'log', target: null, status: 'delivered' }));
    expect(known.map((n) => n.anomaly_id)).toContain(pass[0].id);
    const notified = await eventually('every known anomaly notified', 15_000, async () => {
      const rows = await notificationsOf(TENANT);
      return rows.length >= known.length && rows.every((n) => n.status === 'delivered') ? rows : undefined;
    });
    expect(notified.map(({ anomaly_id, channel, target, status }) => ({ anomaly_id, channel, target, status }))).toEqual(known);
    // A worker's /metrics reports them by class (the same scrape-time gauge, on this database).
    const registry = new Registry();
    registerScrapeMetrics({ db: async () => db }, registry);
    const alerts = (await registry.getSingleMetric('ados_anomaly_alerts')!.get()).values.filter((v) => v.labels.tenant === TENANT && v.labels.metric === METRIC);
    const byClass: Record<string, number> = {};
    for (const a of recorded) byClass[a.class!] = (byClass[a.class!] ?? 0) + 1;
    expect(Object.fromEntries(alerts.map((v) => [v.labels.class, v.value]))).toEqual(byClass);
    const workflowId = anomalyMonitorWorkflowId(TENANT, METRIC);
    // The status takes its tally from the database each interval (so a class the killed worker committed, which no
    // retry returns again, is counted too): wait for the next interval's count, which fails if one is never counted.
    const classifiedCount = (classified: Record<string, number>) => Object.values(classified).reduce((a, b) => a + b, 0);
    await eventually(`the status query counts all ${expected.length} anomalies classified`, 30_000, async () => {
      const answer = await getMonitorStatus(client, workflowId);
      return answer.status?.samplesScored === 4032 && classifiedCount(answer.status.classified) === expected.length ? answer : undefined;
    });
    await stopAnomalyMonitor(client, workflowId, 'test');
    const result = await client.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ outcome: 'stopped', samplesScored: 4032 });

    for (const investigated of recorded.filter((a) => a.class === 'novel').slice(0, 1)) {
      await eventually('an investigator recorded its finding', 15_000, async () =>
        (await db.selectFrom('anomaly_findings').select('anomaly_id').where('anomaly_id', '=', investigated.id).executeTakeFirst()) ?? undefined,
      );
    }

    const target = recorded.find((a) => a.class !== 'false_positive')!;
    const [feedback, missing] = await Promise.all([cli(['anomaly', 'feedback', target.id, '--false-positive', '--note', 'a deploy', '--json']), cli(['anomaly', 'show', 'anomaly-nope-x-20140101T000000000Z'])]);
    expect(JSON.parse(feedback.stdout)).toMatchObject({ recorded: true, thresholdBefore: 0.5, thresholdAfter: 0.55 });
    const show = await cli(['anomaly', 'show', target.id]);
    expect(target.id).toBe(pass[0].id);
    expect(show.stdout).toMatch(/ {2}notified: {3}log \(the control worker's warn line\) delivered at \S+Z\n/);
    expect(show.stdout).toContain('threshold:  0.55 now (0.5 when detected)');
    expect(show.stdout).toMatch(/feedback: {3}false positive by \S+ at .*: threshold 0.5 → 0.55 \(a deploy\)/);
    expect(missing.code).toBe(3);
    expect((await listAnomalies(db, TENANT, { metric: METRIC })).find((a) => a.id === target.id)).toMatchObject({ class: 'false_positive' });
  } catch (error) {
    console.error(`anomaly monitor test failed; process output follows\n${reports()}`);
    throw error;
  }
}, 180_000);

test('a monitor scrapes a Prometheus endpoint each interval into samples', async () => {
  const registry = new Registry();
  const depth = new Gauge({ name: 'queue_depth', help: 'items waiting', labelNames: ['queue'], registers: [registry] });
  let served = 0;
  const server = http.createServer((request, response) => {
    served += 1;
    depth.set({ queue: 'orders' }, served * 10);
    depth.set({ queue: 'other' }, -1);
    void registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': registry.contentType });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  try {
    if (!processes.some((p) => p.running)) await startControlWorker('am-3');
    const input = prepareAnomalyMonitor({ tenantId: TENANT, metric: 'orders_depth', source: { kind: 'scrape', url, series: 'queue_depth', labels: { queue: 'orders' } }, interval: '1s' });
    const started = await startAnomalyMonitor(client, config, input);
    const samples = await eventually('three scraped samples', 30_000, async () => {
      const rows = await db.selectFrom('metric_samples').select('value').where('tenant_id', '=', TENANT).where('metric', '=', 'orders_depth').orderBy('ts').execute();
      return rows.length >= 3 ? rows : undefined;
    }, 200);
    // Each sample is the labelled gauge's value of one scrape: 10, 20, 30, … in order.
    expect(samples.slice(0, 3).map((s) => s.value)).toEqual([10, 20, 30]);
    await stopAnomalyMonitor(client, started.workflowId, 'test');
    expect(await client.workflow.getHandle(started.workflowId).result()).toMatchObject({ outcome: 'stopped' });
  } catch (error) {
    console.error(`anomaly scrape test failed; process output follows\n${reports()}`);
    throw error;
  } finally {
    server.close();
  }
}, 60_000);

describe('notifications of known anomalies', () => {
  const HOOK_TENANT = `hook_${suffix}`;
  /** The warn lines the activities log (the log channel, and every webhook's delivery and failure). */
  const logged: Array<{ msg: string; anomaly?: string; channel?: string; attempts?: number }> = [];
  const testLogger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  let activities: AnomalyMonitorActivities;
  const environment = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const classify = (request: ClassifiedRequest) => environment().run(activities.recordAnomalyClassification, request);
  const tenantCli = (args: string[]) => runAdosCli(args, env, 60_000);

  /** An anomaly of its own metric, committed as the monitor's scoring does, and the request that classifies it known. */
  async function knownAnomaly(tenantId: string, metric: string): Promise<ClassifiedRequest> {
    const start = '2026-11-22T10:00:00.000Z';
    const anomaly: MonitoredAnomaly = {
      id: anomalyPipelineWorkflowId(tenantId, metric, start),
      tenantId,
      metric,
      start,
      end: '2026-11-22T10:10:00.000Z',
      peakTs: '2026-11-22T10:05:00.000Z',
      peakScore: 0.91,
      detectors: ['robustZ'],
      samples: 3,
      signature: 'robustZ/burst',
      threshold: 0.5,
    };
    const workflowId = anomalyMonitorWorkflowId(tenantId, metric);
    await commitInterval(db, { tenantId, metric }, { workflowId, checkpoint: { detectorState: null, lastTs: Date.parse(anomaly.end), samplesScored: 3 }, anomalies: [anomaly] });
    return { workflowId, anomaly, id: anomaly.id, class: 'known', action: 'notify', reason: `signature ${anomaly.signature} is recorded as known` };
  }

  // After the file's beforeAll, which opens `db`.
  beforeAll(() => {
    activities = createAnomalyMonitorActivities(db, testLogger);
  });

  test('ados tenant create --notify-url refuses a bad URL naming the flag and the fix; show prints the webhook', async () => {
    const [bad, credentials, created] = await Promise.all([
      tenantCli(['tenant', 'create', `bad_${suffix}`, '--notify-url', 'ftp://hooks.example.com/ados']),
      tenantCli(['tenant', 'create', `bad_${suffix}`, '--notify-url', 'https://alice:secret@hooks.example.com/ados']),
      tenantCli(['tenant', 'create', HOOK_TENANT, '--notify-url', webhook.url('/activity')]),
    ]);
    for (const refused of [bad, credentials]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--notify-url: must be an http:// or https:// URL without a user or password, such as https://hooks.example.com/ados');
      expect(refused.stderr).toContain('or none for the log channel only');
    }
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    const show = await tenantCli(['tenant', 'show', HOOK_TENANT]);
    expect(show.stdout).toContain(`  notifications: webhook ${webhook.url('/activity')} (known anomalies are POSTed there, and logged)`);
    const plain = await tenantCli(['tenant', 'create', `plain_${suffix}`]);
    expect(plain.stdout).toContain('  notifications: log only (no webhook; set one with --notify-url)');
  }, 60_000);

  test("a known anomaly is POSTed once to the tenant's webhook, however often the activity runs", async () => {
    const request = await knownAnomaly(HOOK_TENANT, 'hook_once');
    expect(await classify(request)).toEqual({ recorded: true, storedClass: 'known' });
    expect(await classify(request)).toEqual({ recorded: false, storedClass: 'known' });
    const posts = webhook.to('/activity').filter((r) => (r.body as { anomalyId: string }).anomalyId === request.id);
    expect(posts).toEqual([
      {
        path: '/activity',
        key: request.id,
        contentType: 'application/json',
        body: anomalyNotification(request.anomaly, request.reason, { workflowId: request.workflowId, webUiUrl: webUiWorkflowUrl(loadConfig(), request.workflowId) }),
      },
    ]);
    expect(posts[0].body).toMatchObject({ tenant: HOOK_TENANT, metric: 'hook_once', anomalyId: request.id, signature: 'robustZ/burst', peakScore: 0.91, links: { show: `ados anomaly show ${request.id} --tenant ${HOOK_TENANT}` } });
    expect(await notificationsOf(HOOK_TENANT)).toEqual([{ anomaly_id: request.id, channel: 'webhook', target: webhook.url('/activity'), status: 'delivered', attempts: 1, last_error: null }]);
    // The warn line stays, once, naming the channel.
    expect(logged.filter((line) => line.anomaly === request.id)).toEqual([expect.objectContaining({ msg: `known anomaly on hook_once: ${request.reason}`, channel: 'webhook', attempts: 1 })]);
  }, 30_000);

  test("a webhook that answers 500: the row is failed with the error, the activity goes on; the interval's retry delivers it, once", async () => {
    const path = '/outage';
    let down = true;
    webhook.answer.set(path, () => (down ? 500 : 200));
    expect((await tenantCli(['tenant', 'update', HOOK_TENANT, '--notify-url', webhook.url(path)])).code).toBe(0);
    const request = await knownAnomaly(HOOK_TENANT, 'hook_outage');
    // The receiver being down does not hold up the monitor: the classification is recorded and answered.
    expect(await classify(request)).toEqual({ recorded: true, storedClass: 'known' });
    const [failed] = (await notificationsOf(HOOK_TENANT)).filter((n) => n.anomaly_id === request.id);
    expect(failed).toEqual({ anomaly_id: request.id, channel: 'webhook', target: webhook.url(path), status: 'failed', attempts: 1, last_error: `POST ${webhook.url(path)} answered HTTP 500: receiver down` });
    expect(await listAnomalies(db, HOOK_TENANT, { metric: 'hook_outage' })).toEqual([expect.objectContaining({ class: 'known', status: 'classified' })]);
    const failing = await tenantCli(['anomaly', 'show', request.id, '--tenant', HOOK_TENANT]);
    expect(failing.stdout).toContain(`  notified:   webhook ${webhook.url(path)} FAILED after 1 attempt(s): POST ${webhook.url(path)} answered HTTP 500: receiver down (the monitor retries it)`);

    // What each interval's scoring does first: retry the metric's failed notifications.
    const options = { logger: testLogger, allowedHosts: loadConfig().httpAllowedHosts };
    expect(await retryNotifications(db, { tenantId: HOOK_TENANT, metric: 'hook_outage' }, options)).toEqual({ delivered: 0, failed: 1 });
    down = false;
    expect(await retryNotifications(db, { tenantId: HOOK_TENANT, metric: 'hook_outage' }, options)).toEqual({ delivered: 1, failed: 0 });
    expect(await retryNotifications(db, { tenantId: HOOK_TENANT, metric: 'hook_outage' }, options)).toEqual({ delivered: 0, failed: 0 });
    expect(await classify(request)).toEqual({ recorded: false, storedClass: 'known' });
    expect(webhook.to(path).map((r) => (r.body as { anomalyId: string }).anomalyId)).toEqual([request.id, request.id, request.id]);
    const [delivered] = (await notificationsOf(HOOK_TENANT)).filter((n) => n.anomaly_id === request.id);
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 3 });
    const show = await tenantCli(['anomaly', 'show', request.id, '--tenant', HOOK_TENANT, '--json']);
    expect(JSON.parse(show.stdout).notifications).toEqual([
      { channel: 'webhook', target: webhook.url(path), status: 'delivered', attempts: 3, lastError: `POST ${webhook.url(path)} answered HTTP 500: receiver down`, createdAt: expect.any(String), deliveredAt: expect.any(String) },
    ]);
    expect(logged.filter((line) => line.anomaly === request.id).map((line) => line.msg)).toEqual([
      `notification of known anomaly ${request.id} failed (attempt 1; the monitor retries it at its next interval): POST ${webhook.url(path)} answered HTTP 500: receiver down`,
      `notification of known anomaly ${request.id} failed (attempt 2; the monitor retries it at its next interval): POST ${webhook.url(path)} answered HTTP 500: receiver down`,
      `known anomaly on hook_outage: ${request.reason}`,
    ]);
  }, 60_000);

  test(`a receiver that never answers: retried ${MAX_NOTIFICATION_ATTEMPTS} times in all, then left failed`, async () => {
    const path = '/gone';
    webhook.answer.set(path, () => 500);
    expect((await tenantCli(['tenant', 'update', HOOK_TENANT, '--notify-url', webhook.url(path)])).code).toBe(0);
    const request = await knownAnomaly(HOOK_TENANT, 'hook_gone');
    expect(await classify(request)).toEqual({ recorded: true, storedClass: 'known' });
    const options = { logger: testLogger, allowedHosts: loadConfig().httpAllowedHosts };
    for (let i = 1; i < MAX_NOTIFICATION_ATTEMPTS; i++) expect(await retryNotifications(db, { tenantId: HOOK_TENANT, metric: 'hook_gone' }, options)).toEqual({ delivered: 0, failed: 1 });
    expect(await retryNotifications(db, { tenantId: HOOK_TENANT, metric: 'hook_gone' }, options)).toEqual({ delivered: 0, failed: 0 });
    expect(webhook.to(path)).toHaveLength(MAX_NOTIFICATION_ATTEMPTS);
    const [gaveUp] = (await notificationsOf(HOOK_TENANT)).filter((n) => n.anomaly_id === request.id);
    expect(gaveUp).toMatchObject({ status: 'failed', attempts: MAX_NOTIFICATION_ATTEMPTS });
    expect(logged.filter((line) => line.anomaly === request.id).at(-1)!.msg).toContain(`(attempt ${MAX_NOTIFICATION_ATTEMPTS}; the last of ${MAX_NOTIFICATION_ATTEMPTS}: not retried)`);
  }, 60_000);

  test('without a webhook the channel is the log: the warn line, and the row delivered', async () => {
    const tenantId = `plain_${suffix}`;
    const before = webhook.received.length;
    const request = await knownAnomaly(tenantId, 'plain_log');
    expect(await classify(request)).toEqual({ recorded: true, storedClass: 'known' });
    expect(await classify(request)).toEqual({ recorded: false, storedClass: 'known' });
    expect(await notificationsOf(tenantId)).toEqual([{ anomaly_id: request.id, channel: 'log', target: null, status: 'delivered', attempts: 1, last_error: null }]);
    expect(logged.filter((line) => line.anomaly === request.id)).toEqual([
      expect.objectContaining({ msg: `known anomaly on plain_log: ${request.reason}`, channel: 'log', attempts: 1, tenant: tenantId, signature: 'robustZ/burst', peakScore: 0.91 }),
    ]);
    expect(webhook.received.length).toBe(before);
    const show = await tenantCli(['anomaly', 'show', request.id, '--tenant', tenantId]);
    expect(show.stdout).toMatch(/ {2}notified: {3}log \(the control worker's warn line\) delivered at \S+Z\n/);
  }, 30_000);

  test('a monitor whose webhook answers 500 at first: it goes on, and its next interval delivers the one refused', async () => {
    const path = '/monitor';
    const metric = 'jumpsup_known';
    webhook.answer.set(path, (nth) => (nth === 1 ? 500 : 200));
    expect((await tenantCli(['tenant', 'update', HOOK_TENANT, '--notify-url', webhook.url(path)])).code).toBe(0);
    const ref = { tenantId: HOOK_TENANT, metric };
    const expected = await expectedAnomalies(HOOK_TENANT, metric);
    expect(expected.length).toBeGreaterThan(2);
    // Every signature the pass finds is known, so each anomaly is notified.
    for (const signature of new Set(expected.map((a) => a.signature))) await recordKnownSignature(db, ref, signature, 'seen before', 'test');
    expect(await ingestCsv(db, ref, NAB_FILE)).toMatchObject({ added: 4032 });
    try {
      if (!processes.some((p) => p.running)) await startControlWorker('am-4');
      const started = await startAnomalyMonitor(client, config, prepareAnomalyMonitor({ ...ref, interval: '1s', batchLimit: 5000 }));
      const ids = new Set(expected.map((a) => a.id));
      const rows = await eventually('every known anomaly delivered', 60_000, async () => {
        const found = (await notificationsOf(HOOK_TENANT)).filter((n) => ids.has(n.anomaly_id));
        return found.length === expected.length && found.every((n) => n.status === 'delivered') ? found : undefined;
      }, 200);
      await stopAnomalyMonitor(client, started.workflowId, 'test');
      expect(await client.workflow.getHandle(started.workflowId).result()).toMatchObject({ outcome: 'stopped' });
      expect(rows.map((n) => n.anomaly_id)).toEqual(expected.map((a) => a.id));
      // The first POST failed; the others went on, and an interval later the first was POSTed again: one POST more than
      // there are anomalies, the first one twice, the second time after the others.
      const posted = webhook.to(path).map((r) => (r.body as { anomalyId: string }).anomalyId);
      expect(posted).toHaveLength(expected.length + 1);
      expect(posted.filter((id) => id === posted[0])).toHaveLength(2);
      expect(posted.at(-1)).toBe(posted[0]);
      expect([...new Set(posted)].sort()).toEqual(expected.map((a) => a.id));
      expect(rows.filter((n) => n.attempts !== 1)).toEqual([expect.objectContaining({ anomaly_id: posted[0], attempts: 2, last_error: `POST ${webhook.url(path)} answered HTTP 500: receiver down` })]);
    } catch (error) {
      console.error(`anomaly notification test failed; process output follows\n${reports()}`);
      throw error;
    }
  }, 120_000);
});
