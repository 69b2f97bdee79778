/**
 * Child processes for integration tests: the `ados` CLI and worker processes, run exactly as in
 * production (`node client/bin/ados.cjs ...`), with their output captured for failure reports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './toolchain';

export const ADOS_BIN = path.join(PROJECT_ROOT, 'client', 'bin', 'ados.cjs');

/** Output is kept up to this many characters (the tail), so a chatty process cannot eat memory. */
const MAX_OUTPUT = 200_000;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** process.env without the ADOS/Temporal/database variables, so the test decides every one of them. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(ADOS_|TEMPORAL_|DATABASE_URL$|LOG_LEVEL$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  private stdoutText = '';
  private stderrText = '';
  private exitStatus?: ExitStatus;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [ADOS_BIN, ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdoutText = (this.stdoutText + d.toString()).slice(-MAX_OUTPUT);
      this.notify();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderrText = (this.stderrText + d.toString()).slice(-MAX_OUTPUT);
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit'): all output has been read by then.
      this.child.on('close', (code, signal) => {
        this.exitStatus = { code, signal };
        this.notify();
        resolve(this.exitStatus);
      });
      this.child.on('error', (error) => {
        this.stderrText += `\n[spawn error] ${error.message}`;
        this.exitStatus = { code: null, signal: null };
        this.notify();
        resolve(this.exitStatus);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** Everything the process wrote, labelled, for a failure message. */
  report(): string {
    const status = this.exitStatus ? ` (exited: code ${this.exitStatus.code}, signal ${this.exitStatus.signal})` : ' (running)';
    return `----- ${this.name} pid ${this.pid}${status}\n[stdout]\n${this.stdoutText.trimEnd()}\n[stderr]\n${this.stderrText.trimEnd()}\n`;
  }

  /** Resolves once stderr or stdout holds `text`; rejects if the process exits first or on timeout. */
  waitForOutput(text: string | RegExp, timeoutMs: number): Promise<void> {
    const found = () => (typeof text === 'string' ? (this.stderrText + this.stdoutText).includes(text) : text.test(this.stderrText + this.stdoutText));
    return new Promise((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (found()) finish();
        else if (!this.running) finish(new Error(`${this.name} exited before logging ${String(text)}\n${this.report()}`));
      };
      const timer = setTimeout(() => finish(new Error(`${this.name} did not log ${String(text)} within ${timeoutMs} ms\n${this.report()}`)), timeoutMs);
      this.watchers.add(check);
      check();
    });
  }

  /** Sends a signal (SIGTERM by default) and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<ExitStatus & { timedOut: boolean }> {
    if (!this.running) return { ...(this.exitStatus as ExitStatus), timedOut: false };
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    return { ...(this.exitStatus as ExitStatus), timedOut };
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs one `ados` command to completion (killed after `timeoutMs`). */
export async function runAdosCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliResult> {
  const proc = new ManagedProcess(`ados ${args.join(' ')}`, args, env);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    const { code, signal } = await proc.exited;
    return { code, signal, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    clearTimeout(timer);
  }
}
