import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_TASK_QUEUE_PREFIX } from '../contract/task-queues';
import { DEFAULT_BACKPRESSURE_THRESHOLDS, type BackpressureThresholds } from '../contract/tenancy/backpressure';
import { TENANT_ID_PATTERN } from '../contract/workflow-ids';
import { DEFAULT_HTTP_ALLOWED_HOSTS, parseAllowedHosts } from './http/allowed-hosts';

/** A whole number from `min` to `max` given as decimal digits, e.g. a port. */
function wholeNumber(min: number, max: number, what: string) {
  return z
    .string()
    .regex(/^\d+$/, `must be ${what}: a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `must be ${what}: a whole number from ${min} to ${max}`);
}

/**
 * Process configuration, parsed once from environment variables. A bad value stops start-up with
 * a message naming the variable and what it accepts.
 */
const envSchema = z.object({
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a Temporal namespace name, e.g. default')
    .default('default'),
  DATABASE_URL: z
    .string()
    .regex(
      /^(postgres(ql)?:\/\/.+|pglite:.*)$/,
      'must be postgres://user@host:port/db, or pglite:<dir> for an embedded database in this process',
    )
    .optional(),
  ADOS_TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "_" or "-", e.g. ados')
    .default(DEFAULT_TASK_QUEUE_PREFIX),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  ADOS_DATA_DIR: z.string().min(1).default('.ados'),
  ADOS_WEB_UI_URL: z.url('must be a URL, e.g. http://localhost:8233').default('http://localhost:8233'),
  ADOS_WORKER_SHUTDOWN_GRACE: z
    .string()
    .regex(/^\d+(ms|s|m)$/, 'must be a duration such as 30s')
    .default('30s'),
  ADOS_EMBEDDED_DB_PORT: wholeNumber(1, 65535, 'a TCP port').default(55432),
  ADOS_SAMPLE_RUN: z.enum(['0', '1'], 'must be 1 (start the sample run) or 0 (skip it)').default('1'),
  // deploy/bootstrap.mjs reads ADOS_TOOLS_DIR itself (it is plain Node and runs before node_modules exist), with the
  // same default; TypeScript code reads it here.
  ADOS_TOOLS_DIR: z.string().default(join(homedir(), '.cache', 'ados', 'tools')),
  ADOS_WORKSPACE_DIR: z.string().min(1).optional(),
  ADOS_CAPABILITY_MODULES: z
    .string()
    .transform((text) => text.split(',').map((entry) => entry.trim()).filter(Boolean))
    .default([]),
  ADOS_METRICS_PORT: wholeNumber(0, 65535, 'a TCP port (0: any free port, logged at start)').optional(),
  ADOS_METRICS_HOST: z.string().regex(/^[^\s:/]+$/, 'must be an IP address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  ADOS_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  ADOS_KUBE_CONTEXT: z.string().regex(/^[^\s]+$/, 'must be a kubectl context name (kubectl config get-contexts)').optional(),
  ADOS_KUBECTL: z.string().min(1).default('kubectl'),
  ADOS_EXEC_LAUNCHER: z
    .string()
    .refine((value) => value === 'auto' || value === 'node' || value.startsWith('/'), 'must be auto, node, or the absolute path of an ados-spawner binary')
    .default('auto'),
  ADOS_HTTP_ALLOWED_HOSTS: z
    .string()
    .default(DEFAULT_HTTP_ALLOWED_HOSTS)
    .transform((list, ctx) => {
      const { entries, problems } = parseAllowedHosts(list);
      for (const problem of problems) ctx.addIssue({ code: 'custom', message: `${problem} (a comma-separated list of IPs, CIDR ranges, host names, *.domain or *)` });
      return entries;
    }),
});

export interface AdosConfig {
  temporalAddress: string;
  temporalNamespace: string;
  databaseUrl?: string;
  taskQueuePrefix: string;
  logLevel: z.output<typeof envSchema>['LOG_LEVEL'];
  dataDir: string;
  webUiUrl: string;
  workerShutdownGrace: string;
  /** npm start's embedded PostgreSQL (PGlite) port. */
  embeddedDbPort: number;
  /** Whether npm start starts the sample delivery run. */
  sampleRun: boolean;
  /** Where deploy/bootstrap.mjs caches the Temporal CLI and the test server (absolute). */
  toolsDir: string;
  /** Root of the capability attempts' workspaces (absolute; default <dataDir>/workspaces). */
  workspaceDir: string;
  /** Plugin capability modules every capability worker loads (comma list), besides its --capability-module flags. */
  capabilityModules: string[];
  /** The worker's Prometheus endpoint port (workers/metrics.ts; 0: any free port); unset: no endpoint. */
  metricsPort?: number;
  /** The address the metrics endpoint listens on (default loopback). */
  metricsHost: string;
  /** A workflow bundle prebuilt by `npm run build:workflows` (absolute) that the control worker loads; unset: bundle at start. */
  workflowBundle?: string;
  /** The kubectl context deploy.kubernetes applies to; unset: deploy.kubernetes is refused. */
  kubeContext?: string;
  /** The kubectl program deploy.kubernetes runs. */
  kubectl: string;
  /** Hosts the `http` capability, the monitor's scrapes and notification webhooks may call (shared/node/http/allowed-hosts.ts; default loopback only). */
  httpAllowedHosts: string[];
  /** How exec starts commands (shared/node/process/spawner.ts): auto, node, or an ados-spawner binary's path. */
  execLauncher: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the variables `schema` knows; empty ones count as unset, as shells make them easily. */
function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0])}=${JSON.stringify(present[String(issue.path[0])] ?? '')}: ${issue.message}`),
    );
  }
  return parsed.data;
}

export function loadConfig(env: Record<string, string | undefined> = process.env): AdosConfig {
  const e = parseEnv(envSchema, env);
  return {
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalNamespace: e.TEMPORAL_NAMESPACE,
    databaseUrl: e.DATABASE_URL,
    taskQueuePrefix: e.ADOS_TASK_QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    dataDir: e.ADOS_DATA_DIR,
    webUiUrl: e.ADOS_WEB_UI_URL.replace(/\/$/, ''),
    workerShutdownGrace: e.ADOS_WORKER_SHUTDOWN_GRACE,
    embeddedDbPort: e.ADOS_EMBEDDED_DB_PORT,
    sampleRun: e.ADOS_SAMPLE_RUN === '1',
    toolsDir: resolve(e.ADOS_TOOLS_DIR),
    workspaceDir: resolve(e.ADOS_WORKSPACE_DIR ?? join(e.ADOS_DATA_DIR, 'workspaces')),
    capabilityModules: e.ADOS_CAPABILITY_MODULES,
    metricsPort: e.ADOS_METRICS_PORT,
    metricsHost: e.ADOS_METRICS_HOST,
    workflowBundle: e.ADOS_WORKFLOW_BUNDLE === undefined ? undefined : resolve(e.ADOS_WORKFLOW_BUNDLE),
    kubeContext: e.ADOS_KUBE_CONTEXT,
    kubectl: e.ADOS_KUBECTL,
    httpAllowedHosts: e.ADOS_HTTP_ALLOWED_HOSTS,
    execLauncher: e.ADOS_EXEC_LAUNCHER,
  };
}

/** The benchmarks' own knobs (`npm run bench`, bench/), apart from the configuration of ADOS itself. */
const benchEnvSchema = z.object({
  ADOS_BENCH_DATABASE: z.enum(['pglite', 'postgres'], 'must be pglite or postgres').optional(),
  ADOS_BENCH_REPEATS: wholeNumber(1, 1000, 'a number of runs').default(7),
  ADOS_BENCH_FAILOVER_KILLS: wholeNumber(1, 1000, 'a number of kills').default(20),
});

export interface BenchConfig {
  /** The database a benchmark runs on; unset: PostgreSQL when there is one, else PGlite (bench/lib/database.ts). */
  database?: 'pglite' | 'postgres';
  /** Runs of each side in the routing-overhead benchmark. */
  repeats: number;
  /** Worker kills in the failover-latency benchmark. */
  failoverKills: number;
}

export function loadBenchConfig(env: Record<string, string | undefined> = process.env): BenchConfig {
  const e = parseEnv(benchEnvSchema, env);
  return { database: e.ADOS_BENCH_DATABASE, repeats: e.ADOS_BENCH_REPEATS, failoverKills: e.ADOS_BENCH_FAILOVER_KILLS };
}

const nabEnvSchema = z.object({
  ADOS_NAB_DATA_DIR: z.string().min(1, 'must be a directory holding NAB\'s data/ and labels/').optional(),
});

/** The project's root: shared/node/ sits two levels below it. */
const PROJECT_ROOT = resolve(__dirname, '..', '..');

/** `shared/data/nab` in each directory from `start` up to the filesystem root, nearest first. */
function nabCandidatesAbove(start: string): string[] {
  const candidates: string[] = [];
  for (let dir = resolve(start); ; dir = resolve(dir, '..')) {
    candidates.push(join(dir, 'shared', 'data', 'nab'));
    if (dir === resolve(dir, '..')) return candidates;
  }
}

/**
 * The labeled NAB subset the anomaly tests, benchmarks and transfer domains read in place (never copied into the
 * project): ADOS_NAB_DATA_DIR, else the `shared/data/nab` handed to the team beside the project (`../shared`), looked
 * for in every directory above the project and, for a clone (CI checks out a clone), above the repository it was
 * cloned from. None there: a ConfigError naming ADOS_NAB_DATA_DIR.
 */
export function loadNabDataDir(env: Record<string, string | undefined> = process.env, exists: (path: string) => boolean = isNabDir): string {
  const e = parseEnv(nabEnvSchema, env);
  if (e.ADOS_NAB_DATA_DIR !== undefined) return resolve(e.ADOS_NAB_DATA_DIR);
  const origin = cloneOrigin(PROJECT_ROOT);
  const candidates = [...nabCandidatesAbove(join(PROJECT_ROOT, '..')), ...(origin ? nabCandidatesAbove(join(origin, '..')) : [])];
  const found = candidates.find(exists);
  if (found) return found;
  throw new ConfigError([`ADOS_NAB_DATA_DIR: unset, and no shared/data/nab beside the project or above it (looked in ${candidates[0]}); set it to the NAB subset's directory (data/ and labels/)`]);
}

function isNabDir(path: string): boolean {
  return existsSync(join(path, 'labels', 'combined_windows.json'));
}

/** The local path a git clone was made from (remote "origin"), if the project is such a clone. */
function cloneOrigin(root: string): string | undefined {
  try {
    const config = readFileSync(join(root, '.git', 'config'), 'utf8');
    const url = /\[remote "origin"\][^[]*?url\s*=\s*(\S+)/.exec(config)?.[1];
    return url && url.startsWith('/') ? url.replace(/\/\.git$/, '') : undefined;
  } catch {
    return undefined;
  }
}

/** How ADOS connects to a secured Temporal cluster (README, "Production deployment: a Temporal cluster"). */
const temporalSecurityEnvSchema = z.object({
  TEMPORAL_TLS: z.enum(['0', '1'], 'must be 1 (TLS) or 0 (plaintext); unset: TLS when any TEMPORAL_TLS_* or TEMPORAL_API_KEY is set').optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a host name, e.g. temporal.example.com').optional(),
  TEMPORAL_API_KEY: z.string().regex(/^\S+$/, 'must be the API key itself (no spaces or line breaks)').optional(),
});

export interface TemporalSecurityConfig {
  /** Whether the connection uses TLS. */
  tls: boolean;
  /** PEM files of the client certificate and its private key (mTLS): both or neither. */
  clientCertPath?: string;
  clientKeyPath?: string;
  /** PEM file of the CA that signed the server's certificate; unset: the system's roots. */
  caPath?: string;
  /** The name the server's certificate is checked against, when it differs from the address's host. */
  serverName?: string;
  /** Sent as `Authorization: Bearer <key>` (Temporal Cloud API keys). */
  apiKey?: string;
}

/** TEMPORAL_TLS_* and TEMPORAL_API_KEY; a half-made setup (a certificate without its key, TLS files with TEMPORAL_TLS=0) is refused. */
export function loadTemporalSecurityConfig(env: Record<string, string | undefined> = process.env): TemporalSecurityConfig {
  const e = parseEnv(temporalSecurityEnvSchema, env);
  const problems: string[] = [];
  if (e.TEMPORAL_TLS_CERT && !e.TEMPORAL_TLS_KEY) {
    problems.push('TEMPORAL_TLS_KEY="": must be set when TEMPORAL_TLS_CERT is (mTLS needs the client certificate and its private key): set it to the key\'s PEM file, or unset TEMPORAL_TLS_CERT');
  }
  if (e.TEMPORAL_TLS_KEY && !e.TEMPORAL_TLS_CERT) {
    problems.push('TEMPORAL_TLS_CERT="": must be set when TEMPORAL_TLS_KEY is (mTLS needs the client certificate and its private key): set it to the certificate\'s PEM file, or unset TEMPORAL_TLS_KEY');
  }
  const tlsSettings = (['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const).filter((key) => e[key] !== undefined);
  if (e.TEMPORAL_TLS === '0' && tlsSettings.length > 0) {
    problems.push(`TEMPORAL_TLS="0": contradicts ${tlsSettings.join(', ')}, which need TLS: unset TEMPORAL_TLS (or set it to 1), or unset those`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    tls: e.TEMPORAL_TLS === '1' || tlsSettings.length > 0,
    clientCertPath: e.TEMPORAL_TLS_CERT,
    clientKeyPath: e.TEMPORAL_TLS_KEY,
    caPath: e.TEMPORAL_TLS_CA,
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
    apiKey: e.TEMPORAL_API_KEY,
  };
}

/** `ados cluster` (deploy/cluster.ts): where the local Temporal cluster listens and how many history processes it runs. */
const clusterEnvSchema = z.object({
  ADOS_CLUSTER_FRONTEND_PORT: wholeNumber(1025, 65000, 'a TCP port (the other services take the next few)').default(7243),
  ADOS_CLUSTER_UI_PORT: wholeNumber(1, 65535, 'a TCP port').default(8243),
  ADOS_CLUSTER_PG_PORT: wholeNumber(1, 65535, 'a TCP port').default(55433),
  ADOS_CLUSTER_HISTORY_PROCESSES: z.enum(['1', '2'], 'must be 1 or 2 (history service processes)').default('2').transform(Number),
});

export interface ClusterConfig {
  /** The frontend's gRPC port; the frontend's HTTP port, history, matching and worker take the next ones. */
  frontendPort: number;
  uiPort: number;
  /** The cluster's own PostgreSQL server (Debian's binaries, run as the postgres user). */
  postgresPort: number;
  historyProcesses: number;
}

export function loadClusterConfig(env: Record<string, string | undefined> = process.env): ClusterConfig {
  const e = parseEnv(clusterEnvSchema, env);
  return { frontendPort: e.ADOS_CLUSTER_FRONTEND_PORT, uiPort: e.ADOS_CLUSTER_UI_PORT, postgresPort: e.ADOS_CLUSTER_PG_PORT, historyProcesses: e.ADOS_CLUSTER_HISTORY_PROCESSES };
}

/** The CLI's tenant scope and admission rule (README, "Tenants"). */
const tenancyEnvSchema = z.object({
  ADOS_TENANT: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id: lowercase letters, digits and "_" (no dash)').optional(),
  ADOS_REQUIRE_TENANTS: z.enum(['0', '1'], 'must be 1 (refuse runs of tenants nobody created) or 0 (create them with the default profile)').default('0'),
});

export interface TenancyConfig {
  /** The tenant a command reads, signals or starts for when it has no --tenant. */
  tenant?: string;
  /** Refuse runs of tenants that `ados tenant create` did not create, instead of creating them with the default profile. */
  requireTenants: boolean;
}

export function loadTenancyConfig(env: Record<string, string | undefined> = process.env): TenancyConfig {
  const e = parseEnv(tenancyEnvSchema, env);
  return { tenant: e.ADOS_TENANT, requireTenants: e.ADOS_REQUIRE_TENANTS === '1' };
}

/** Three ascending thresholds "warning,critical,overload", e.g. "100,400,1000". */
const thresholdLadder = (what: string) =>
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*,\s*\d+(\.\d+)?\s*,\s*\d+(\.\d+)?\s*$/, `must be three ${what} "warning,critical,overload", e.g. ${what === 'task counts' ? '100,400,1000' : '30,90,300'}`)
    .transform((text) => text.split(',').map(Number) as [number, number, number])
    .refine(([w, c, o]) => w > 0 && w < c && c < o, 'must rise strictly, above 0: warning < critical < overload');

/** Backpressure thresholds (README, "Backpressure"), read by admission and by the control worker. */
const backpressureEnvSchema = z.object({
  ADOS_BACKPRESSURE_BACKLOG: thresholdLadder('task counts').optional(),
  ADOS_BACKPRESSURE_AGE_SECONDS: thresholdLadder('ages in seconds').optional(),
  ADOS_BACKPRESSURE_RETRY_AFTER_SECONDS: wholeNumber(1, 3600, 'a number of seconds').optional(),
});

/** The thresholds in force: each variable given replaces its default (DEFAULT_BACKPRESSURE_THRESHOLDS). */
export function loadBackpressureConfig(env: Record<string, string | undefined> = process.env): BackpressureThresholds {
  const e = parseEnv(backpressureEnvSchema, env);
  const ladder = ([warning, critical, overload]: [number, number, number]) => ({ warning, critical, overload });
  return {
    backlog: e.ADOS_BACKPRESSURE_BACKLOG ? ladder(e.ADOS_BACKPRESSURE_BACKLOG) : { ...DEFAULT_BACKPRESSURE_THRESHOLDS.backlog },
    ageSeconds: e.ADOS_BACKPRESSURE_AGE_SECONDS ? ladder(e.ADOS_BACKPRESSURE_AGE_SECONDS) : { ...DEFAULT_BACKPRESSURE_THRESHOLDS.ageSeconds },
    retryAfterSeconds: e.ADOS_BACKPRESSURE_RETRY_AFTER_SECONDS ?? DEFAULT_BACKPRESSURE_THRESHOLDS.retryAfterSeconds,
  };
}

/** The link to one workflow in the Temporal Web UI. */
export function webUiWorkflowUrl(config: Pick<AdosConfig, 'webUiUrl' | 'temporalNamespace'>, workflowId: string): string {
  return `${config.webUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
