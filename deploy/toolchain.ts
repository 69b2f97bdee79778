/**
 * The toolchain that deploy/bootstrap.mjs installed and recorded in .ados/toolchain.json: the
 * Temporal CLI (dev server), the Java time-skipping test server wrapper and PostgreSQL binaries.
 * Read by `npm start` and by the tests; a missing piece names the command that installs it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../shared/node/config';

export interface Toolchain {
  temporalCli: string;
  testServer: string;
  pgBinDir: string | null;
  toolsDir?: string;
  /** Built by `node deploy/bootstrap.mjs --cluster` (null until then). */
  cluster?: ClusterToolchain | null;
  versions?: Record<string, string | null>;
}

/** The Temporal cluster's binaries (deploy/cluster.ts) and the server module's schema and sample config, copied. */
export interface ClusterToolchain {
  server: string;
  sqlTool: string;
  ui: string;
  moduleFiles: string;
  serverVersion: string;
  uiVersion: string;
}

/** Project root: this file lives in <root>/deploy. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const TOOLCHAIN_JSON = path.join(PROJECT_ROOT, '.ados', 'toolchain.json');

/** What to run when the toolchain is missing, and where the bootstrap puts it (ADOS_TOOLS_DIR). */
function hint(): string {
  return `run \`npm run bootstrap\` first (it installs into ${loadConfig().toolsDir}; \`node deploy/bootstrap.mjs --postgres\` for PostgreSQL)`;
}

export function readToolchain(): Toolchain {
  let raw: string;
  try {
    raw = fs.readFileSync(TOOLCHAIN_JSON, 'utf8');
  } catch {
    throw new Error(`${TOOLCHAIN_JSON} not found: ${hint()}.`);
  }
  try {
    return JSON.parse(raw) as Toolchain;
  } catch (e) {
    throw new Error(`${TOOLCHAIN_JSON} is not valid JSON (${(e as Error).message}): ${hint()}.`);
  }
}

function existingExecutable(what: string, p: string | null | undefined): string {
  if (!p) throw new Error(`${what} is not recorded in ${TOOLCHAIN_JSON}: ${hint()}.`);
  try {
    fs.accessSync(p, fs.constants.X_OK);
  } catch {
    throw new Error(`${what} ${p} is missing or not executable: ${hint()}.`);
  }
  return p;
}

/** Temporal CLI (dev server) binary. */
export function temporalCliPath(): string {
  return existingExecutable('Temporal CLI', readToolchain().temporalCli);
}

/** Wrapper script that runs the Java time-skipping test server. */
export function testServerPath(): string {
  return existingExecutable('Temporal test server', readToolchain().testServer);
}

/** The Temporal server, SQL tool and Web UI server binaries that `node deploy/bootstrap.mjs --cluster` built. */
export function clusterToolchain(): ClusterToolchain {
  const tools = readToolchain().cluster;
  const build = 'run `node deploy/bootstrap.mjs --cluster` (or `npm run cluster`)';
  if (!tools) throw new Error(`the Temporal cluster tools are not recorded in ${TOOLCHAIN_JSON}: ${build} first.`);
  existingExecutable('Temporal server', tools.server);
  existingExecutable('Temporal SQL tool', tools.sqlTool);
  existingExecutable('Temporal Web UI server', tools.ui);
  return tools;
}

/** Directory with the PostgreSQL server binaries (initdb, pg_ctl, postgres). */
export function pgBinDir(): string {
  const dir = readToolchain().pgBinDir;
  if (!dir) throw new Error(`PostgreSQL binaries are not recorded in ${TOOLCHAIN_JSON}: run \`node deploy/bootstrap.mjs --postgres\` first.`);
  existingExecutable('pg_ctl', path.join(dir, 'pg_ctl'));
  return dir;
}

/**
 * Dynamic config every Temporal dev server ADOS starts runs with (README, "Priority and fairness"): Task Queue
 * Priority (`matching.useNewMatcher`) and Fairness (`matching.enableFairness`, which implies the new matcher), both
 * off by default on Server 1.29 (common/dynamicconfig/constants.go of v1.29.1). `matching.priorityLevels` keeps its
 * default of 5 (TEMPORAL_PRIORITY_LEVELS).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number | string>> = {
  'matching.useNewMatcher': true,
  'matching.enableFairness': true,
};

/** DEV_SERVER_DYNAMIC_CONFIG as `temporal server start-dev` arguments (values are JSON). */
export function devServerDynamicConfigArgs(config: Readonly<Record<string, boolean | number | string>> = DEV_SERVER_DYNAMIC_CONFIG): string[] {
  return Object.entries(config).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}
