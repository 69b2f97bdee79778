/**
 * Runs one command in its own process group (process-group.ts says why groups), its stdout and stderr appended to a
 * log file, until it exits, times out or is aborted; then stops whatever it left running in its group. The command
 * is started by the configured launcher (spawner.ts: ados-spawner, or Node's spawn).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { processStartTime, stopGroup, type GroupStop } from './process-group';
import { configuredLauncher, launch, LaunchFailed, SpawnerLost, type CommandExit, type Launched, type Launcher } from './spawner';

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
 * aborted first. `launcher` (tests) overrides ADOS_EXEC_LAUNCHER (spawner.ts).
 */
export async function runCommand(spec: CommandSpec, launcher: Launcher = configuredLauncher()): Promise<CommandOutcome> {
  spec.signal?.throwIfAborted();
  const started = performance.now();
  let launched: Launched;
  try {
    launched = await launch(spec, launcher);
  } catch (error) {
    if (error instanceof LaunchFailed) throw new CommandNotStarted(spec.argv[0], error.code, startProblem(spec, error));
    throw error;
  }
  const { pid } = launched;

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
  // Aborted while the spawner was starting it.
  if (spec.signal?.aborted) onAbort();
  try {
    let exit: CommandExit;
    try {
      exit = await launched.exited;
    } catch (error) {
      // The spawner died first: the exit is unknown, so the group is stopped rather than left to run unobserved.
      if (!(error instanceof SpawnerLost)) throw error;
      await (stopping ?? stopGroup(pid, spec.killGraceMs));
      throw new Error(`${error.message} while ${JSON.stringify(spec.argv[0])} (pid ${pid}) ran; its process group was stopped`);
    }
    const durationMs = performance.now() - started;
    if (stopping) await stopping;
    // Whatever the command left behind in its group (background jobs) does not outlive it.
    const leftovers = await stopGroup(pid, spec.killGraceMs);
    if (stoppedFor === 'abort') throw spec.signal?.reason ?? new Error('aborted');
    return { pid, exitCode: exit.code, exitSignal: exit.signal, durationMs, stoppedFor, leftovers };
  } finally {
    clearInterval(heartbeat);
    clearTimeout(timer);
    spec.signal?.removeEventListener('abort', onAbort);
  }
}

function startProblem(spec: CommandSpec, error: LaunchFailed): string {
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
