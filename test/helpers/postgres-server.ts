/**
 * A real, throw-away PostgreSQL server for tests (binaries from `.ados/toolchain.json`, installed by
 * `node deploy/bootstrap.mjs --postgres`).
 *
 * - Data under `<project>/.ados/pg/<random>` (git-ignored), trust auth, listening on 127.0.0.1 only, on a free port,
 *   with durability switched off for speed (fsync, synchronous_commit, full_page_writes).
 * - PostgreSQL refuses to run as root: as root the dir is chowned to `postgres` and initdb/pg_ctl run as that user.
 * - A crashed or killed test run does not leave the server behind: an exit handler stops it, a detached watchdog stops
 *   it once this process is gone (even after SIGKILL), and the next start sweeps dirs whose owner process is dead.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT, pgBinDir } from './toolchain';

export interface PostgresServer {
  /** URL of the `ados_test` database (or the database named in the options). */
  url: string;
  /** URL of the `postgres` maintenance database, for createDatabase(). */
  adminUrl: string;
  port: number;
  dataDir: string;
  /** Stops the server (`pg_ctl stop -m fast`) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Database created at start, default `ados_test`. */
  database?: string;
}

const PG_ROOT = path.join(PROJECT_ROOT, '.ados', 'pg');
const SUPERUSER = 'postgres';
const OWNER_FILE = 'owner.json';
/** Unix socket paths are limited to ~107 bytes. */
const MAX_SOCKET_DIR = 90;

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

interface PgUser {
  uid: number;
  gid: number;
}

function postgresUser(): PgUser {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root but there is no `postgres` OS user to run PostgreSQL as: run `node deploy/bootstrap.mjs --postgres` (installs the postgresql package).');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** [cmd, args] that run `cmd args` as the postgres user when we are root, else as ourselves. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (!isRoot()) return [cmd, args];
  if (hasCommand('runuser')) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  return ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map(shQuote).join(' ')]];
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  const [c, a] = asPostgres(cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(c, a, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer): void => {
      output = (output + d.toString()).slice(-8000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // Resolve on exit (not close): a daemon started by pg_ctl must not be able to hold us up through a shared pipe.
    child.on('exit', (code) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, output }));
    });
  });
}

function runSync(cmd: string, args: string[], cwd: string): void {
  const [c, a] = asPostgres(cmd, args);
  spawnSync(c, a, { cwd, stdio: 'ignore', timeout: 30_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Stops servers left behind by test processes that died, and removes their dirs. */
function sweepStale(bin: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(PG_ROOT);
  } catch {
    return;
  }
  for (const name of entries) {
    const base = path.join(PG_ROOT, name);
    let owner: { pid?: number } | null = null;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(base, OWNER_FILE), 'utf8'));
    } catch {
      // No owner file: still being set up by a live process, or a half-made dir. Leave young ones alone.
      try {
        if (Date.now() - fs.statSync(base).mtimeMs < 10 * 60_000) continue;
      } catch {
        continue;
      }
    }
    if (owner?.pid && alive(owner.pid)) continue;
    const dataDir = path.join(base, 'data');
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) runSync(path.join(bin, 'pg_ctl'), ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20'], base);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function urlFor(port: number, database: string): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Creates a fresh database (dropping one of that name first) and returns its URL. Tests isolate by database. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!DB_NAME.test(name)) throw new Error(`invalid database name ${JSON.stringify(name)} (letters, digits, _; max 63)`);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A unique database name for a test, e.g. `t_ledger_k3x9q2`. */
export function uniqueDatabaseName(prefix = 't'): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `${/^[a-z_]/.test(clean) ? clean : `t_${clean}`}_${Math.random().toString(36).slice(2, 10)}`;
}

export async function startPostgresServer(opts: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = pgBinDir();
  const pgCtl = path.join(bin, 'pg_ctl');
  const database = opts.database ?? 'ados_test';
  if (!DB_NAME.test(database)) throw new Error(`invalid database name ${JSON.stringify(database)}`);

  fs.mkdirSync(PG_ROOT, { recursive: true });
  sweepStale(bin);

  const base = fs.mkdtempSync(path.join(PG_ROOT, 'pg-'));
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');
  let socketDir = path.join(base, 'run');
  let externalSocketDir: string | null = null;
  if (socketDir.length > MAX_SOCKET_DIR) {
    externalSocketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-pg-'));
    socketDir = externalSocketDir;
  }
  fs.mkdirSync(socketDir, { recursive: true });
  fs.writeFileSync(path.join(base, OWNER_FILE), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));

  if (isRoot()) {
    const { uid, gid } = postgresUser();
    for (const p of [base, socketDir, path.join(base, OWNER_FILE)]) fs.chownSync(p, uid, gid);
  }

  const removeDirs = (): void => {
    fs.rmSync(base, { recursive: true, force: true });
    if (externalSocketDir) fs.rmSync(externalSocketDir, { recursive: true, force: true });
  };

  // If this process dies (even by SIGKILL), a detached watchdog stops the server and removes its files.
  const [stopCmd, stopArgs] = asPostgres(pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20']);
  const watchdogScript =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `if [ -f ${shQuote(path.join(dataDir, 'postmaster.pid'))} ]; then ${[stopCmd, ...stopArgs].map(shQuote).join(' ')} >/dev/null 2>&1; fi; ` +
    `rm -rf ${shQuote(base)}${externalSocketDir ? ` ${shQuote(externalSocketDir)}` : ''}`;
  const watchdog = spawn('sh', ['-c', watchdogScript], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  let exitHandler: (() => void) | null = null;
  const cleanup = (): void => {
    if (exitHandler) process.removeListener('exit', exitHandler);
    exitHandler = null;
    if (watchdog.pid && alive(watchdog.pid)) {
      try {
        process.kill(watchdog.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  };

  try {
    const init = await run(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      base,
    );
    if (init.code !== 0) throw new Error(`initdb failed (exit ${init.code}):\n${init.output.trim()}`);

    let port = 0;
    let lastError = '';
    for (let attempt = 1; attempt <= 3 && !port; attempt++) {
      const candidate = await freePort();
      const conf = [
        '',
        '# ADOS test server (test/helpers/postgres-server.ts)',
        "listen_addresses = '127.0.0.1'",
        `port = ${candidate}`,
        `unix_socket_directories = '${socketDir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 200',
        '',
      ].join('\n');
      fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), conf);
      const start = await run(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], base);
      if (start.code === 0) port = candidate;
      else lastError = `pg_ctl start failed (exit ${start.code}):\n${start.output.trim()}\n--- ${logFile}:\n${tail(logFile)}`;
    }
    if (!port) throw new Error(lastError);

    exitHandler = (): void => {
      cleanup();
      runSync(pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20'], base);
      removeDirs();
    };
    process.on('exit', exitHandler);

    const adminUrl = urlFor(port, 'postgres');
    const url = database === 'postgres' ? adminUrl : await createDatabase(adminUrl, database);

    let stopped = false;
    return {
      url,
      adminUrl,
      port,
      dataDir,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        cleanup();
        const r = await run(pgCtl, ['-D', dataDir, 'stop', '-m', 'fast', '-w', '-t', '60'], base);
        if (r.code !== 0) runSync(pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20'], base);
        removeDirs();
      },
    };
  } catch (e) {
    cleanup();
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) runSync(pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '20'], base);
    removeDirs();
    throw e;
  }
}
