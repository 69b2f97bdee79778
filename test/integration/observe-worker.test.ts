/**
 * Observe (README): real `ados worker` processes (the control worker loading a prebuilt workflow bundle, a capability
 * worker) with ADOS_METRICS_PORT=0, on a dev server and a real PostgreSQL. A delivery run waits for approval and is
 * approved with the CLI; the workers' /metrics endpoints are scraped and parsed with parse-prometheus-text-format
 * before and after, and their stderr is read as pino JSON lines: every activity line carries workflowId, runId,
 * tenant and activityType, and the workflow logger's lines the same run fields.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { startDeliveryRun } from '../../client/delivery';
import { buildWorkflowBundle } from '../../deploy/build-bundle';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { loadConfig } from '../../shared/node/config';
import { eventually } from '../helpers/eventually';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { startTemporalServer, type TemporalServerProcess } from '../helpers/temporal-server';
import { PROJECT_ROOT } from '../helpers/toolchain';

const suffix = Math.random().toString(36).slice(2, 8);
const TENANT = `obs_${suffix}`;
const PREFIX = `obs-${suffix}`;
const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `observe-${process.pid}-${suffix}`);

let temporalServer: TemporalServerProcess;
let pg: PostgresServer;
let connection: Connection;
let client: Client;
let workerEnv: NodeJS.ProcessEnv;
let control: ManagedProcess;
let capabilities: ManagedProcess;
const processes: ManagedProcess[] = [];

/** The URL a worker logged for its metrics endpoint (ADOS_METRICS_PORT=0 picks a free port). */
async function metricsUrlOf(worker: ManagedProcess): Promise<string> {
  await worker.waitForOutput('"msg":"metrics endpoint listening"', 120_000);
  const line = logLines(worker).find((l) => l.msg === 'metrics endpoint listening');
  return String(line!.url);
}

async function scrape(url: string): Promise<PrometheusFamily[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return parsePrometheusTextFormat(await response.text());
}

/** The value of `name`'s sample whose labels include `labels`; undefined when there is none. */
function sample(families: PrometheusFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return metric?.value === undefined ? undefined : Number(metric.value);
}

function logLines(worker: ManagedProcess): Record<string, unknown>[] {
  return worker.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function reports(): string {
  return [...processes.map((p) => p.report()), `----- temporal server\n${temporalServer?.output() ?? ''}`].join('\n');
}

beforeAll(async () => {
  fs.mkdirSync(tmpDir, { recursive: true });
  const bundle = path.join(tmpDir, 'workflow-bundle.js');
  [temporalServer, pg] = await Promise.all([
    startTemporalServer({ dbFile: path.join(tmpDir, 'temporal.db') }),
    startPostgresServer({ database: 'ados_observe' }),
    buildWorkflowBundle(bundle),
  ]);
  connection = await Connection.connect({ address: temporalServer.address });
  client = new Client({ connection });
  workerEnv = cleanEnv({
    TEMPORAL_ADDRESS: temporalServer.address,
    DATABASE_URL: pg.url,
    ADOS_TASK_QUEUE_PREFIX: PREFIX,
    // debug: the SDK's activity logger writes "Activity started/completed" lines through the Runtime logger.
    LOG_LEVEL: 'debug',
    ADOS_METRICS_PORT: '0',
  });
  control = new ManagedProcess('worker --role control', ['worker', '--role', 'control'], { ...workerEnv, ADOS_WORKFLOW_BUNDLE: bundle });
  capabilities = new ManagedProcess('worker --capabilities analysis', ['worker', '--capabilities', 'analysis'], workerEnv);
  processes.push(control, capabilities);
  try {
    await Promise.all(processes.map((p) => p.waitForOutput('"msg":"worker polling"', 120_000)));
  } catch (error) {
    console.error(reports());
    throw error;
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000)));
  await connection?.close();
  await pg?.stop();
  await temporalServer?.stop();
  fs.rmSync(tmpDir, { recursive: true, force: true });
}, 60_000);

test('metrics endpoints and log fields of a delivery run approved with the CLI', async () => {
  try {
    const config = loadConfig({ TEMPORAL_ADDRESS: temporalServer.address, ADOS_TASK_QUEUE_PREFIX: PREFIX });
    const controlUrl = await metricsUrlOf(control);
    const capabilityUrl = await metricsUrlOf(capabilities);
    // The control worker loaded the prebuilt bundle: it did not run webpack at start.
    expect(control.stderr).not.toContain('Workflow bundle created');

    const { workflowId } = await startDeliveryRun(client, config, {
      tenantId: TENANT,
      runId: `obs-${suffix}`,
      requestedBy: 'carol',
      goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
      environments: ['dev', 'prod'],
      approval: { approvers: ['alice'], quorum: 1, timeout: '1h' },
      plan: { tasks: [{ id: 'a1', capability: 'analysis', input: { series: [1, 2, 3] } }] },
    });

    // Awaiting approval: visibility says so (its index lags a little), and the run is recorded as running.
    const waiting = await eventually('the pending approval in the metrics', 60_000, async () => {
      const families = await scrape(controlUrl);
      return sample(families, 'ados_approvals_pending', { tenant: TENANT }) === 1 ? families : undefined;
    }, 500);
    expect(sample(waiting, 'ados_runs', { kind: 'delivery', status: 'running' })).toBe(1);
    expect(sample(waiting, 'ados_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sample(waiting, 'ados_metrics_source_up', { source: 'temporal' })).toBe(1);
    // The Temporal Runtime's own metrics are served on the same endpoint.
    expect(waiting.some((f) => f.name.startsWith('temporal_'))).toBe(true);
    expect(waiting.some((f) => f.name === 'ados_activity_executions_total')).toBe(true);

    const capabilityFamilies = await scrape(capabilityUrl);
    expect(sample(capabilityFamilies, 'ados_activity_executions_total', { activity_type: 'analysis', workflow_type: 'deliveryRun', outcome: 'completed' })).toBeGreaterThanOrEqual(1);

    const cliEnv = cleanEnv({ TEMPORAL_ADDRESS: temporalServer.address, DATABASE_URL: pg.url, ADOS_TASK_QUEUE_PREFIX: PREFIX });
    const approved = await runAdosCli(['approve', workflowId, '--as', 'alice', '--comment', 'ok', '--tenant', TENANT, '--json'], cliEnv);
    if (approved.code !== 0) throw new Error(`ados approve exited ${approved.code}\n${approved.stderr}`);
    const result = (await client.workflow.getHandle(workflowId).result()) as DeliveryResult;
    expect(result.outcome).toBe('succeeded');

    const finished = await eventually('the finished run in the metrics', 30_000, async () => {
      const families = await scrape(controlUrl);
      return sample(families, 'ados_approvals_pending', { tenant: TENANT }) === 0 ? families : undefined;
    }, 500);
    expect(sample(finished, 'ados_runs', { kind: 'delivery', status: 'succeeded' })).toBe(1);
    expect(sample(finished, 'ados_approval_decisions_24h', { decision: 'approve' })).toBe(1);
    expect(sample(finished, 'ados_approval_latency_seconds', { quantile: '1' })).toBeGreaterThan(0);
    expect(sample(finished, 'ados_activity_executions_total', { workflow_type: 'deliveryRun', outcome: 'completed' })).toBeGreaterThanOrEqual(1);

    // Logs: every line written for an activity of this run, by either worker, carries the four fields.
    const ofRun = [...logLines(control), ...logLines(capabilities)].filter((l) => l.workflowId === workflowId);
    const activityLines = ofRun.filter((l) => l.activityType !== undefined);
    expect(new Set(activityLines.map((l) => l.activityType))).toContain('analysis');
    expect(activityLines.filter((l) => l.pid === control.pid).length).toBeGreaterThan(0);
    for (const line of activityLines) expect(line).toMatchObject({ workflowId, runId: expect.any(String), tenant: TENANT, activityType: expect.any(String) });
    const workflowLine = ofRun.find((l) => l.msg === 'delivery run finished');
    expect(workflowLine).toMatchObject({ workflowId, runId: expect.any(String), tenant: TENANT, sdkComponent: 'workflow' });
  } catch (error) {
    console.error(`observe test failed; process output follows\n${reports()}`);
    throw error;
  }
}, 150_000);
