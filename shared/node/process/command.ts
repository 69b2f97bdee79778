/**
 * Runs one command in its own process group (process-group.ts says why groups), its stdout and stderr appended to a
 * log file, until it exits, times out or is aborted; then stops whatever it left running in its group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { processStartTime, stopGroup, type GroupStop } from './process-group';

export interface CommandSpec {
  /** The program and its arguments; no shell is involved. */
  argv: readonly string[];
  cwd: string;
  /** The whole environment of the command (nothing is inherited). */
  env: Record<string, string>;
  /** stdout and stderr are appended here, interleaved as written (the file is the command's own fd). */
  logFile: string;
  /** Stop the group after this long (undefined: no limit of its own). */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  signal?: AbortSignal;
  /** Called once the command has started, then every `heartbeatMs` while it runs. */
  onRunning?: (group: StartedGroup) => void;
  heartbeatMs?: number;
}

/** The started command: its pid is its group's id. */
export interface StartedGroup {
  pid: number;
  pgid: number;
  /** The leader's start time (Linux; undefined once it has exited or elsewhere). */
  startTime?: string;
}

export interface CommandOutcome {
  pid: number;
  exitCode: number | null;
  /** The signal that ended the command, if one did. */
  exitSignal: NodeJS.Signals | null;
  durationMs: number;
  /** Why ADOS stopped it, if it did. */
  stoppedFor?: 'timeout' | 'abort';
  /** What ended the processes left in its group once it had exited ('gone': none were left). */
  leftovers: GroupStop;
}

/** The command could not be started at all (no such program, not executable, no such cwd). */
export class CommandNotStarted extends Error {
  constructor(
    readonly program: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'CommandNotStarted';
  }
}

/**
 * Runs `spec` to its end (see the module doc). Throws CommandNotStarted if it cannot start, or `signal.reason` if
 * aborted first. The log file is opened and closed synchronously: microseconds on a local disk, where a trip through
 * libuv's thread pool costs a busy machine far more than that (bench/suites/exec-overhead.ts).
 */
export async function runCommand(spec: CommandSpec): Promise<CommandOutcome> {
  spec.signal?.throwIfAborted();
  const log = openSync(spec.logFile, 'a');
  const started = performance.now();
  let child: ChildProcess;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  try {
    // detached: setsid, so the command leads a new process group (and session) whose id is its pid.
    child = spawn(spec.argv[0], spec.argv.slice(1), { cwd: spec.cwd, env: spec.env, stdio: ['ignore', log, log], detached: true });
    // Listened to before any await: a failed spawn reports 'error' on the next tick.
    exited = new Promise((resolve, reject) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', reject);
    });
  } finally {
    // The child has its own copy of the fd by now (spawn forks synchronously).
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const error = (await exited.catch((e: unknown) => e)) as NodeJS.ErrnoException;
    throw new CommandNotStarted(spec.argv[0], error.code, startProblem(spec, error));
  }

  const group: StartedGroup = { pid, pgid: pid, startTime: processStartTime(pid) };
  spec.onRunning?.(group);
  const heartbeat = spec.onRunning && spec.heartbeatMs ? setInterval(() => spec.onRunning!(group), spec.heartbeatMs) : undefined;
  let stoppedFor: CommandOutcome['stoppedFor'];
  let stopping: Promise<GroupStop> | undefined;
  const stop = (reason: 'timeout' | 'abort') => {
    stoppedFor ??= reason;
    stopping ??= stopGroup(pid, spec.killGraceMs);
  };
  const timer = spec.timeoutMs !== undefined ? setTimeout(() => stop('timeout'), spec.timeoutMs) : undefined;
  const onAbort = () => stop('abort');
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { code, signal } = await exited;
    const durationMs = performance.now() - started;
    if (stopping) await stopping;
    // Whatever the command left behind in its group (background jobs) does not outlive it.
    const leftovers = await stopGroup(pid, spec.killGraceMs);
    if (stoppedFor === 'abort') throw spec.signal?.reason ?? new Error('aborted');
    return { pid, exitCode: code, exitSignal: signal, durationMs, stoppedFor, leftovers };
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
  }
}

function startProblem(spec: CommandSpec, error: NodeJS.ErrnoException): string {
  const program = JSON.stringify(spec.argv[0]);
  if (error.code === 'ENOENT') {
    return spec.argv[0].includes('/')
      ? `${program} does not exist (or the cwd ${spec.cwd} does not)`
      : `${program} was not found on the command's PATH (${spec.env.PATH ?? 'unset'})`;
  }
  if (error.code === 'EACCES') return `${program} is not executable`;
  return `${program} could not be started: ${error.message}`;
}

/** The last `bytes` (at most 64 kB) of a file as text, a character cut at the start dropped; read synchronously, as the log is opened. */
export function fileTail(file: string, bytes: number): string {
  if (bytes === 0) return '';
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    const bytesRead = readSync(fd, buffer, 0, length, size - length);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    return size > bytes ? text.replace(/^\uFFFD+/, '') : text;
  } finally {
    closeSync(fd);
  }
}

/** The worker's variables named in `names` that it has, plus `explicit` (which wins). Nothing else passes. */
export function commandEnvironment(
  workerEnv: Record<string, string | undefined>,
  names: readonly string[],
  explicit: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = workerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...explicit };
}
