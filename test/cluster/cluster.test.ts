/**
 * ADOS on a real multi-service Temporal cluster (deploy/cluster.ts): PostgreSQL, the schema set up by the SQL tool,
 * frontend, two history processes, matching and worker as separate processes, the Web UI. Run by `npm test` only
 * with ADOS_TEST_CLUSTER=1 (jest.config.js), after `node deploy/bootstrap.mjs --cluster` (.ci/run does both).
 *
 * The control worker and a capability worker are `ados worker` processes, approvals and status go through the `ados`
 * CLI, exactly as in production. A delivery run with an approval, an extraction and a task runtime run while each
 * history process in turn is SIGKILLed mid-run and started again: every run completes, and the effects table shows
 * every item effected exactly once. Then the frontend is SIGKILLed: the CLI exits 5 ("Temporal unreachable") and
 * works again once the frontend is back.
 *
 * The cluster has its own data dir and ports, so it never meets a cluster started by `npm run cluster`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDeliveryRun } from '../../client/delivery';
import { readSchemaDir, startExtraction } from '../../client/extraction';
import { clusterDatabaseUrl, clusterDown, clusterLayout, clusterUp, processPid, signalProcess, startProcess, type ClusterLayout } from '../../deploy/cluster';
import { deliveryStatusQuery, type DeliveryResult } from '../../shared/contract/delivery/status';
import type { ExtractionResult } from '../../shared/contract/extraction/messages';
import type { TaskRuntimeResult } from '../../shared/contract/task-runtime/messages';
import { taskRuntimeWorkflowId } from '../../shared/contract/workflow-ids';
import { loadClusterConfig, loadConfig, type AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { eventually } from '../helpers/eventually';
import { SEED_DIR } from '../helpers/extraction';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { effectsPerItem, exactlyOnceProblems } from '../helpers/task-runtime';
import { PROJECT_ROOT } from '../helpers/toolchain';

const suffix = () => Math.random().toString(36).slice(2, 8);
const TENANT = `cl_${suffix()}`;
const PREFIX = `cl-${suffix()}`;
const DELIVERY_ITEMS = 3000;
const RUNTIME_ITEMS = 600;
const RUNTIME_BATCH = 100;
const RUNTIME_TASK = `cl-${suffix()}`;

const clusterEnv = {
  ADOS_DATA_DIR: path.join(PROJECT_ROOT, '.ados', 'tmp', `cluster-test-${process.pid}-${suffix()}`),
  ADOS_CLUSTER_FRONTEND_PORT: '7263',
  ADOS_CLUSTER_UI_PORT: '8263',
  ADOS_CLUSTER_PG_PORT: '55463',
  ADOS_CLUSTER_HISTORY_PROCESSES: '2',
};

let layout: ClusterLayout;
let config: AdosConfig;
let connection: Connection;
let client: Client;
let database: DatabaseHandle;
let db: Db;
let workerEnv: NodeJS.ProcessEnv;
const processes: ManagedProcess[] = [];
const figures: Record<string, unknown> = {};

function reports(): string {
  const logs = fs.existsSync(layout?.logDir ?? '') ? fs.readdirSync(layout.logDir).map((f) => `----- ${f}\n${fs.readFileSync(path.join(layout.logDir, f), 'utf8').slice(-3000)}`) : [];
  return [...processes.map((p) => p.report()), ...logs].join('\n');
}

async function withReports<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    console.error(`cluster test failed; process output follows\n${reports()}`);
    throw error;
  }
}

async function startWorker(name: string, args: string[]): Promise<ManagedProcess> {
  const proc = new ManagedProcess(name, ['worker', ...args], workerEnv);
  processes.push(proc);
  await proc.waitForOutput('"msg":"worker polling"', 120_000);
  return proc;
}

const ados = (args: string[]) => runAdosCli(args, workerEnv, 60_000);

/** Delivery effects per environment: rows and distinct items (equal when nothing was done twice). */
async function deliveryEffects(workflowId: string, environment: string): Promise<{ rows: number; items: number }> {
  const row = await db
    .selectFrom('effects')
    .select((eb) => [eb.fn.countAll().as('rows'), eb.fn.count('item').distinct().as('items')])
    .where('workflow_id', '=', workflowId)
    .where('environment', '=', environment)
    .executeTakeFirstOrThrow();
  return { rows: Number(row.rows), items: Number(row.items) };
}

beforeAll(async () => {
  const started = Date.now();
  layout = clusterLayout(loadConfig(clusterEnv), loadClusterConfig(clusterEnv));
  const up = await withReports(() => clusterUp(layout));
  figures['cluster up s'] = up.seconds;
  expect(up.started).toEqual(['postgres', 'history', 'history-2', 'matching', 'frontend', 'worker', 'ui']);
  config = loadConfig({ ...clusterEnv, TEMPORAL_ADDRESS: up.temporalAddress, ADOS_TASK_QUEUE_PREFIX: PREFIX });
  const databaseUrl = clusterDatabaseUrl(layout, 'ados');
  workerEnv = cleanEnv({
    TEMPORAL_ADDRESS: up.temporalAddress,
    ADOS_WEB_UI_URL: up.webUiUrl,
    DATABASE_URL: databaseUrl,
    ADOS_TASK_QUEUE_PREFIX: PREFIX,
    ADOS_TENANT: TENANT,
    ADOS_DATA_DIR: clusterEnv.ADOS_DATA_DIR,
    LOG_LEVEL: 'info',
  });
  await withReports(() => Promise.all([startWorker('control worker', ['--role', 'control']), startWorker('capability worker', ['--capabilities', 'batch,extract'])]));
  connection = await Connection.connect({ address: up.temporalAddress });
  client = new Client({ connection, namespace: config.temporalNamespace });
  database = await openDatabase(databaseUrl, { poolSize: 2 });
  db = database.db;
  figures['setup ms'] = Date.now() - started;
}, 240_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL', 5_000)));
  await connection?.close();
  await database?.close();
  if (layout) await clusterDown(layout);
  fs.rmSync(clusterEnv.ADOS_DATA_DIR, { recursive: true, force: true });
  process.stdout.write(`[cluster] figures: ${JSON.stringify(figures)}\n`);
}, 120_000);

test('a delivery run with approval, an extraction and a task runtime complete through a SIGKILL of each history process: nothing lost, nothing done twice', () =>
  withReports(async () => {
    const startedAt = Date.now();
    const runtime = await ados([
      'runtime', 'start', '--task', RUNTIME_TASK, '--items', String(RUNTIME_ITEMS), '--batch-size', String(RUNTIME_BATCH),
      '--max-parallel', '1', '--checkpoint-every', '20', '--capability-input', JSON.stringify({ itemWorkMs: 20, writeEvery: 10 }), '--json',
    ]);
    expect({ code: runtime.code, stderr: runtime.stderr }).toEqual({ code: 0, stderr: '' });
    const delivery = await startDeliveryRun(client, config, {
      tenantId: TENANT,
      runId: `cluster-${suffix()}`,
      requestedBy: 'cluster-test',
      environments: ['dev', 'prod'],
      goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
      approval: { approvers: ['alice'], quorum: 1, timeout: '1h' },
      plan: { tasks: [{ id: 'batch', capability: 'batch', input: { items: DELIVERY_ITEMS, checkpointEvery: 250, itemWorkMs: 5 } }] },
    });
    const extraction = await startExtraction(client, config, {
      tenantId: TENANT,
      setName: 'seed',
      requestedBy: 'cluster-test',
      documents: readSchemaDir(SEED_DIR).sources,
      strict: false,
    });
    const runtimeWorkflowId = taskRuntimeWorkflowId(TENANT, RUNTIME_TASK);

    // Each history process in turn, while the delivery's dev batch is mid-run: whichever owns a run's shard is hit.
    const killedAt: number[] = [];
    for (const service of ['history', 'history-2'] as const) {
      killedAt.push(
        await eventually(`the dev batch mid-run, for the ${service} kill`, 120_000, async () => {
          const { rows } = await deliveryEffects(delivery.workflowId, 'dev');
          return rows >= (killedAt.at(-1) ?? 0) + 300 && rows < DELIVERY_ITEMS - 300 ? rows : undefined;
        }, 50),
      );
      const killedPid = processPid(layout, service);
      expect(signalProcess(layout, service, 'SIGKILL')).toBe(true);
      await eventually(`${service} gone`, 10_000, async () => (processPid(layout, service) === undefined ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(startProcess(layout, service)).not.toBe(killedPid);
    }
    figures['delivery effects at the history kills'] = killedAt;

    const awaiting = await eventually('the delivery awaiting approval', 180_000, async () => {
      const status = await client.workflow.getHandle(delivery.workflowId).query(deliveryStatusQuery);
      return status.stage === 'awaiting_approval' ? status : undefined;
    }, 500);
    expect(awaiting.waitingFor).toMatch(/alice/);
    const approved = await ados(['approve', delivery.workflowId, '--as', 'alice', '--comment', 'cluster test', '--tenant', TENANT, '--json']);
    expect({ code: approved.code, stderr: approved.stderr }).toEqual({ code: 0, stderr: '' });

    const [deliveryResult, extractionResult, runtimeResult] = await Promise.all([
      client.workflow.getHandle(delivery.workflowId).result() as Promise<DeliveryResult>,
      client.workflow.getHandle(extraction.workflowId).result() as Promise<ExtractionResult>,
      client.workflow.getHandle(runtimeWorkflowId).result() as Promise<TaskRuntimeResult>,
    ]);
    expect(deliveryResult).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev', 'prod'] });
    expect(extractionResult).toMatchObject({ outcome: 'succeeded' });
    expect(runtimeResult).toMatchObject({ outcome: 'completed', done: RUNTIME_ITEMS, processed: RUNTIME_ITEMS, deadLettered: 0 });

    for (const environment of ['dev', 'prod']) {
      expect(await deliveryEffects(delivery.workflowId, environment)).toEqual({ rows: DELIVERY_ITEMS, items: DELIVERY_ITEMS });
    }
    const { perSeq, rows } = await effectsPerItem(db, runtimeWorkflowId, RUNTIME_BATCH);
    expect(exactlyOnceProblems(perSeq, RUNTIME_ITEMS)).toEqual({ missing: [], twice: [], stray: [] });
    expect(rows).toBe(RUNTIME_ITEMS);
    expect(processes.every((p) => p.running)).toBe(true);
    figures['three runs through the history kill ms'] = Date.now() - startedAt;
  }), 240_000);

test('with the frontend SIGKILLed the CLI reports "Temporal unreachable" (exit 5); it works again once the frontend is back', () =>
  withReports(async () => {
    const listed: string[] = [];
    for await (const execution of client.workflow.list({ query: `AdosTenant = '${TENANT}' AND AdosKind = 'delivery'` })) listed.push(execution.workflowId);
    expect(listed.length).toBe(1);
    const statusArgs = ['run', 'status', listed[0], '--tenant', TENANT, '--json'];
    expect((await ados(statusArgs)).code).toBe(0);

    expect(signalProcess(layout, 'frontend', 'SIGKILL')).toBe(true);
    await eventually('the frontend gone', 10_000, async () => (processPid(layout, 'frontend') === undefined ? true : undefined));
    const down = await ados(statusArgs);
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('Temporal unreachable');

    const restartedAt = Date.now();
    startProcess(layout, 'frontend');
    const back = await eventually('the CLI answering again', 90_000, async () => {
      const result = await ados(statusArgs);
      return result.code === 0 ? result : undefined;
    }, 1_000);
    expect(JSON.parse(back.stdout)).toMatchObject({ workflowId: listed[0] });
    figures['frontend restart to CLI answering ms'] = Date.now() - restartedAt;
  }), 180_000);
