/**
 * `npm run cluster` / `ados cluster up|down|status`: a real multi-service Temporal cluster on this machine, the
 * production shape of ADOS's Temporal (README, "Production deployment: a Temporal cluster").
 *
 * - PostgreSQL: Debian's server binaries (bootstrap --cluster), a data dir of its own, run as the postgres user.
 * - Schema: the server's SQL tool on the `temporal` and `temporal_visibility` databases, from the versioned schema
 *   dirs the server module ships (create, setup-schema -v 0.0, update-schema -d <dir>).
 * - Temporal Server 1.29.1 (the dev server's version), one process per service: history (one or two), matching,
 *   frontend, worker; config generated from the module's development-postgres12.yaml.
 * - The Web UI server 2.42.1 (the dev server's UI), pointed at the frontend.
 * - The `default` namespace and ADOS's search attributes.
 *
 * Everything lives under <ADOS_DATA_DIR>/cluster: pid files, logs, generated config, the PostgreSQL data. The
 * processes outlive the command (`down` stops them), so `up` is idempotent: it starts only what is not running.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import YAML from 'yaml';
import { type AdosConfig, type ClusterConfig, loadClusterConfig, loadConfig } from '../shared/node/config';
import { ensureSearchAttributes } from '../workers/search-attributes';
import { type ClusterToolchain, clusterToolchain, DEV_SERVER_DYNAMIC_CONFIG, PROJECT_ROOT, pgBinDir } from './toolchain';

/** Temporal services in start order; `history-2` is the second history process when asked for. */
export const CLUSTER_SERVICES = ['history', 'history-2', 'matching', 'frontend', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];
export type ClusterProcess = ClusterService | 'ui';
const CLUSTER_PROCESSES: readonly ClusterProcess[] = [...CLUSTER_SERVICES, 'ui'];

/** The databases the SQL tool sets up, with the schema dir each takes (under schema/postgresql/v12/). */
export const CLUSTER_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

export const CLUSTER_SQL_PLUGIN = 'postgres12';
/** History shards: fixed for the life of a cluster's database (docker-compose.yml and deploy/k8s say the same). */
export const CLUSTER_HISTORY_SHARDS = 4;
/** The PostgreSQL role Temporal connects as (trust auth on loopback: a local cluster, not a hardened one). */
const PG_USER = 'postgres';

/**
 * Dynamic config on top of the module's development-sql.yaml: the dev server's (Priority and Fairness on) plus a short
 * namespace-cache refresh, so a namespace and its search attributes are usable seconds after `up` registers them.
 */
export const CLUSTER_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number | string>> = {
  ...DEV_SERVER_DYNAMIC_CONFIG,
  'system.namespaceCacheRefreshInterval': '2s',
};

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  history2: number;
  /** Ringpop membership port of each service: its gRPC port minus 300. */
  membership: (grpcPort: number) => number;
  ui: number;
  postgres: number;
}

/** Every port from the frontend's: it and the next four, and the second history process's ten above. */
export function clusterPorts(cluster: ClusterConfig): ClusterPorts {
  const p = cluster.frontendPort;
  return {
    frontend: p,
    frontendHttp: p + 1,
    history: p + 2,
    matching: p + 3,
    worker: p + 4,
    history2: p + 12,
    membership: (grpcPort) => grpcPort - 300,
    ui: cluster.uiPort,
    postgres: cluster.postgresPort,
  };
}

export interface ClusterLayout {
  root: string;
  pgDir: string;
  pgData: string;
  pgSocketDir: string;
  configDir: string;
  uiConfigDir: string;
  logDir: string;
  pidDir: string;
  ports: ClusterPorts;
  historyProcesses: number;
  namespace: string;
}

export function clusterLayout(config: AdosConfig = loadConfig(), cluster: ClusterConfig = loadClusterConfig()): ClusterLayout {
  const root = join(resolve(PROJECT_ROOT, config.dataDir), 'cluster');
  return {
    root,
    pgDir: join(root, 'pg'),
    pgData: join(root, 'pg', 'data'),
    pgSocketDir: join(root, 'pg', 'run'),
    configDir: join(root, 'config'),
    uiConfigDir: join(root, 'ui-config'),
    logDir: join(root, 'logs'),
    pidDir: join(root, 'pids'),
    ports: clusterPorts(cluster),
    historyProcesses: cluster.historyProcesses,
    namespace: config.temporalNamespace,
  };
}

/** The services this layout runs (history-2 only with two history processes). */
export function clusterServices(layout: Pick<ClusterLayout, 'historyProcesses'>): ClusterService[] {
  return CLUSTER_SERVICES.filter((service) => service !== 'history-2' || layout.historyProcesses === 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Generated configuration (pure: unit-tested)
// ---------------------------------------------------------------------------------------------------------------

interface ServiceRpc {
  grpcPort: number;
  membershipPort: number;
  bindOnLocalHost: boolean;
  httpPort?: number;
}

/** The config env (file name) a service process starts with: history-2 differs only in its history ports. */
export function configEnvFor(service: ClusterService): string {
  return service === 'history-2' ? 'cluster-history-2' : 'cluster';
}

/**
 * The server config from the module's development-postgres12.yaml: this cluster's PostgreSQL and ports, no
 * archival, no metrics listener or pprof (one per process would clash: each service is a process of its own).
 */
export function temporalServerConfig(moduleConfigYaml: string, layout: ClusterLayout, configEnv: string): Record<string, unknown> {
  const config = YAML.parse(moduleConfigYaml) as Record<string, any>;
  const { ports } = layout;
  for (const store of Object.values(config.persistence.datastores as Record<string, { sql: Record<string, unknown> }>)) {
    store.sql.connectAddr = `127.0.0.1:${ports.postgres}`;
    store.sql.user = PG_USER;
    store.sql.password = '';
  }
  config.persistence.numHistoryShards = CLUSTER_HISTORY_SHARDS;
  config.log = { stdout: true, level: 'warn' };
  delete config.global.metrics;
  delete config.global.pprof;
  const rpc = (grpcPort: number, extra: Partial<ServiceRpc> = {}): { rpc: ServiceRpc } => ({
    rpc: { grpcPort, membershipPort: ports.membership(grpcPort), bindOnLocalHost: true, ...extra },
  });
  const historyPort = configEnv === configEnvFor('history-2') ? ports.history2 : ports.history;
  config.services = {
    frontend: rpc(ports.frontend, { httpPort: ports.frontendHttp }),
    history: rpc(historyPort),
    matching: rpc(ports.matching),
    worker: rpc(ports.worker),
  };
  config.clusterMetadata.clusterInformation.active.rpcAddress = `127.0.0.1:${ports.frontend}`;
  config.archival = { history: { state: 'disabled' }, visibility: { state: 'disabled' } };
  config.namespaceDefaults = { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } };
  config.dynamicConfigClient = { filepath: join(layout.configDir, 'dynamicconfig.yaml'), pollInterval: '10s' };
  return config;
}

/** The module's development-sql.yaml with CLUSTER_DYNAMIC_CONFIG set (dynamic config files take a list of values). */
export function clusterDynamicConfig(moduleDynamicYaml: string, values: Readonly<Record<string, boolean | number | string>> = CLUSTER_DYNAMIC_CONFIG): Record<string, unknown> {
  const config = (YAML.parse(moduleDynamicYaml) ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(values)) config[key] = [{ value, constraints: {} }];
  return config;
}

/** The Web UI server's config: the cluster's frontend, the UI's port, the namespace it opens on. */
export function uiServerConfig(layout: ClusterLayout): Record<string, unknown> {
  return {
    temporalGrpcAddress: `127.0.0.1:${layout.ports.frontend}`,
    host: '127.0.0.1',
    port: layout.ports.ui,
    publicPath: '',
    enableUi: true,
    defaultNamespace: layout.namespace,
    refreshInterval: '1m',
    notifyOnNewVersion: false,
    cors: { cookieInsecure: true, allowOrigins: [`http://localhost:${layout.ports.ui}`, `http://127.0.0.1:${layout.ports.ui}`] },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Tools and processes
// ---------------------------------------------------------------------------------------------------------------

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** [cmd, args] that run as the postgres user when we are root (PostgreSQL refuses to run as root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', PG_USER, '--', cmd, ...args]] : [cmd, args];
}

function runChecked(what: string, cmd: string, args: string[], timeoutMs = 120_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal ?? r.error?.message}):\n${output.split('\n').slice(-20).join('\n')}`);
  return output;
}

function pidFile(layout: ClusterLayout, name: ClusterProcess): string {
  return join(layout.pidDir, `${name}.pid`);
}

function logFile(layout: ClusterLayout, name: ClusterProcess | 'postgres'): string {
  return join(layout.logDir, `${name}.log`);
}

/** The pid in a pid file when that process is alive and still runs `binary` (a recycled pid does not count). */
function livePid(file: string, binary: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0')[0] === binary ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function processCommand(layout: ClusterLayout, tools: ClusterToolchain, name: ClusterProcess): [string, string[]] {
  if (name === 'ui') return [tools.ui, ['--root', layout.root, '--config', 'ui-config', '--env', 'cluster', 'start']];
  return [tools.server, ['--root', layout.root, '--config', 'config', '--env', configEnvFor(name), '--allow-no-auth', 'start', '--service', name === 'history-2' ? 'history' : name]];
}

/** The pid of a running cluster process, or undefined. */
export function processPid(layout: ClusterLayout, name: ClusterProcess, tools: ClusterToolchain = clusterToolchain()): number | undefined {
  return livePid(pidFile(layout, name), processCommand(layout, tools, name)[0]);
}

/** Starts one process detached (it outlives this command), its output appended to logs/<name>.log. */
export function startProcess(layout: ClusterLayout, name: ClusterProcess, tools: ClusterToolchain = clusterToolchain()): number {
  const running = processPid(layout, name, tools);
  if (running) return running;
  fs.mkdirSync(layout.logDir, { recursive: true });
  fs.mkdirSync(layout.pidDir, { recursive: true });
  const [cmd, args] = processCommand(layout, tools, name);
  const out = fs.openSync(logFile(layout, name), 'a');
  const child = spawn(cmd, args, { cwd: layout.root, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  if (!child.pid) throw new Error(`could not start ${name} (${cmd})`);
  child.unref();
  fs.writeFileSync(pidFile(layout, name), `${child.pid}\n`);
  return child.pid;
}

/** Sends a signal to one process; false when it was not running. */
export function signalProcess(layout: ClusterLayout, name: ClusterProcess, signal: NodeJS.Signals, tools: ClusterToolchain = clusterToolchain()): boolean {
  const pid = processPid(layout, name, tools);
  if (!pid) return false;
  process.kill(pid, signal);
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(200);
    alive = alive.filter((pid) => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')));
  }
  return alive;
}

/** Stops processes: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcesses(layout: ClusterLayout, names: ClusterProcess[], graceMs = 20_000, tools: ClusterToolchain = clusterToolchain()): Promise<ClusterProcess[]> {
  const running = names.map((name) => ({ name, pid: processPid(layout, name, tools) })).filter((p): p is { name: ClusterProcess; pid: number } => p.pid !== undefined);
  for (const { pid } of running) process.kill(pid, 'SIGTERM');
  const stubborn = await waitForExit(running.map((p) => p.pid), graceMs);
  for (const pid of stubborn) process.kill(pid, 'SIGKILL');
  await waitForExit(stubborn, 5_000);
  for (const { name } of running) fs.rmSync(pidFile(layout, name), { force: true });
  return running.map((p) => p.name);
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL and the schema
// ---------------------------------------------------------------------------------------------------------------

function postgresRunning(layout: ClusterLayout): boolean {
  const bin = pgBinDir();
  const [cmd, args] = asPostgres(join(bin, 'pg_ctl'), ['-D', layout.pgData, 'status']);
  return fs.existsSync(join(layout.pgData, 'PG_VERSION')) && spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** initdb on first use, then `pg_ctl start`, as the postgres user; a no-op when it runs. */
function startPostgres(layout: ClusterLayout): boolean {
  if (postgresRunning(layout)) return false;
  const bin = pgBinDir();
  fs.mkdirSync(layout.pgSocketDir, { recursive: true });
  fs.mkdirSync(layout.logDir, { recursive: true });
  if (isRoot()) {
    const uid = Number(runChecked('id -u postgres', 'id', ['-u', PG_USER]));
    const gid = Number(runChecked('id -g postgres', 'id', ['-g', PG_USER]));
    for (const dir of [layout.pgDir, layout.pgSocketDir]) fs.chownSync(dir, uid, gid);
    fs.closeSync(fs.openSync(logFile(layout, 'postgres'), 'a'));
    fs.chownSync(logFile(layout, 'postgres'), uid, gid);
  }
  if (!fs.existsSync(join(layout.pgData, 'PG_VERSION'))) {
    runChecked('initdb', ...asPostgres(join(bin, 'initdb'), ['-D', layout.pgData, '-U', PG_USER, '--auth=trust', '--encoding=UTF8', '--locale=C']));
    fs.appendFileSync(
      join(layout.pgData, 'postgresql.conf'),
      ['', '# ADOS cluster (deploy/cluster.ts)', "listen_addresses = '127.0.0.1'", `port = ${layout.ports.postgres}`, `unix_socket_directories = '${layout.pgSocketDir}'`, 'max_connections = 200', ''].join('\n'),
    );
  }
  runChecked('pg_ctl start', ...asPostgres(join(bin, 'pg_ctl'), ['-D', layout.pgData, '-l', logFile(layout, 'postgres'), '-w', '-t', '60', 'start']));
  return true;
}

function stopPostgres(layout: ClusterLayout): boolean {
  if (!postgresRunning(layout)) return false;
  runChecked('pg_ctl stop', ...asPostgres(join(pgBinDir(), 'pg_ctl'), ['-D', layout.pgData, 'stop', '-m', 'fast', '-w', '-t', '60']));
  return true;
}

/** The PostgreSQL URL of one of the cluster's databases (the tests read ADOS's rows from `ados`). */
export function clusterDatabaseUrl(layout: ClusterLayout, database: string): string {
  return `postgres://${PG_USER}@127.0.0.1:${layout.ports.postgres}/${database}`;
}

async function withPg<T>(layout: ClusterLayout, database: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new PgClient({ connectionString: clusterDatabaseUrl(layout, database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The SQL tool's arguments for one database, in order: create it, set up the base schema, apply every version. */
export function schemaToolSteps(moduleFiles: string, port: number, database: (typeof CLUSTER_DATABASES)[number], fresh: boolean): string[][] {
  const common = ['--plugin', CLUSTER_SQL_PLUGIN, '--ep', '127.0.0.1', '-p', String(port), '-u', PG_USER, '--db', database.name];
  const versioned = join(moduleFiles, 'schema', 'postgresql', 'v12', database.schema, 'versioned');
  return [...(fresh ? [[...common, 'create'], [...common, 'setup-schema', '-v', '0.0']] : []), [...common, 'update-schema', '-d', versioned]];
}

/** Sets up both Temporal databases (create + setup only the first time; update-schema is a no-op when current) and ADOS's. */
async function setUpSchemas(layout: ClusterLayout, tools: ClusterToolchain): Promise<string[]> {
  const done: string[] = [];
  for (const database of CLUSTER_DATABASES) {
    const exists = await withPg(layout, 'postgres', async (pg) => (await pg.query('SELECT 1 FROM pg_database WHERE datname = $1', [database.name])).rowCount === 1);
    const hasSchema = exists && (await withPg(layout, database.name, async (pg) => (await pg.query("SELECT to_regclass('schema_version') AS t")).rows[0].t !== null));
    for (const args of schemaToolSteps(tools.moduleFiles, layout.ports.postgres, database, !hasSchema)) {
      if (exists && args.at(-1) === 'create') continue;
      runChecked(`temporal-sql-tool ${args.slice(-3).join(' ')}`, tools.sqlTool, args);
    }
    done.push(database.name);
  }
  await withPg(layout, 'postgres', async (pg) => {
    if ((await pg.query("SELECT 1 FROM pg_database WHERE datname = 'ados'")).rowCount === 0) await pg.query('CREATE DATABASE ados');
  });
  return done;
}

/** Whether the `temporal` database holds the current cluster's metadata record (written by the first service to start). */
async function clusterMetadataRecorded(layout: ClusterLayout): Promise<boolean> {
  return withPg(layout, CLUSTER_DATABASES[0].name, async (pg) => (await pg.query('SELECT 1 FROM cluster_metadata_info LIMIT 1')).rowCount === 1);
}

function writeConfigs(layout: ClusterLayout, tools: ClusterToolchain): void {
  const moduleConfig = fs.readFileSync(join(tools.moduleFiles, 'config', 'development-postgres12.yaml'), 'utf8');
  const moduleDynamic = fs.readFileSync(join(tools.moduleFiles, 'config', 'dynamicconfig', 'development-sql.yaml'), 'utf8');
  fs.mkdirSync(layout.configDir, { recursive: true });
  fs.mkdirSync(layout.uiConfigDir, { recursive: true });
  const header = '# Generated by deploy/cluster.ts: do not edit (it is rewritten by every `ados cluster up`).\n';
  for (const env of new Set(clusterServices(layout).map(configEnvFor))) {
    fs.writeFileSync(join(layout.configDir, `${env}.yaml`), header + YAML.stringify(temporalServerConfig(moduleConfig, layout, env)));
  }
  fs.writeFileSync(join(layout.configDir, 'dynamicconfig.yaml'), header + YAML.stringify(clusterDynamicConfig(moduleDynamic)));
  fs.writeFileSync(join(layout.uiConfigDir, 'cluster.yaml'), header + YAML.stringify(uiServerConfig(layout)));
}

// ---------------------------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------------------------

/** Whether the frontend answers GetSystemInfo within the timeout. */
export async function frontendAnswers(layout: ClusterLayout, timeoutMs = 2_000): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: `127.0.0.1:${layout.ports.frontend}`, connectTimeout: timeoutMs });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

function httpStatus(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((done) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      done(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
    req.end();
  });
}

/** Whether the Web UI serves its page and its API reaches the cluster's namespace. */
export async function uiAnswers(layout: ClusterLayout): Promise<boolean> {
  const base = `http://127.0.0.1:${layout.ports.ui}`;
  return (await httpStatus(`${base}/`)) === 200 && (await httpStatus(`${base}/api/v1/namespaces/${encodeURIComponent(layout.namespace)}`)) === 200;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, watch: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const problem = watch();
    if (problem) throw new Error(`${what}: ${problem}`);
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

/** Registers the namespace when missing and ADOS's search attributes; waits until the frontend serves both. */
async function ensureNamespace(layout: ClusterLayout): Promise<{ namespaceCreated: boolean; searchAttributesAdded: string[] }> {
  const connection = await Connection.connect({ address: `127.0.0.1:${layout.ports.frontend}` });
  try {
    let namespaceCreated = false;
    try {
      await connection.workflowService.describeNamespace({ namespace: layout.namespace });
    } catch (error) {
      if (!/not found/i.test((error as Error).message)) throw error;
      await connection.workflowService.registerNamespace({ namespace: layout.namespace, workflowExecutionRetentionPeriod: msToTs('3 days') });
      namespaceCreated = true;
    }
    let searchAttributesAdded: string[] = [];
    // The namespace is usable once every frontend's namespace cache has it (CLUSTER_DYNAMIC_CONFIG: refreshed every 2 s).
    await waitUntil(
      `namespace ${layout.namespace}`,
      async () => {
        try {
          searchAttributesAdded = [...searchAttributesAdded, ...(await ensureSearchAttributes(connection.operatorService, layout.namespace))];
          return true;
        } catch (error) {
          if (/not found|namespace/i.test((error as Error).message)) return false;
          throw error;
        }
      },
      60_000,
      () => undefined,
    );
    return { namespaceCreated, searchAttributesAdded };
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// up / down / status
// ---------------------------------------------------------------------------------------------------------------

export interface ClusterUpReport {
  started: string[];
  alreadyRunning: string[];
  namespaceCreated: boolean;
  searchAttributesAdded: string[];
  ui: boolean;
  seconds: number;
  temporalAddress: string;
  webUiUrl: string;
  databaseUrl: string;
}

/** Brings up what is not running, in order; resolves once the frontend answers with the namespace registered. */
export async function clusterUp(layout: ClusterLayout = clusterLayout()): Promise<ClusterUpReport> {
  const t0 = performance.now();
  const tools = clusterToolchain();
  const started: string[] = [];
  const alreadyRunning: string[] = [];
  if (startPostgres(layout)) started.push('postgres');
  else alreadyRunning.push('postgres');
  await setUpSchemas(layout, tools);
  writeConfigs(layout, tools);
  const deadProcess = (services: ClusterService[] = clusterServices(layout)) => (): string | undefined => {
    const dead = services.find((service) => !processPid(layout, service, tools));
    return dead ? `${dead} exited; the end of ${logFile(layout, dead)}:\n${tail(logFile(layout, dead))}` : undefined;
  };
  const [first, ...rest] = clusterServices(layout);
  const start = (service: ClusterService) => {
    if (processPid(layout, service, tools)) alreadyRunning.push(service);
    else {
      startProcess(layout, service, tools);
      started.push(service);
    }
  };
  // On a fresh database every service writes the cluster metadata record at start-up, each with a cluster ID of its
  // own: the losers of that race exit with "failed to initialize current cluster metadata". One service writes it
  // first; the others (and every later restart) then read it.
  start(first);
  await waitUntil('the cluster metadata record', () => clusterMetadataRecorded(layout), 60_000, deadProcess([first]));
  for (const service of rest) start(service);
  await waitUntil('the frontend answering', () => frontendAnswers(layout), 120_000, deadProcess());
  const namespace = await ensureNamespace(layout);
  // A service that failed after the frontend came up would otherwise show only when a run needs it.
  const dead = deadProcess()();
  if (dead) throw new Error(`the cluster did not come up: ${dead}`);
  if (processPid(layout, 'ui', tools)) alreadyRunning.push('ui');
  else {
    startProcess(layout, 'ui', tools);
    started.push('ui');
  }
  await waitUntil('the Web UI answering', () => uiAnswers(layout), 60_000, () => (processPid(layout, 'ui', tools) ? undefined : `the UI server exited:\n${tail(logFile(layout, 'ui'))}`));
  return {
    started,
    alreadyRunning,
    ...namespace,
    ui: true,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
    temporalAddress: `127.0.0.1:${layout.ports.frontend}`,
    webUiUrl: `http://localhost:${layout.ports.ui}`,
    databaseUrl: clusterDatabaseUrl(layout, 'ados'),
  };
}

/** Stops the UI and the services (reverse start order), then PostgreSQL. Returns what it stopped. */
export async function clusterDown(layout: ClusterLayout = clusterLayout()): Promise<string[]> {
  const tools = clusterToolchain();
  const stopped: string[] = await stopProcesses(layout, [...CLUSTER_PROCESSES].reverse(), 20_000, tools);
  if (stopPostgres(layout)) stopped.push('postgres');
  return stopped;
}

export interface ClusterProcessStatus {
  name: string;
  pid?: number;
  running: boolean;
  log: string;
}

export interface ClusterStatus {
  processes: ClusterProcessStatus[];
  frontendAnswers: boolean;
  uiAnswers: boolean;
  temporalAddress: string;
  webUiUrl: string;
}

export async function clusterStatus(layout: ClusterLayout = clusterLayout()): Promise<ClusterStatus> {
  const tools = clusterToolchain();
  const processes: ClusterProcessStatus[] = [
    { name: 'postgres', running: postgresRunning(layout), log: logFile(layout, 'postgres') },
    ...CLUSTER_PROCESSES.flatMap((name) => {
      const pid = processPid(layout, name, tools);
      // A second history process left running by an earlier `up` is listed even when this layout has one.
      if (name === 'history-2' && layout.historyProcesses === 1 && pid === undefined) return [];
      return [{ name, pid, running: pid !== undefined, log: logFile(layout, name) }];
    }),
  ];
  return {
    processes,
    frontendAnswers: await frontendAnswers(layout),
    uiAnswers: await uiAnswers(layout),
    temporalAddress: `127.0.0.1:${layout.ports.frontend}`,
    webUiUrl: `http://localhost:${layout.ports.ui}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Command line: tsx deploy/cluster.ts up|down|status [--json] (what `ados cluster` runs)
// ---------------------------------------------------------------------------------------------------------------

/** Exit codes as the `ados` CLI's (shared/node/command-line.ts): 5 when the frontend does not answer. */
const EXIT_UNREACHABLE = 5;

function printUp(report: ClusterUpReport): void {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  say(`Temporal cluster up in ${report.seconds} s (started: ${report.started.join(', ') || 'nothing'}; already running: ${report.alreadyRunning.join(', ') || 'nothing'})`);
  if (report.namespaceCreated) say('  namespace registered');
  if (report.searchAttributesAdded.length > 0) say(`  search attributes registered: ${report.searchAttributesAdded.join(', ')}`);
  say(`  Temporal:    ${report.temporalAddress}`);
  say(`  Web UI:      ${report.webUiUrl}`);
  say(`  PostgreSQL:  ${report.databaseUrl} (ADOS's database)`);
  say(`Use it: export TEMPORAL_ADDRESS=${report.temporalAddress} ADOS_WEB_UI_URL=${report.webUiUrl} DATABASE_URL=${report.databaseUrl}`);
}

function printStatus(status: ClusterStatus): void {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  for (const p of status.processes) say(`${p.name.padEnd(10)} ${p.running ? `running${p.pid ? ` (pid ${p.pid})` : ''}` : 'stopped'}  ${p.log}`);
  say(`frontend   ${status.frontendAnswers ? 'answers' : 'does not answer'} on ${status.temporalAddress}`);
  say(`web ui     ${status.uiAnswers ? 'answers' : 'does not answer'} on ${status.webUiUrl}`);
}

export async function clusterMain(args: string[]): Promise<number> {
  const [command, ...flags] = args;
  const json = flags.includes('--json');
  const unknown = flags.filter((f) => f !== '--json');
  if (!['up', 'down', 'status'].includes(command ?? '') || unknown.length > 0) {
    process.stderr.write('usage: ados cluster up|down|status [--json]\n');
    return 2;
  }
  const out = (value: unknown, text: () => void) => (json ? process.stdout.write(`${JSON.stringify(value, null, 2)}\n`) : text());
  if (command === 'up') {
    const report = await clusterUp();
    out(report, () => printUp(report));
    return 0;
  }
  if (command === 'down') {
    const stopped = await clusterDown();
    out({ stopped }, () => process.stdout.write(stopped.length > 0 ? `stopped: ${stopped.join(', ')}\n` : 'the cluster was not running\n'));
    return 0;
  }
  const status = await clusterStatus();
  out(status, () => printStatus(status));
  if (!status.frontendAnswers) return EXIT_UNREACHABLE;
  return status.processes.every((p) => p.running) && status.uiAnswers ? 0 : 1;
}

if (require.main === module) {
  clusterMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`ados cluster: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
