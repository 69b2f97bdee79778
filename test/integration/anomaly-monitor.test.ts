/**
 * The anomaly monitor on real processes: a Temporal dev server (child process), a real PostgreSQL, and the control
 * worker as an `ados worker` process (a prebuilt workflow bundle, so a restart is quick). A NAB series from the shared
 * set (read in place) is ingested with `ados metrics ingest` and watched with `ados metrics watch`, 1000 samples per
 * 1 s interval; the control worker is SIGKILLed once the monitor has scored part of the series and a new one is
 * started. The monitor carries on from its checkpoint: every sample is scored once, and the anomalies recorded are
 * exactly the ones a single pass of the same detectors closes (no anomaly twice, none from old samples again), each
 * classified once. A Prometheus endpoint (a small HTTP server serving prom-client's exposition) is scraped by a
 * second monitor. Feedback and `ados anomaly show` close the story.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Gauge, Registry } from 'prom-client';
import { getMonitorStatus, prepareAnomalyMonitor, startAnomalyMonitor, stopAnomalyMonitor } from '../../client/metrics';
import { buildWorkflowBundle } from '../../deploy/build-bundle';
import { defaultEnsembleConfig, mergeGapMs } from '../../shared/contract/anomaly/detection';
import { anomalyPipelineWorkflowId, anomalyMonitorWorkflowId } from '../../shared/contract/workflow-ids';
import { createEnsemble, createGrouper } from '../../shared/node/anomaly/detection';
import { ingestCsv, sampleLines } from '../../shared/node/anomaly/samples';
import { listAnomalies } from '../../shared/node/anomaly/store';
import { loadConfig, loadNabDataDir, type AdosConfig } from '../../shared/node/config';
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

/** The anomalies one uninterrupted pass of the default detectors closes over the file: what the monitor must record. */
async function expectedAnomalyIds(): Promise<string[]> {
  const config = defaultEnsembleConfig();
  const ensemble = createEnsemble(config);
  const grouper = createGrouper({ mergeGapMs: mergeGapMs(config) });
  const ids: string[] = [];
  for await (const { parsed } of sampleLines(NAB_FILE)) {
    if (!('sample' in parsed)) throw new Error(`${NAB_FILE}: a bad line`);
    for (const closed of grouper.push(ensemble.push(parsed.sample))) ids.push(anomalyPipelineWorkflowId(TENANT, METRIC, new Date(closed.start).toISOString()));
  }
  return ids.sort();
}

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
}, 120_000);

afterAll(async () => {
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

test('a monitor survives a SIGKILL of its worker: every sample scored once, the anomalies of one pass recorded once each', async () => {
  const expected = await expectedAnomalyIds();
  expect(expected.length).toBeGreaterThan(2);
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
