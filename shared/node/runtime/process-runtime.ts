/**
 * The process runtime behind `deploy.process` and `ados release`: each environment of a tenant's service runs its
 * current release as a detached process on a private loopback port, behind a small ADOS-owned TCP proxy
 * (proxy.cjs) that owns the environment's public port. Everything it knows lives on disk, so workers and CLIs come
 * and go while the services keep running:
 *
 *   <root>/<tenant>/<service>/<environment>/
 *     releases/<artifact-hash>/   a copy of each deployed artifact directory
 *     current -> releases/<hash>  the release the proxy forwards to (replaced by an atomic rename)
 *     instances/<hash>.json       the running process of a release: pid, private port (the proxy reads it)
 *     instances/replicas.json     the current release's extra replicas (scale): hash and private port of each
 *     state.json                  public port, proxy pid, each release's start command and health check,
 *                                 the history, and every process started here that may still live
 *     logs/<hash>.log, logs/proxy.log
 *
 * Blue/green: the new release starts beside the old one, must pass its health check, then one rename switches new
 * connections to it; the old one drains (SIGTERM) and stops. A failed health check stops the new process and
 * leaves the old one serving. A crash at any point leaves `current` naming a release whose process runs: the next
 * deploy (or restart) stops whatever else was left running.
 *
 * Replicas (scale): more processes of the current release, each on a private port of its own; the proxy spreads new
 * connections over the release's process and its replicas, round robin. A restart keeps the replicas; a deploy or
 * rollback to another release serves it with one process (its replicas belong to the old release and stop): scale
 * again after it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputValidationError, type ValidationIssue } from '../../contract/validation';
import { copyArtifact, hashArtifactDirectory } from './artifact';
import { freeLoopbackPort, isOurProcess, loopbackPortAccepts, loopbackPortBusy, sleep, stopProcessGroup, waitUntil } from './processes';

/** One environment of one service of one tenant. */
export interface EnvironmentRef {
  tenant: string;
  service: string;
  environment: string;
}

/** How a release is started and checked. */
export interface ReleaseSpec {
  /** argv, run in the release's directory; `node` means the Node running ADOS. */
  start: string[];
  /** Variables the service gets besides PORT, HOST, PATH, HOME, LANG and TZ. */
  env: Record<string, string>;
  health: { path: string; expectStatus: number; timeoutMs: number };
  /** How long a stopped release may drain after SIGTERM before SIGKILL. */
  stopGraceMs: number;
}

export interface DeployRequest extends ReleaseSpec {
  /** The artifact directory to deploy (absolute, or relative to this process's working directory). */
  artifactDir: string;
  /** The environment's public loopback port. */
  port: number;
  /** Who deploys (recorded in the history), e.g. `delivery-acme-r1/deploy-api`. */
  deployedBy: string;
}

/** What a deploy, rollback or restart did. */
export interface SwitchResult {
  release: string;
  /** The release that served before (undefined on a first deploy). */
  previous?: string;
  /** False when the release already served (a redeploy of the same artifact): nothing was started or stopped. */
  changed: boolean;
  port: number;
  url: string;
  pid: number;
  privatePort: number;
  /** From the new process's start to the switch (health wait included), when one was started. */
  switchMs?: number;
}

export interface ProgressHooks {
  /** Called while waiting (health polls, draining), e.g. to heartbeat. */
  onProgress?: (phase: string) => void;
  signal?: AbortSignal;
}

/** A health check failed: the new release was stopped and the previous one (if any) still serves. */
export class HealthCheckFailedError extends Error {
  constructor(
    message: string,
    readonly release: string,
    readonly stillServing: string | undefined,
  ) {
    super(message);
    this.name = 'HealthCheckFailedError';
  }
}

const SEGMENT = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

const instanceSchema = z.object({ id: z.string(), hash: z.string(), pid: z.number().int(), port: z.number().int(), startedAt: z.string() });
type Instance = z.infer<typeof instanceSchema>;

const releaseSpecSchema = z.object({
  start: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  health: z.object({ path: z.string(), expectStatus: z.number().int(), timeoutMs: z.number() }),
  stopGraceMs: z.number(),
  source: z.string(),
});

const historyEntrySchema = z.object({
  at: z.string(),
  release: z.string(),
  event: z.enum(['deployed', 'failed', 'rolled-back', 'restarted', 'scaled']),
  by: z.string(),
  reason: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

const stateSchema = z.object({
  tenant: z.string(),
  service: z.string(),
  environment: z.string(),
  port: z.number().int(),
  proxy: z.object({ pid: z.number().int(), port: z.number().int() }).optional(),
  releases: z.record(z.string(), releaseSpecSchema),
  history: z.array(historyEntrySchema),
  /** Every process started here that may still live; all but the current release's are stopped on the next change. */
  processes: z.array(instanceSchema),
  /** Ids (in `processes`) of the current release's extra replicas. */
  replicas: z.array(z.string()).default([]),
});
type EnvironmentState = z.infer<typeof stateSchema>;

/** One release of an environment as `ados release list` shows it. */
export interface ReleaseRow {
  release: string;
  /** serving: current and its process runs; down: current but its process is gone; stopped; failed: never served. */
  status: 'serving' | 'down' | 'stopped' | 'failed';
  lastEvent: HistoryEntry['event'];
  at: string;
  by: string;
  reason?: string;
  pid?: number;
  privatePort?: number;
}

export interface EnvironmentStatus extends EnvironmentRef {
  port: number;
  url: string;
  current?: string;
  serving: boolean;
  proxy: { pid?: number; running: boolean };
  process?: { pid: number; privatePort: number; running: boolean };
  /** The current release's extra replicas (scale), each on its own private port. */
  replicas: Array<{ pid: number; privatePort: number; running: boolean }>;
  releases: ReleaseRow[];
}

/** What a scale did: every process serving the release now (its own first), and how many served before. */
export interface ScaleResult {
  release: string;
  previousReplicas: number;
  replicas: Array<{ pid: number; privatePort: number }>;
  url: string;
}

const PROXY_SCRIPT = path.join(__dirname, 'proxy.cjs');
const HEALTH_POLL_MS = 50;
const PROXY_START_MS = 10_000;
const LOCK_WAIT_MS = 60_000;
/** Processes per environment at most (the release's own plus its replicas). */
export const MAX_REPLICAS = 16;

const envKey = (ref: EnvironmentRef) => `${ref.tenant}/${ref.service}/${ref.environment}`;
const proxyMarker = (ref: EnvironmentRef) => `ADOS_PROXY=${envKey(ref)}`;
const instanceMarker = (instance: Pick<Instance, 'id'>) => `ADOS_INSTANCE=${instance.id}`;
const now = () => new Date().toISOString();

function writeAtomic(file: string, text: string): void {
  const temporary = `${file}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

function logTail(file: string, bytes = 1200): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes).trim();
  } catch {
    return '';
  }
}

/** The pid in a lock file; undefined when the file vanished or holds no pid. */
function lockHolder(lock: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The process runtime rooted at `root` (normally `<ADOS_DATA_DIR>/runtime`). */
export class ProcessRuntime {
  constructor(readonly root: string) {}

  /** The directory of one environment; its parts must be plain names. */
  environmentDir(ref: EnvironmentRef): string {
    const issues: ValidationIssue[] = [];
    for (const key of ['tenant', 'service', 'environment'] as const) {
      if (!SEGMENT.test(ref[key])) issues.push({ path: key, message: `"${ref[key]}" must be letters, digits, "_" or "-" (up to 63), starting with a letter or digit` });
    }
    if (issues.length > 0) throw new InputValidationError('environment', issues);
    return path.join(this.root, ref.tenant, ref.service, ref.environment);
  }

  /** Every environment with recorded state, optionally only a tenant's (and one environment name). */
  listEnvironments(filter: Partial<EnvironmentRef> = {}): EnvironmentRef[] {
    const found: EnvironmentRef[] = [];
    const dirs = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name) : []);
    for (const tenant of dirs(this.root)) {
      if (filter.tenant && tenant !== filter.tenant) continue;
      for (const service of dirs(path.join(this.root, tenant))) {
        if (filter.service && service !== filter.service) continue;
        for (const environment of dirs(path.join(this.root, tenant, service))) {
          if (filter.environment && environment !== filter.environment) continue;
          if (fs.existsSync(path.join(this.root, tenant, service, environment, 'state.json'))) found.push({ tenant, service, environment });
        }
      }
    }
    return found;
  }

  /**
   * Deploys an artifact directory blue/green. Refuses bad input (missing directory, unknown command, a port that is
   * someone else's) with the field named before anything starts. The same artifact already serving: a no-op.
   */
  async deploy(ref: EnvironmentRef, request: DeployRequest, hooks: ProgressHooks = {}): Promise<SwitchResult> {
    const dir = this.environmentDir(ref);
    const artifactDir = path.resolve(request.artifactDir);
    const issues: ValidationIssue[] = [];
    if (!fs.existsSync(artifactDir) || !fs.statSync(artifactDir).isDirectory()) {
      issues.push({ path: 'artifactDir', message: `${artifactDir} is not a directory: build the artifact first, or fix the path (relative paths are resolved from ${process.cwd()})` });
    } else if (!this.commandExists(request.start[0], artifactDir)) {
      issues.push({ path: 'start[0]', message: `"${request.start[0]}" is neither a file in the artifact directory nor a command on PATH` });
    }
    if (!request.health.path.startsWith('/')) issues.push({ path: 'health.path', message: `"${request.health.path}" must be a path starting with "/", e.g. /health` });
    issues.push(...(await this.portIssues(ref, request.port)));
    if (issues.length > 0) throw new InputValidationError(`deploy of ${envKey(ref)}`, issues);

    const hash = hashArtifactDirectory(artifactDir);
    return this.withLock(dir, async () => {
      const state = this.loadState(ref) ?? { ...ref, port: request.port, releases: {}, history: [], processes: [], replicas: [] };
      await this.reconcile(state);
      const previous = this.currentHash(dir);
      const routed = previous ? this.routedInstance(dir, previous) : undefined;
      await this.ensureProxy(state, request.port);
      if (previous === hash && routed) {
        return { release: hash, previous, changed: false, port: state.port, url: this.url(state), pid: routed.pid, privatePort: routed.port };
      }
      copyArtifact(artifactDir, path.join(dir, 'releases', hash));
      const { artifactDir: source, port: _port, deployedBy: _by, ...spec } = request;
      state.releases[hash] = { ...spec, source: source };
      this.saveState(state);
      return this.switchTo(state, hash, 'deployed', request.deployedBy, hooks);
    });
  }

  /**
   * Switches back to an earlier release (default: the newest one that served before the current), blue/green like a
   * deploy. Refused when there is none.
   */
  async rollback(ref: EnvironmentRef, options: { to?: string; by: string }, hooks: ProgressHooks = {}): Promise<SwitchResult> {
    const dir = this.environmentDir(ref);
    return this.withLock(dir, async () => {
      const state = this.requireState(ref);
      await this.reconcile(state);
      const current = this.currentHash(dir);
      const target = options.to ? this.matchRelease(state, options.to) : this.previousServed(state, current);
      if (!target) {
        throw new InputValidationError(`rollback of ${envKey(ref)}`, [
          { path: options.to ? '--to' : 'release', message: options.to ? `no release of ${envKey(ref)} starts with "${options.to}"` : `no earlier release of ${envKey(ref)} has served: nothing to roll back to` },
        ]);
      }
      if (target === current && this.routedInstance(dir, target)) {
        throw new InputValidationError(`rollback of ${envKey(ref)}`, [{ path: '--to', message: `${target.slice(0, 12)} already serves` }]);
      }
      await this.ensureProxy(state, state.port);
      return this.switchTo(state, target, 'rolled-back', options.by, hooks);
    });
  }

  /** Starts the current release afresh (blue/green: the running one serves until the new process is healthy). */
  async restart(ref: EnvironmentRef, options: { by: string }, hooks: ProgressHooks = {}): Promise<SwitchResult> {
    const dir = this.environmentDir(ref);
    return this.withLock(dir, async () => {
      const state = this.requireState(ref);
      await this.reconcile(state);
      const current = this.currentHash(dir);
      if (!current) throw new InputValidationError(`restart of ${envKey(ref)}`, [{ path: 'release', message: 'nothing has been deployed here yet' }]);
      await this.ensureProxy(state, state.port);
      return this.switchTo(state, current, 'restarted', options.by, hooks);
    });
  }

  /**
   * Runs `replicas` processes of the current release (its own and replicas - 1 more, each on a private port of its
   * own, health-checked before the proxy sends them anything); scaling down takes the newest replicas out of the
   * proxy's list first, then stops them. Refused when nothing serves here (restart it first).
   */
  async scale(ref: EnvironmentRef, options: { replicas: number; by: string }, hooks: ProgressHooks = {}): Promise<ScaleResult> {
    const dir = this.environmentDir(ref);
    if (!Number.isInteger(options.replicas) || options.replicas < 1 || options.replicas > MAX_REPLICAS) {
      throw new InputValidationError(`scale of ${envKey(ref)}`, [{ path: 'replicas', message: `a whole number from 1 to ${MAX_REPLICAS} (got ${options.replicas})` }]);
    }
    return this.withLock(dir, async () => {
      const state = this.requireState(ref);
      await this.reconcile(state);
      const current = this.currentHash(dir);
      const primary = current ? this.routedInstance(dir, current) : undefined;
      if (!current || !primary) {
        throw new InputValidationError(`scale of ${envKey(ref)}`, [{ path: 'release', message: 'no release process serves here: restart it first' }]);
      }
      const previousReplicas = 1 + state.replicas.length;
      const wanted = options.replicas - 1;
      if (wanted < state.replicas.length) {
        const leaving = state.replicas.slice(wanted);
        state.replicas = state.replicas.slice(0, wanted);
        this.writeReplicaList(state);
        const stopping = state.processes.filter((p) => leaving.includes(p.id));
        await Promise.all(stopping.map((p) => stopProcessGroup(p.pid, instanceMarker(p), this.graceOf(state, current))));
        state.processes = state.processes.filter((p) => !leaving.includes(p.id));
      }
      while (state.replicas.length < wanted) {
        const instance = await this.startInstance(state, current);
        const problem = await this.waitHealthy(state, instance, hooks);
        if (problem) {
          await stopProcessGroup(instance.pid, instanceMarker(instance), 2_000);
          state.processes = state.processes.filter((p) => p.id !== instance.id);
          this.saveState(state);
          throw new HealthCheckFailedError(`a new replica of ${current.slice(0, 12)} (${envKey(state)}) failed its health check and was stopped: ${problem}`, current, current);
        }
        state.replicas.push(instance.id);
        this.writeReplicaList(state);
      }
      if (options.replicas !== previousReplicas) {
        state.history.push({ at: now(), release: current, event: 'scaled', by: options.by, reason: `${previousReplicas} → ${options.replicas} processes` });
      }
      this.saveState(state);
      const serving = [primary, ...state.replicas.map((id) => state.processes.find((p) => p.id === id) as Instance)];
      return { release: current, previousReplicas, replicas: serving.map((p) => ({ pid: p.pid, privatePort: p.port })), url: this.url(state) };
    });
  }

  /** Stops the environment's processes and its proxy; its releases, `current` link and history stay for a restart. */
  async stop(ref: EnvironmentRef): Promise<void> {
    const dir = this.environmentDir(ref);
    await this.withLock(dir, async () => {
      const state = this.loadState(ref);
      if (!state) return;
      const grace = this.graceOf(state, this.currentHash(dir));
      await Promise.all(state.processes.map((p) => stopProcessGroup(p.pid, instanceMarker(p), grace)));
      state.processes = [];
      state.replicas = [];
      this.writeReplicaList(state);
      if (state.proxy) await stopProcessGroup(state.proxy.pid, proxyMarker(ref), 2_000);
      state.proxy = undefined;
      this.saveState(state);
    });
  }

  /** Stops every environment under the root (npm start's Ctrl-C). */
  async stopAll(): Promise<EnvironmentRef[]> {
    const environments = this.listEnvironments();
    for (const ref of environments) await this.stop(ref);
    return environments;
  }

  /** The environment now: its port, current release, whether the proxy and the release's process run, and its releases. */
  status(ref: EnvironmentRef): EnvironmentStatus {
    const dir = this.environmentDir(ref);
    const state = this.requireState(ref);
    const current = this.currentHash(dir);
    const instance = current ? this.instanceFile(dir, current) : undefined;
    const processRunning = instance ? isOurProcess(instance.pid, instanceMarker(instance)) : false;
    const proxyRunning = state.proxy ? isOurProcess(state.proxy.pid, proxyMarker(ref)) : false;
    return {
      ...ref,
      port: state.port,
      url: this.url(state),
      current,
      serving: processRunning && proxyRunning,
      proxy: { pid: state.proxy?.pid, running: proxyRunning },
      process: instance ? { pid: instance.pid, privatePort: instance.port, running: processRunning } : undefined,
      replicas: state.replicas.flatMap((id) => {
        const replica = state.processes.find((p) => p.id === id);
        return replica ? [{ pid: replica.pid, privatePort: replica.port, running: isOurProcess(replica.pid, instanceMarker(replica)) }] : [];
      }),
      releases: this.rows(state, current, instance, processRunning),
    };
  }

  /**
   * The current release's health check through the environment's public port (the proxy), as a client sees it:
   * healthy when it answers the release's expected status within `timeoutMs`.
   */
  async checkHealth(ref: EnvironmentRef, timeoutMs = 5_000): Promise<{ healthy: boolean; url: string; detail: string }> {
    const state = this.requireState(ref);
    const current = this.currentHash(this.environmentDir(ref));
    const spec = current ? state.releases[current] : undefined;
    if (!spec) return { healthy: false, url: this.url(state), detail: 'nothing has been deployed here' };
    const url = `${this.url(state)}${spec.health.path}`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
      await response.arrayBuffer();
      const healthy = response.status === spec.health.expectStatus;
      return { healthy, url, detail: `status ${response.status}${healthy ? '' : `, expected ${spec.health.expectStatus}`}` };
    } catch (error) {
      return { healthy: false, url, detail: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message };
    }
  }

  /** `ados release list`: the environment's releases, the newest event first. */
  list(ref: EnvironmentRef): ReleaseRow[] {
    return this.status(ref).releases;
  }

  private rows(state: EnvironmentState, current: string | undefined, instance: Instance | undefined, running: boolean): ReleaseRow[] {
    const latest = new Map<string, HistoryEntry>();
    for (const entry of state.history) {
      latest.delete(entry.release);
      latest.set(entry.release, entry);
    }
    const served = new Set(state.history.filter((e) => e.event !== 'failed').map((e) => e.release));
    return [...latest.values()].reverse().map((entry) => {
      const isCurrent = entry.release === current;
      const status: ReleaseRow['status'] = isCurrent ? (running ? 'serving' : 'down') : served.has(entry.release) ? 'stopped' : 'failed';
      // The newest event of the serving release may be an attempt that failed against it; the row says what serves.
      return {
        release: entry.release,
        status,
        lastEvent: entry.event,
        at: entry.at,
        by: entry.by,
        ...(entry.reason ? { reason: entry.reason } : {}),
        ...(isCurrent && instance ? { pid: instance.pid, privatePort: instance.port } : {}),
      };
    });
  }

  /** Start `hash` beside whatever serves, check its health, switch `current` to it, stop the rest. */
  private async switchTo(state: EnvironmentState, hash: string, event: HistoryEntry['event'], by: string, hooks: ProgressHooks): Promise<SwitchResult> {
    const dir = this.environmentDir(state);
    const previous = this.currentHash(dir);
    const old = previous ? this.routedInstance(dir, previous) : undefined;
    const started = Date.now();
    const instance = await this.startInstance(state, hash);
    const problem = await this.waitHealthy(state, instance, hooks);
    if (problem) {
      await stopProcessGroup(instance.pid, instanceMarker(instance), 2_000);
      state.processes = state.processes.filter((p) => p.id !== instance.id);
      const stillServing = old ? previous : undefined;
      const reason = `${problem}; ${stillServing ? `release ${stillServing.slice(0, 12)} still serves` : 'no earlier release serves here'}`;
      state.history.push({ at: now(), release: hash, event: 'failed', by, reason });
      this.saveState(state);
      throw new HealthCheckFailedError(`release ${hash.slice(0, 12)} of ${envKey(state)} failed its health check and was stopped: ${reason}`, hash, stillServing);
    }
    // The switch: one rename each. The instance file first (the proxy reads it only through `current`, except on a
    // restart in place, where this rename is the switch), then `current`.
    fs.mkdirSync(path.join(dir, 'instances'), { recursive: true });
    writeAtomic(path.join(dir, 'instances', `${hash}.json`), JSON.stringify(instance));
    if (previous !== hash) this.relinkCurrent(dir, hash);
    const switchMs = Date.now() - started;
    state.history.push({ at: now(), release: hash, event, by });
    this.saveState(state);
    hooks.onProgress?.('draining the previous release');
    await this.reconcile(state);
    return { release: hash, previous, changed: true, port: state.port, url: this.url(state), pid: instance.pid, privatePort: instance.port, switchMs };
  }

  private async startInstance(state: EnvironmentState, hash: string): Promise<Instance> {
    const dir = this.environmentDir(state);
    const spec = state.releases[hash];
    const releaseDir = path.join(dir, 'releases', hash);
    const port = await freeLoopbackPort();
    const id = randomUUID();
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    const logFd = fs.openSync(path.join(dir, 'logs', `${hash}.log`), 'a');
    const [command, ...args] = spec.start;
    const inherited = Object.fromEntries(['PATH', 'HOME', 'LANG', 'TZ'].flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
    try {
      const child = spawn(command === 'node' ? process.execPath : command, args, {
        cwd: releaseDir,
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: { ...inherited, ...spec.env, PORT: String(port), HOST: '127.0.0.1', ADOS_RELEASE: hash, ADOS_INSTANCE: id },
      });
      child.unref();
      const pid = child.pid;
      if (!pid) {
        const error = await new Promise<Error>((resolve) => child.once('error', resolve));
        throw new Error(`could not start ${spec.start.join(' ')} in ${releaseDir}: ${error.message}`);
      }
      const instance: Instance = { id, hash, pid, port, startedAt: now() };
      // Recorded before anything waits on it, so a crash from here on leaves a process the next change stops.
      state.processes.push(instance);
      this.saveState(state);
      return instance;
    } finally {
      fs.closeSync(logFd);
    }
  }

  /** Undefined once healthy; otherwise why not (what the check last saw, and the log tail if the process died). */
  private async waitHealthy(state: EnvironmentState, instance: Instance, hooks: ProgressHooks): Promise<string | undefined> {
    const { health } = state.releases[instance.hash];
    const url = `http://127.0.0.1:${instance.port}${health.path}`;
    const deadline = Date.now() + health.timeoutMs;
    let last = 'no answer yet';
    for (;;) {
      if (hooks.signal?.aborted) return 'the deploy was cancelled';
      if (!isOurProcess(instance.pid, instanceMarker(instance))) {
        const tail = logTail(path.join(this.environmentDir(state), 'logs', `${instance.hash}.log`));
        return `the process exited before it was healthy (health ${url}: ${last})${tail ? `; log tail: ${tail}` : ''}`;
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000), headers: { connection: 'close' } });
        await response.arrayBuffer();
        if (response.status === health.expectStatus) return undefined;
        last = `status ${response.status}, expected ${health.expectStatus}`;
      } catch (error) {
        last = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      }
      hooks.onProgress?.(`waiting for ${url}`);
      if (Date.now() > deadline) return `health check GET ${url} failed for ${health.timeoutMs / 1000} s (last: ${last})`;
      await sleep(HEALTH_POLL_MS);
    }
  }

  /**
   * Stops every recorded process except the one `current` routes to and the current release's replicas, and forgets
   * the dead (a replica that died leaves the proxy's list).
   */
  private async reconcile(state: EnvironmentState): Promise<void> {
    const dir = this.environmentDir(state);
    const current = this.currentHash(dir);
    const routed = current ? this.instanceFile(dir, current) : undefined;
    const kept = (p: Instance) => p.id === routed?.id || (p.hash === current && state.replicas.includes(p.id));
    const strays = state.processes.filter((p) => !kept(p));
    await Promise.all(strays.map((p) => stopProcessGroup(p.pid, instanceMarker(p), this.graceOf(state, p.hash))));
    state.processes = state.processes.filter((p) => kept(p) && isOurProcess(p.pid, instanceMarker(p)));
    const replicas = state.replicas.filter((id) => state.processes.some((p) => p.id === id));
    if (replicas.length !== state.replicas.length) {
      state.replicas = replicas;
      this.writeReplicaList(state);
    }
    this.saveState(state);
  }

  /** The proxy's list of the current release's replicas (one rename, like every switch). */
  private writeReplicaList(state: EnvironmentState): void {
    const dir = this.environmentDir(state);
    const list = state.replicas.flatMap((id) => state.processes.filter((p) => p.id === id).map((p) => ({ hash: p.hash, port: p.port })));
    fs.mkdirSync(path.join(dir, 'instances'), { recursive: true });
    writeAtomic(path.join(dir, 'instances', 'replicas.json'), JSON.stringify(list));
  }

  /** The proxy runs on `port`: kept if it already does, started otherwise (and an old one on another port stopped). */
  private async ensureProxy(state: EnvironmentState, port: number): Promise<void> {
    const marker = proxyMarker(state);
    const running = state.proxy && isOurProcess(state.proxy.pid, marker);
    if (running && state.proxy?.port === port) return;
    const dir = this.environmentDir(state);
    fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
    const logFile = path.join(dir, 'logs', 'proxy.log');
    const logFd = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [PROXY_SCRIPT, dir, String(port)], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { PATH: process.env.PATH ?? '', ADOS_PROXY: envKey(state) },
    });
    fs.closeSync(logFd);
    child.unref();
    const pid = child.pid ?? 0;
    // Connect only: a bind probe here could hold the port at the moment the proxy tries to listen.
    const up = await waitUntil(async () => !isOurProcess(pid, marker) || (await loopbackPortAccepts(port)), PROXY_START_MS);
    if (!up || !isOurProcess(pid, marker)) {
      throw new Error(`the proxy of ${envKey(state)} did not start on 127.0.0.1:${port}: ${logTail(logFile, 400) || 'no output'}`);
    }
    if (running && state.proxy) await stopProcessGroup(state.proxy.pid, marker, 2_000);
    state.proxy = { pid, port };
    state.port = port;
    this.saveState(state);
  }

  /** Problems with using `port` for this environment: another environment's, or held by a process that is not ours. */
  private async portIssues(ref: EnvironmentRef, port: number): Promise<ValidationIssue[]> {
    const key = envKey(ref);
    for (const other of this.listEnvironments()) {
      if (envKey(other) === key) continue;
      const otherState = this.loadState(other);
      if (otherState && otherState.port === port) {
        return [{ path: 'port', message: `${port} is already the port of ${envKey(other)}: give each environment its own port` }];
      }
    }
    const state = this.loadState(ref);
    const ours = state?.proxy?.port === port && isOurProcess(state.proxy.pid, proxyMarker(ref));
    if (!ours && (await loopbackPortBusy(port))) {
      return [{ path: 'port', message: `127.0.0.1:${port} is in use by another process (not ADOS's proxy for ${key}): stop it or choose another port` }];
    }
    return [];
  }

  private commandExists(command: string | undefined, artifactDir: string): boolean {
    if (!command) return false;
    if (command === 'node') return true;
    if (command.includes('/')) return fs.existsSync(path.resolve(artifactDir, command));
    return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
  }

  private relinkCurrent(dir: string, hash: string): void {
    const temporary = path.join(dir, `current.tmp-${process.pid}-${randomUUID().slice(0, 8)}`);
    fs.symlinkSync(path.join('releases', hash), temporary);
    fs.renameSync(temporary, path.join(dir, 'current'));
  }

  private currentHash(dir: string): string | undefined {
    try {
      return path.basename(fs.readlinkSync(path.join(dir, 'current')));
    } catch {
      return undefined;
    }
  }

  private instanceFile(dir: string, hash: string): Instance | undefined {
    try {
      return instanceSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'instances', `${hash}.json`), 'utf8')));
    } catch {
      return undefined;
    }
  }

  /** The instance `current` routes to, when its process runs. */
  private routedInstance(dir: string, hash: string): Instance | undefined {
    const instance = this.instanceFile(dir, hash);
    return instance && isOurProcess(instance.pid, instanceMarker(instance)) ? instance : undefined;
  }

  private previousServed(state: EnvironmentState, current: string | undefined): string | undefined {
    for (let i = state.history.length - 1; i >= 0; i--) {
      const entry = state.history[i];
      if (entry.event !== 'failed' && entry.release !== current) return entry.release;
    }
    return undefined;
  }

  private matchRelease(state: EnvironmentState, prefix: string): string | undefined {
    const matches = Object.keys(state.releases).filter((hash) => hash.startsWith(prefix));
    return matches.length === 1 ? matches[0] : undefined;
  }

  private graceOf(state: EnvironmentState, hash: string | undefined): number {
    return (hash && state.releases[hash]?.stopGraceMs) || 10_000;
  }

  private url(state: Pick<EnvironmentState, 'port'>): string {
    return `http://127.0.0.1:${state.port}`;
  }

  private loadState(ref: EnvironmentRef): EnvironmentState | undefined {
    const file = path.join(this.environmentDir(ref), 'state.json');
    if (!fs.existsSync(file)) return undefined;
    return stateSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  }

  private requireState(ref: EnvironmentRef): EnvironmentState {
    const state = this.loadState(ref);
    if (!state) throw new InputValidationError('environment', [{ path: 'environment', message: `nothing has been deployed to ${envKey(ref)} (runtime ${this.root})` }]);
    return state;
  }

  private saveState(state: EnvironmentState): void {
    const dir = this.environmentDir(state);
    fs.mkdirSync(dir, { recursive: true });
    writeAtomic(path.join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  }

  /** One change at a time per environment; a lock left by a dead process is taken over. */
  private async withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    fs.mkdirSync(dir, { recursive: true });
    const lock = path.join(dir, 'lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch {
        const holder = lockHolder(lock);
        if (holder === undefined || !processExists(holder)) fs.rmSync(lock, { force: true });
        else if (Date.now() > deadline) throw new Error(`${dir} is locked by process ${holder} (another deploy); try again when it has finished`);
        else await sleep(100);
      }
    }
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
