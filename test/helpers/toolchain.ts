/**
 * Test helpers for the local toolchain set up by `deploy/bootstrap.mjs` (recorded in `.ados/toolchain.json`).
 *
 * Every Temporal environment here is started from an existing binary (`executable.type = 'existing-path'`):
 * the SDK's default would download a server at run time, which this project never does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LocalTestWorkflowEnvironmentOptions, TimeSkippingTestWorkflowEnvironmentOptions } from '@temporalio/testing';

export interface Toolchain {
  temporalCli: string;
  testServer: string;
  pgBinDir: string | null;
  toolsDir?: string;
  versions?: Record<string, string | null>;
}

/** Project root: this file lives in <root>/test/helpers. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLCHAIN_JSON = path.join(PROJECT_ROOT, '.ados', 'toolchain.json');

const HINT = 'run `npm run bootstrap` first (`node deploy/bootstrap.mjs --postgres` for PostgreSQL)';

export function readToolchain(): Toolchain {
  let raw: string;
  try {
    raw = fs.readFileSync(TOOLCHAIN_JSON, 'utf8');
  } catch {
    throw new Error(`${TOOLCHAIN_JSON} not found: ${HINT}.`);
  }
  try {
    return JSON.parse(raw) as Toolchain;
  } catch (e) {
    throw new Error(`${TOOLCHAIN_JSON} is not valid JSON (${(e as Error).message}): ${HINT}.`);
  }
}

function existingExecutable(what: string, p: string | null | undefined): string {
  if (!p) throw new Error(`${what} is not recorded in ${TOOLCHAIN_JSON}: ${HINT}.`);
  try {
    fs.accessSync(p, fs.constants.X_OK);
  } catch {
    throw new Error(`${what} ${p} is missing or not executable: ${HINT}.`);
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

/** Directory with the PostgreSQL server binaries (initdb, pg_ctl, postgres). */
export function pgBinDir(): string {
  const dir = readToolchain().pgBinDir;
  if (!dir) throw new Error(`PostgreSQL binaries are not recorded in ${TOOLCHAIN_JSON}: run \`node deploy/bootstrap.mjs --postgres\` first.`);
  existingExecutable('pg_ctl', path.join(dir, 'pg_ctl'));
  return dir;
}

type DevServerOptions = Omit<NonNullable<LocalTestWorkflowEnvironmentOptions['server']>, 'executable'>;

export type DevServerEnvOptions = Omit<LocalTestWorkflowEnvironmentOptions, 'server'> & {
  /** Dev-server options (namespace, searchAttributes, ui, uiPort, dbFilename, log, extraArgs, ...). */
  server?: DevServerOptions;
  /** Shorthand for `server.searchAttributes`. */
  searchAttributes?: DevServerOptions['searchAttributes'];
};

/** Starts a real Temporal dev server (the pinned CLI) for a test; call `env.teardown()` when done. */
export async function createDevServerEnv(opts: DevServerEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  const { server, searchAttributes, ...rest } = opts;
  return TestWorkflowEnvironment.createLocal({
    ...rest,
    server: {
      ...server,
      ...(searchAttributes ? { searchAttributes } : {}),
      executable: { type: 'existing-path', path: temporalCliPath() },
    },
  });
}

type TimeSkippingServerOptions = Omit<NonNullable<TimeSkippingTestWorkflowEnvironmentOptions['server']>, 'executable'>;

export type TimeSkippingEnvOptions = Omit<TimeSkippingTestWorkflowEnvironmentOptions, 'server'> & {
  server?: TimeSkippingServerOptions;
  /** Attempts before giving up (a JVM on a busy machine can miss the SDK's 5 s start-up window). Default 3. */
  attempts?: number;
};

/** Starts the Java time-skipping test server for a test; call `env.teardown()` when done. */
export async function createTimeSkippingEnv(opts: TimeSkippingEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  const { server, attempts = 3, ...rest } = opts;
  const executablePath = testServerPath();
  const errors: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        ...rest,
        server: { ...server, executable: { type: 'existing-path', path: executablePath } },
      });
    } catch (e) {
      errors.push(`attempt ${attempt}: ${(e as Error)?.message ?? String(e)}`);
      if (attempt < attempts) await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  throw new Error(`time-skipping test server (${executablePath}) did not start after ${attempts} attempts:\n${errors.join('\n')}`);
}
