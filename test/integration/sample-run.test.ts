/**
 * The sample plans through the whole stack, nothing mocked: a Temporal dev server, real PostgreSQL, the control
 * worker and a capability worker serving exec, deploy.process and verify.http as `ados worker` processes, and the
 * `ados` CLI as child processes. examples/delivery-plan.yaml builds, tests and ships examples/service to dev and
 * stage, waits for `ados approve`, then ships prod; examples/rollback-plan.yaml deploys an unhealthy release that is
 * stopped while the healthy one keeps serving, and the task escalates to a human. Last, the capability worker is
 * SIGKILLed in the middle of a blue/green switch while a 10 ms poller watches the port.
 *
 * The plans' fixed ports are replaced by free ones in a copy of each plan (the examples stay as they are), and the
 * runtime lives in a temporary ADOS_DATA_DIR: nothing here touches the developer's services. The attempts'
 * workspaces must lie under the project (the sample's exec tasks run `npm run sample:*`, which looks for the
 * project's package.json above its working directory), so they go to a scratch directory in .ados/tmp.
 * Every process started here is stopped in afterAll, and checked gone by pid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { stringify } from 'yaml';
import type { PendingRun } from '../../client/common/pending';
import { getDeliveryResult, getDeliveryStatus } from '../../client/delivery';
import { readInputFile } from '../../client/plan-file';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { processAlive } from '../../shared/node/process/process-group';
import { hashArtifactDirectory, ProcessRuntime, type EnvironmentStatus } from '../../shared/node/runtime';
import { eventually } from '../helpers/eventually';
import { LoopbackPoller } from '../helpers/loopback-poller';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { freePort } from '../helpers/temporal-server';
import { createDevServerEnv, PROJECT_ROOT } from '../helpers/toolchain';

const suffix = () => Math.random().toString(36).slice(2, 8);
const TENANT = 'acme';
const SHIP_CAPABILITIES = 'exec,deploy.process,verify.http';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-sample-run-'));
const dataDir = path.join(scratch, 'data');
const workspaceDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `sample-run-${process.pid}-${suffix()}`);
const runtime = new ProcessRuntime(path.join(dataDir, 'runtime'));
const prefix = `sample-${suffix()}`;

let env: TestWorkflowEnvironment;
let pg: PostgresServer;
let cliEnv: NodeJS.ProcessEnv;
let workerEnv: NodeJS.ProcessEnv;
const workers: ManagedProcess[] = [];
/** Every pid of a deployed service or proxy seen here: all must be gone after afterAll's stopAll. */
const servicePids = new Set<number>();

function startWorker(name: string, args: string[]): ManagedProcess {
  const worker = new ManagedProcess(name, ['worker', ...args], workerEnv);
  workers.push(worker);
  return worker;
}

const reports = () => workers.map((w) => w.report()).join('\n');

/** Runs a test body; on failure prints every worker's output. */
async function withReports(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    console.error(`worker output follows\n${reports()}`);
    throw error;
  }
}

beforeAll(async () => {
  const [devEnv, server] = await Promise.all([createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] }), startPostgresServer({ database: 'ados_sample_run' })]);
  env = devEnv;
  pg = server;
  const common = { TEMPORAL_ADDRESS: env.address, DATABASE_URL: pg.url, ADOS_TASK_QUEUE_PREFIX: prefix, ADOS_DATA_DIR: dataDir };
  cliEnv = cleanEnv({ ...common, LOG_LEVEL: 'warn' });
  // Workers run at info: readiness is their "worker polling" line.
  workerEnv = cleanEnv({ ...common, ADOS_WORKSPACE_DIR: workspaceDir, LOG_LEVEL: 'info', ADOS_WORKER_SHUTDOWN_GRACE: '10s' });
  const started = [startWorker('worker --role control', ['--role', 'control']), startWorker(`worker ${SHIP_CAPABILITIES}`, ['--capabilities', SHIP_CAPABILITIES, '--identity', 'ship'])];
  await withReports(() => Promise.all(started.map((w) => w.waitForOutput('"msg":"worker polling"', 120_000))).then(() => undefined));
}, 180_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL', 5_000)));
  for (const ref of runtime.listEnvironments()) rememberPids(runtime.status(ref));
  const stopped = await runtime.stopAll();
  await env?.teardown();
  await pg?.stop();
  fs.rmSync(workspaceDir, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
  expect(stopped.length).toBeGreaterThan(0);
  expect(servicePids.size).toBeGreaterThan(0);
  for (const pid of servicePids) expect({ pid, alive: processAlive(pid) }).toEqual({ pid, alive: false });
  for (const worker of workers) expect({ worker: worker.name, running: worker.running, alive: processAlive(worker.pid) }).toEqual({ worker: worker.name, running: false, alive: false });
}, 120_000);

function rememberPids(status: EnvironmentStatus): void {
  if (status.proxy.pid) servicePids.add(status.proxy.pid);
  if (status.process) servicePids.add(status.process.pid);
}

/** A copy of an example plan, its deploy tasks' ports given by `ports`, in the scratch directory. */
function planCopy(example: string, ports: (taskId: string) => unknown): string {
  const plan = readInputFile(path.join(PROJECT_ROOT, 'examples', example)) as { plan: { tasks: { id: string; capability: string; input: Record<string, unknown> }[] } };
  for (const task of plan.plan.tasks) if (task.capability === 'deploy.process') task.input.port = ports(task.id);
  const file = path.join(scratch, `${suffix()}-${example}`);
  fs.writeFileSync(file, stringify(plan));
  return file;
}

async function ados(args: string[], timeoutMs = 60_000): Promise<string> {
  const cli = await runAdosCli(args, cliEnv, timeoutMs);
  if (cli.code !== 0) throw new Error(`ados ${args.join(' ')} exited ${cli.code}\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
  return cli.stdout;
}

async function startRun(planFile: string, runId: string): Promise<string> {
  const started = JSON.parse(await ados(['run', 'start', '--file', planFile, '--run-id', runId, '--json'])) as { workflowId: string };
  expect(started.workflowId).toBe(`delivery-${TENANT}-${runId}`);
  return started.workflowId;
}

/** Polls the run's status until `done` holds; a run that finishes first fails the wait. */
function waitForStatus(workflowId: string, what: string, done: (status: DeliveryStatus) => boolean, timeoutMs: number): Promise<DeliveryStatus> {
  return eventually(what, timeoutMs, async () => {
    const status = await getDeliveryStatus(env.client, workflowId);
    if (done(status)) return status;
    if (status.stage === 'finished') throw new Error(`run finished first: ${JSON.stringify(status)}`);
    return undefined;
  }, 500);
}

async function releases(environment: string, service?: string): Promise<EnvironmentStatus[]> {
  const listed = JSON.parse(await ados(['release', 'list', '--tenant', TENANT, '--environment', environment, ...(service ? ['--service', service] : []), '--json'])) as EnvironmentStatus[];
  for (const status of listed) rememberPids(status);
  return listed;
}

async function getJson(port: number, urlPath: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${urlPath}`, { headers: { connection: 'close' } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The error code of a request to the port (e.g. ECONNREFUSED), or "answered". */
async function connectionError(port: number): Promise<string> {
  try {
    await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } });
    return 'answered';
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
  }
}

describe('examples/delivery-plan.yaml: build, test, ship to dev and stage, approve, ship prod', () => {
  const ports: Record<'dev' | 'stage' | 'prod', number> = { dev: 0, stage: 0, prod: 0 };
  let workflowId: string;

  beforeAll(async () => {
    for (const environment of ['dev', 'stage', 'prod'] as const) ports[environment] = await freePort();
  });

  test('`ados run start` runs to the approval gate: dev and stage answer /health, prod refuses connections', () =>
    withReports(async () => {
      workflowId = await startRun(planCopy('delivery-plan.yaml', () => ports), `sample-${suffix()}`);
      const status = await waitForStatus(workflowId, 'the sample awaiting approval', (s) => s.stage === 'awaiting_approval', 240_000);
      expect(status.completedEnvironments).toEqual(['dev', 'stage']);
      for (const environment of ['dev', 'stage'] as const) {
        for (const task of ['build-service', 'test-service', 'deploy-service', 'verify-service']) {
          expect({ environment, task, ...status.tasks[environment]?.[task] }).toMatchObject({ environment, task, state: 'succeeded' });
        }
        expect(await getJson(ports[environment], '/health')).toEqual({ status: 200, body: { status: 'ok', version: '1.0.0' } });
        expect((await getJson(ports[environment], '/')).body).toMatchObject({ service: 'hello', environment, message: 'hello from a release shipped by ADOS' });
      }
      expect(status.tasks.prod).toBeUndefined();
      expect(await connectionError(ports.prod)).toBe('ECONNREFUSED');
    }), 300_000);

  test('`ados approve`: the run ships prod, which answers /health; `ados release list` shows the release serving', () =>
    withReports(async () => {
      const approved = JSON.parse(await ados(['approve', workflowId, '--as', 'alice', '--comment', 'ship it', '--tenant', TENANT, '--json'])) as { outcome: string };
      expect(approved.outcome).toBe('approved');
      const result = await getDeliveryResult(env.client, workflowId);
      expect(result).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev', 'stage', 'prod'] });
      expect(await getJson(ports.prod, '/health')).toEqual({ status: 200, body: { status: 'ok', version: '1.0.0' } });
      expect((await getJson(ports.prod, '/')).body).toMatchObject({ service: 'hello', environment: 'prod', version: '1.0.0' });

      const deployed = result.outputs['deploy-service'] as { release: string; pid: number };
      const [prod, ...others] = await releases('prod');
      expect(others).toEqual([]);
      expect(prod).toMatchObject({
        tenant: TENANT,
        service: 'hello',
        environment: 'prod',
        port: ports.prod,
        serving: true,
        current: deployed.release,
        proxy: { running: true },
        process: { pid: deployed.pid, running: true },
        releases: [{ release: deployed.release, status: 'serving', lastEvent: 'deployed' }],
      });
      expect([prod.proxy.pid, prod.process?.pid].map((pid) => processAlive(pid as number))).toEqual([true, true]);
      // The same artifact shipped everywhere: each environment has its own process, proxy and port.
      for (const environment of ['dev', 'stage'] as const) {
        const [status] = await releases(environment);
        expect(status).toMatchObject({ port: ports[environment], serving: true, current: deployed.release });
        expect(status.process?.pid).not.toBe(prod.process?.pid);
        expect(processAlive(status.process?.pid as number)).toBe(true);
      }
    }), 240_000);
});

describe('examples/rollback-plan.yaml: an unhealthy release is stopped, the healthy one keeps serving, the task escalates', () => {
  test('the failed health check escalates to a human; `ados release list` shows the healthy release still serving; abort ends the run', () =>
    withReports(async () => {
      const port = await freePort();
      const workflowId = await startRun(planCopy('rollback-plan.yaml', () => port), `rollback-${suffix()}`);
      const status = await waitForStatus(workflowId, 'deploy-unhealthy escalated', (s) => s.tasks.dev?.['deploy-unhealthy']?.state === 'escalated', 240_000);
      expect(status.tasks.dev?.['deploy-healthy']).toMatchObject({ state: 'succeeded' });
      expect(status.escalations).toEqual([
        expect.objectContaining({ environment: 'dev', taskId: 'deploy-unhealthy', capability: 'deploy.process', reason: expect.stringMatching(/failed its health check and was stopped: .*status 503, expected 200.*still serves/) }),
      ]);

      const cliStatus = JSON.parse(await ados(['run', 'status', workflowId, '--tenant', TENANT, '--json'])) as DeliveryStatus;
      expect(cliStatus.escalations?.map((e) => e.taskId)).toEqual(['deploy-unhealthy']);
      expect(cliStatus.waitingFor).toContain('deploy-unhealthy');
      const pending = JSON.parse(await ados(['pending', '--tenant', TENANT, '--json'])) as PendingRun[];
      expect(pending.find((p) => p.workflowId === workflowId)).toMatchObject({ workflowId, escalatedTasks: ['deploy-unhealthy'] });

      const [dev, ...others] = await releases('dev', 'hello-rollback');
      expect(others).toEqual([]);
      const healthy = hashArtifactDirectory(path.join(PROJECT_ROOT, 'examples', 'service', 'dist-rollback-good'));
      const unhealthy = hashArtifactDirectory(path.join(PROJECT_ROOT, 'examples', 'service', 'dist-rollback-bad'));
      expect(dev).toMatchObject({ port, serving: true, current: healthy, process: { running: true } });
      expect(dev.releases.map((r) => [r.release, r.status])).toEqual([
        [unhealthy, 'failed'],
        [healthy, 'serving'],
      ]);
      expect(processAlive(dev.process?.pid as number)).toBe(true);
      expect(await getJson(port, '/health')).toEqual({ status: 200, body: { status: 'ok', version: '1.0.0' } });

      const resolved = await runAdosCli(['resolve', workflowId, '--task', 'deploy-unhealthy', '--action', 'abort', '--as', 'alice', '--comment', 'bad build', '--tenant', TENANT, '--json'], cliEnv);
      expect({ code: resolved.code, stderr: resolved.stderr }).toEqual({ code: 0, stderr: '' });
      expect(await getDeliveryResult(env.client, workflowId)).toMatchObject({ outcome: 'aborted' });
      expect(await getJson(port, '/health')).toEqual({ status: 200, body: { status: 'ok', version: '1.0.0' } });
    }), 300_000);
});

describe('SIGKILL of the capability worker during a deploy.process switch', () => {
  const SERVICE_SOURCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'services', 'http-service.cjs');

  /** An artifact of the fixture service: its version, and how long it takes to listen (keeps the switch in its health wait). */
  function artifact(version: string, startupDelayMs: number): string {
    const dir = path.join(scratch, 'artifacts', version);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(SERVICE_SOURCE, path.join(dir, 'server.cjs'));
    fs.writeFileSync(path.join(dir, 'release.json'), JSON.stringify({ version, healthStatus: 200, startupDelayMs }));
    return dir;
  }

  test('the retry on the second worker finishes the switch; the port never stops answering', () =>
    withReports(async () => {
      // The sample's worker leaves; two deploy.process workers take its place, one attempt each at a time.
      const ship = workers.find((w) => w.name === `worker ${SHIP_CAPABILITIES}`)!;
      expect(await ship.stop('SIGTERM', 40_000)).toMatchObject({ code: 0, timedOut: false });
      const pool = ['switch-a', 'switch-b'].map((identity) => startWorker(`worker deploy.process ${identity}`, ['--capabilities', 'deploy.process', '--identity', identity, '--max-concurrent', '1']));
      await Promise.all(pool.map((w) => w.waitForOutput('"msg":"worker polling"', 120_000)));

      const port = await freePort();
      const v1 = artifact('1.0.0', 0);
      const v2 = artifact('2.0.0', 4_000);
      const v2Hash = hashArtifactDirectory(v2);
      const deploy = (artifactDir: string) => ({ service: 'switch', artifactDir, start: ['node', 'server.cjs'], port, health: { url: '/health', timeoutSeconds: 30 }, stopGraceSeconds: 2 });
      const planFile = path.join(scratch, 'switch-plan.yaml');
      fs.writeFileSync(planFile, stringify({
        tenantId: TENANT,
        requestedBy: 'carol',
        goal: { type: 'deploy', complexity: 'low', risk: 'low', maxCost: 1 },
        environments: ['dev'],
        plan: {
          tasks: [
            { id: 'deploy-v1', capability: 'deploy.process', input: deploy(v1) },
            // A short heartbeat timeout: the retry starts soon after the crash.
            { id: 'deploy-v2', capability: 'deploy.process', dependsOn: ['deploy-v1'], heartbeatTimeoutSeconds: 2, input: deploy(v2) },
          ],
        },
      }));
      const workflowId = await startRun(planFile, `switch-${suffix()}`);
      const ref = { tenant: TENANT, service: 'switch', environment: 'dev' };
      const envDir = runtime.environmentDir(ref);

      const v1Status = await eventually('v1 serving', 60_000, async () => {
        const status = runtime.listEnvironments(ref).length > 0 ? runtime.status(ref) : undefined;
        return status?.serving ? status : undefined;
      });
      rememberPids(v1Status);
      const poller = new LoopbackPoller(`http://127.0.0.1:${port}/`).start();
      let pollerStats: Awaited<ReturnType<LoopbackPoller['stop']>> | undefined;
      try {
        // The switch has begun once the v2 process is recorded; the lock names the worker doing it.
        const { orphan, holder } = await eventually('the v2 process started beside v1', 60_000, async () => {
          const state = JSON.parse(fs.readFileSync(path.join(envDir, 'state.json'), 'utf8')) as { processes: { hash: string; pid: number }[] };
          const started = state.processes.find((p) => p.hash === v2Hash);
          const lockPid = fs.existsSync(path.join(envDir, 'lock')) ? Number(fs.readFileSync(path.join(envDir, 'lock'), 'utf8')) : undefined;
          return started && lockPid ? { orphan: started.pid, holder: pool.find((w) => w.pid === lockPid) } : undefined;
        }, 20);
        servicePids.add(orphan);
        expect(holder).toBeDefined();
        holder!.child.kill('SIGKILL');
        expect((await holder!.exited).signal).toBe('SIGKILL');
        // Mid-switch: v1 still serves, and the half-started v2 outlived its worker (detached) until the retry stops it.
        expect(runtime.status(ref).current).toBe(v1Status.current);
        expect(processAlive(orphan)).toBe(true);

        const result = await getDeliveryResult(env.client, workflowId);
        expect(result).toMatchObject({ outcome: 'succeeded' });
        const survivor = pool.find((w) => w !== holder)!;
        const status = await getDeliveryStatus(env.client, workflowId);
        expect(status.tasks.dev?.['deploy-v2']).toMatchObject({ state: 'succeeded', worker: expect.stringContaining(survivor === pool[0] ? 'switch-a' : 'switch-b') });
        expect(status.tasks.dev?.['deploy-v2']?.attempt).toBeGreaterThanOrEqual(2);
        expect(processAlive(orphan)).toBe(false);
        const after = runtime.status(ref);
        rememberPids(after);
        expect(after).toMatchObject({ serving: true, current: v2Hash });
        expect(after.process?.pid).not.toBe(orphan);
        pollerStats = await poller.stop();
      } finally {
        if (!pollerStats) await poller.stop();
      }
      expect({ failed: pollerStats.failed, failures: pollerStats.failures }).toEqual({ failed: 0, failures: [] });
      expect(pollerStats.versions).toEqual(['1.0.0', '2.0.0']);
    }), 300_000);
});
