/**
 * The Temporal dev server as a child process of our own (`temporal server start-dev --db-filename <file>`), rather
 * than through TestWorkflowEnvironment.createLocal, so that a test (or the chaos tool, or a benchmark) can kill it for
 * real (SIGKILL) and start it again on the same file and port: runs in flight must survive that.
 *
 *   const server = await startTemporalServer({ dbFile });   // free ports, headless, ADOS search attributes
 *   server.address                                           // 127.0.0.1:<port>
 *   await server.kill();                                     // SIGKILL, waits for the exit
 *   await server.start();                                    // same file, same port
 *   await server.stop();
 *
 * Always the pinned CLI from the toolchain (temporalCliPath()): nothing is downloaded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { DEV_SERVER_DYNAMIC_CONFIG, devServerDynamicConfigArgs, temporalCliPath } from './toolchain';

export interface TemporalServerOptions {
  /** SQLite file holding the server's state; created when missing. */
  dbFile: string;
  /** Default: a free port. */
  port?: number;
  /** A Web UI port, or none (headless, the default). */
  uiPort?: number;
  namespace?: string;
  /** How long to wait for the server to answer, per start. Default 90 s (a busy 2-core machine). */
  startTimeoutMs?: number;
  /** Dynamic config values; default DEV_SERVER_DYNAMIC_CONFIG (priority and fairness on), `{}` for the server's own defaults. */
  dynamicConfig?: Readonly<Record<string, boolean | number | string>>;
}

export interface TemporalServerProcess {
  readonly address: string;
  readonly port: number;
  readonly namespace: string;
  readonly dbFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the server (again) on the same file and port; resolves once it answers. */
  start(): Promise<void>;
  /** Sends SIGKILL (or another signal) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 15 s). Idempotent. */
  stop(): Promise<void>;
  /** The server's recent output, for failure messages. */
  output(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that dies must not leave servers behind.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Waits until the frontend answers GetSystemInfo and the namespace exists. */
export async function waitForTemporal(address: string, namespace: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`Temporal server at ${address} exited while starting`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: '2s' });
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (error) {
      last = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Temporal server at ${address} did not answer within ${timeoutMs} ms: ${(last as Error)?.message ?? last}`);
}

export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServerProcess> {
  installExitHook();
  const cli = temporalCliPath();
  const port = options.port ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';

  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    ...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']),
    '--namespace', namespace,
    '--db-filename', options.dbFile,
    '--log-level', 'warn',
    ...ADOS_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === 'BOOL' ? 'Bool' : 'Keyword'}`]),
    ...devServerDynamicConfigArgs(options.dynamicConfig ?? DEV_SERVER_DYNAMIC_CONFIG),
  ];

  const server: TemporalServerProcess = {
    address,
    port,
    namespace,
    dbFile: options.dbFile,
    get pid() {
      return child?.pid;
    },
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) throw new Error('the Temporal server is already running');
      const proc = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      live.add(proc);
      const collect = (d: Buffer) => {
        output = (output + d.toString()).slice(-20_000);
      };
      proc.stdout!.on('data', collect);
      proc.stderr!.on('data', collect);
      exited = new Promise((resolve) => {
        proc.on('close', (code, signal) => {
          live.delete(proc);
          output += `\n[temporal exited: code ${code}, signal ${signal}]\n`;
          resolve();
        });
        proc.on('error', (error) => {
          live.delete(proc);
          output += `\n[temporal spawn error: ${error.message}]\n`;
          resolve();
        });
      });
      await waitForTemporal(address, namespace, options.startTimeoutMs ?? 90_000, () => proc.exitCode === null && proc.signalCode === null);
    },
    async kill(signal = 'SIGKILL') {
      if (!server.running) return;
      child!.kill(signal);
      await exited;
    },
    async stop() {
      if (!server.running) return;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    output: () => output,
  };
  await server.start();
  return server;
}
