/**
 * The process runtime behind deploy.process and `ados release`, on real processes and ports: deploy, the no-op
 * redeploy, a blue/green switch watched by a 10 ms poller, a failed health check that rolls back, SIGKILL of the
 * deploying process mid-switch, bad input refused before anything starts, services outliving the process that
 * deployed them, and `ados release list|rollback` through the real CLI. Every process started here is stopped in
 * afterAll, and checked gone by pid.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { InputValidationError } from '../../shared/contract/validation';
import { HealthCheckFailedError, ProcessRuntime, type DeployRequest, type EnvironmentRef } from '../../shared/node/runtime';
import { processAlive } from '../../shared/node/process/process-group';
import { eventually } from '../helpers/eventually';
import { LoopbackPoller } from '../helpers/loopback-poller';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { freePort } from '../helpers/temporal-server';
import { PROJECT_ROOT } from '../helpers/toolchain';

const SERVICE_SOURCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'services', 'http-service.cjs');
const DEPLOY_ONCE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'runtime', 'deploy-once.ts');
/** One process (the tsx CLI would run the script in a child, which a SIGKILL of the CLI would not reach). */
const NODE_TS = [process.execPath, '--import', 'tsx'] as const;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-runtime-'));
const dataDir = path.join(scratch, 'data');
const root = path.join(dataDir, 'runtime');
const runtime = new ProcessRuntime(root);
const seenPids = new Set<number>();

/** An artifact directory of the fixture service; each version is a different artifact hash. */
function artifact(version: string, options: { healthStatus?: number; startupDelayMs?: number } = {}): string {
  const dir = path.join(scratch, 'artifacts', `${version}-${options.healthStatus ?? 200}-${options.startupDelayMs ?? 0}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(SERVICE_SOURCE, path.join(dir, 'server.cjs'));
  fs.writeFileSync(path.join(dir, 'release.json'), JSON.stringify({ version, healthStatus: options.healthStatus ?? 200, startupDelayMs: options.startupDelayMs ?? 0 }));
  return dir;
}

function request(artifactDir: string, port: number, overrides: Partial<DeployRequest> = {}): DeployRequest {
  return {
    artifactDir,
    start: ['node', 'server.cjs'],
    port,
    env: {},
    health: { path: '/health', expectStatus: 200, timeoutMs: 10_000 },
    stopGraceMs: 5_000,
    deployedBy: 'test',
    ...overrides,
  };
}

async function versionAt(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return ((await response.json()) as { version: string }).version;
}

function remember(...pids: (number | undefined)[]): void {
  for (const pid of pids) if (pid) seenPids.add(pid);
}

afterAll(async () => {
  await runtime.stopAll();
  for (const pid of seenPids) expect({ pid, alive: processAlive(pid) }).toEqual({ pid, alive: false });
  fs.rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('deploy, redeploy, blue/green switch', () => {
  const ref: EnvironmentRef = { tenant: 'acme', service: 'hello', environment: 'dev' };
  let port: number;

  beforeAll(async () => {
    port = await freePort();
  });

  it('deploys a release: the environment port answers, the release process and the proxy run, current names it', async () => {
    const result = await runtime.deploy(ref, request(artifact('1.0.0'), port));
    const status = runtime.status(ref);
    remember(result.pid, status.proxy.pid);
    expect(result).toMatchObject({ changed: true, port, previous: undefined });
    expect(await versionAt(port)).toBe('1.0.0');
    expect(processAlive(result.pid)).toBe(true);
    expect(processAlive(status.proxy.pid as number)).toBe(true);
    expect(fs.readlinkSync(path.join(runtime.environmentDir(ref), 'current'))).toBe(path.join('releases', result.release));
    expect(status).toMatchObject({ serving: true, current: result.release, process: { pid: result.pid, running: true } });
  });

  it('redeploying the same artifact is a no-op: same process, nothing started', async () => {
    const before = runtime.status(ref);
    const again = await runtime.deploy(ref, request(artifact('1.0.0'), port));
    expect(again).toMatchObject({ changed: false, release: before.current, pid: before.process?.pid });
    expect(runtime.status(ref).proxy.pid).toBe(before.proxy.pid);
  });

  it('switches to a new release with no failed poll of a 10 ms poller, and stops the old process', async () => {
    const old = runtime.status(ref);
    const poller = new LoopbackPoller(`http://127.0.0.1:${port}/`).start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await runtime.deploy(ref, request(artifact('2.0.0', { startupDelayMs: 300 }), port));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stats = await poller.stop();
    remember(result.pid);
    expect({ failed: stats.failed, failures: stats.failures }).toEqual({ failed: 0, failures: [] });
    expect(stats.ok).toBeGreaterThan(20);
    expect(stats.versions).toEqual(['1.0.0', '2.0.0']);
    expect(result).toMatchObject({ changed: true, previous: old.current });
    expect(processAlive(old.process?.pid as number)).toBe(false);
    expect(await versionAt(port)).toBe('2.0.0');
  });

  it('a failed health check stops the new release, keeps the previous one serving and says why', async () => {
    const before = runtime.status(ref);
    const poller = new LoopbackPoller(`http://127.0.0.1:${port}/`).start();
    const error = await runtime.deploy(ref, request(artifact('3.0.0', { healthStatus: 503 }), port, { health: { path: '/health', expectStatus: 200, timeoutMs: 1_500 } })).catch((e: unknown) => e);
    const stats = await poller.stop();
    expect(error).toBeInstanceOf(HealthCheckFailedError);
    expect((error as Error).message).toMatch(/status 503, expected 200/);
    expect((error as Error).message).toContain(`release ${before.current?.slice(0, 12)} still serves`);
    expect(stats.failed).toBe(0);
    expect(await versionAt(port)).toBe('2.0.0');
    const after = runtime.status(ref);
    expect(after).toMatchObject({ current: before.current, serving: true, process: { pid: before.process?.pid } });
    expect(after.releases[0]).toMatchObject({ status: 'failed', lastEvent: 'failed' });
    expect(after.releases.find((r) => r.release === before.current)?.status).toBe('serving');
    // Only the serving release's process is left.
    expect(JSON.parse(fs.readFileSync(path.join(runtime.environmentDir(ref), 'state.json'), 'utf8')).processes).toHaveLength(1);
  });

  it('refuses bad input naming the field before anything starts, and loses nothing deployed', async () => {
    const before = runtime.status(ref);
    const missing = await runtime.deploy(ref, request(path.join(scratch, 'no-such-build'), port)).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InputValidationError);
    expect((missing as InputValidationError).issues.map((i) => i.path)).toEqual(['artifactDir']);

    const foreign: Server = createServer();
    const foreignPort = await freePort();
    await new Promise<void>((resolve) => foreign.listen(foreignPort, '127.0.0.1', resolve));
    try {
      const other = { ...ref, environment: 'stage' };
      const busy = await runtime.deploy(other, request(artifact('2.0.0'), foreignPort)).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(InputValidationError);
      expect((busy as InputValidationError).issues[0]).toMatchObject({ path: 'port', message: expect.stringContaining('in use by another process') });
      const taken = await runtime.deploy(other, request(artifact('2.0.0'), port)).catch((e: unknown) => e);
      expect((taken as InputValidationError).issues[0]).toMatchObject({ path: 'port', message: expect.stringContaining('acme/hello/dev') });
      expect(runtime.listEnvironments({ environment: 'stage' })).toEqual([]);
    } finally {
      foreign.close();
    }
    const unknownCommand = await runtime.deploy(ref, request(artifact('2.0.0'), port, { start: ['no-such-program-xyz'] })).catch((e: unknown) => e);
    expect((unknownCommand as InputValidationError).issues.map((i) => i.path)).toEqual(['start[0]']);
    expect(runtime.status(ref)).toMatchObject({ current: before.current, serving: true, process: { pid: before.process?.pid } });
    expect(await versionAt(port)).toBe('2.0.0');
  });

  it('`ados release list` and `ados release rollback` through the CLI', async () => {
    const env = cleanEnv({ ADOS_DATA_DIR: dataDir });
    const listed = await runAdosCli(['release', 'list', '--tenant', 'acme', '--environment', 'dev', '--json'], env);
    expect(listed.code).toBe(0);
    const [environment] = JSON.parse(listed.stdout) as Array<{ service: string; serving: boolean; releases: Array<{ status: string }> }>;
    expect(environment).toMatchObject({ service: 'hello', serving: true });
    expect(environment.releases.map((r) => r.status)).toEqual(['failed', 'serving', 'stopped']);

    const text = await runAdosCli(['release', 'list', '--tenant', 'acme', '--environment', 'dev'], env);
    expect(text.stdout).toMatch(/acme\/hello\/dev .* serving [0-9a-f]{12}/);

    const rolled = await runAdosCli(['release', 'rollback', '--tenant', 'acme', '--environment', 'dev', '--as', 'alice', '--json'], env);
    expect(rolled.code).toBe(0);
    expect(await versionAt(port)).toBe('1.0.0');
    remember(JSON.parse(rolled.stdout).pid);
    expect(runtime.status(ref).releases[0]).toMatchObject({ status: 'serving', lastEvent: 'rolled-back', by: 'cli:alice' });

    const noFlags = await runAdosCli(['release', 'rollback'], env);
    expect(noFlags.code).toBe(2);
    expect(noFlags.stderr).toContain('--tenant: required');
    expect(noFlags.stderr).toContain('--environment: required');
  });
});

describe('crashes: SIGKILL of the deploying process, and services outliving it', () => {
  const ref: EnvironmentRef = { tenant: 'acme', service: 'crashy', environment: 'dev' };
  let port: number;

  beforeAll(async () => {
    port = await freePort();
  });

  /** Runs deploy-once.ts (a worker stand-in) and kills it with SIGKILL once `killWhen` holds. */
  async function deployAndKill(artifactDir: string, killWhen: () => boolean): Promise<void> {
    const child = spawn(NODE_TS[0], [...NODE_TS.slice(1), DEPLOY_ONCE, root, JSON.stringify({ ref, request: request(artifactDir, port) })], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await eventually('the moment to kill', 30_000, async () => (killWhen() ? true : undefined), 5);
    child.kill('SIGKILL');
    await exited;
  }

  const statePath = () => path.join(runtime.environmentDir(ref), 'state.json');
  const recordedProcesses = (): Array<{ pid: number }> => (fs.existsSync(statePath()) ? JSON.parse(fs.readFileSync(statePath(), 'utf8')).processes : []);

  it('a service deployed by a process that has exited keeps serving', async () => {
    const child = spawn(NODE_TS[0], [...NODE_TS.slice(1), DEPLOY_ONCE, root, JSON.stringify({ ref, request: request(artifact('1.0.0'), port) })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const result = JSON.parse(out) as { pid: number };
    remember(result.pid, runtime.status(ref).proxy.pid);
    expect(processAlive(child.pid as number)).toBe(false);
    expect(processAlive(result.pid)).toBe(true);
    expect(await versionAt(port)).toBe('1.0.0');
  });

  it('SIGKILL while the new release warms up: the old one serves throughout, and the retry finishes the switch', async () => {
    const poller = new LoopbackPoller(`http://127.0.0.1:${port}/`).start();
    await deployAndKill(artifact('2.0.0', { startupDelayMs: 1_500 }), () => recordedProcesses().length === 2);
    const orphan = recordedProcesses()[1].pid;
    remember(orphan);
    expect(await versionAt(port)).toBe('1.0.0');

    const retried = await runtime.deploy(ref, request(artifact('2.0.0', { startupDelayMs: 1_500 }), port));
    remember(retried.pid);
    const stats = await poller.stop();
    expect({ failed: stats.failed, failures: stats.failures }).toEqual({ failed: 0, failures: [] });
    expect(await versionAt(port)).toBe('2.0.0');
    expect(processAlive(orphan)).toBe(false);
    expect(recordedProcesses().map((p) => p.pid)).toEqual([retried.pid]);
  });

  it('SIGKILL right after the switch: the new release serves, and the next change stops the old one', async () => {
    const dir = runtime.environmentDir(ref);
    const before = runtime.status(ref);
    const poller = new LoopbackPoller(`http://127.0.0.1:${port}/`).start();
    await deployAndKill(artifact('3.0.0'), () => fs.readlinkSync(path.join(dir, 'current')) !== path.join('releases', before.current as string));
    const afterKill = runtime.status(ref);
    remember(afterKill.process?.pid);
    expect(afterKill.serving).toBe(true);
    expect(await versionAt(port)).toBe('3.0.0');

    const again = await runtime.deploy(ref, request(artifact('3.0.0'), port));
    const stats = await poller.stop();
    expect({ failed: stats.failed, failures: stats.failures }).toEqual({ failed: 0, failures: [] });
    expect(again.changed).toBe(false);
    expect(processAlive(before.process?.pid as number)).toBe(false);
    expect(recordedProcesses().map((p) => p.pid)).toEqual([afterKill.process?.pid]);
  });

  it('stop() stops the release and the proxy; restart() brings the current release back', async () => {
    const before = runtime.status(ref);
    await runtime.stop(ref);
    expect(processAlive(before.process?.pid as number)).toBe(false);
    expect(processAlive(before.proxy.pid as number)).toBe(false);
    expect(runtime.status(ref)).toMatchObject({ serving: false, current: before.current });
    const restarted = await runtime.restart(ref, { by: 'test' });
    remember(restarted.pid, runtime.status(ref).proxy.pid);
    expect(await versionAt(port)).toBe('3.0.0');
  });
});
