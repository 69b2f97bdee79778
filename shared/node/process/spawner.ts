/**
 * How `exec` starts its commands: through ados-spawner (ados-spawner.c) when it is built, else Node's own spawn.
 *
 * Why: `child_process.spawn` forks the worker, and a fork copies the page tables of the worker's whole address space
 * (V8's heap, the Temporal core, every loaded module): on a worker of a couple of hundred MB that is milliseconds per
 * command, more than a short command itself takes (bench/suites/exec-overhead.ts). The spawner is a small process the
 * worker starts once; it starts each command with posix_spawn (a vfork, nothing copied) and reports its pid and its
 * exit. What a command sees is the same either way: its own session and process group (pgid = pid), stdin from
 * /dev/null, stdout and stderr appended to its log file, its cwd, exactly its environment, the program found on its
 * own PATH. Stopping a command is the same too: the worker signals its group (process-group.ts).
 *
 * ADOS_EXEC_LAUNCHER picks: `auto` (default: the spawner that deploy/bootstrap.mjs built at .ados/bin/ados-spawner
 * when there is one, else Node), `node`, or the path of a spawner binary.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { loadConfig } from '../config';

/** Where deploy/bootstrap.mjs builds the spawner: `.ados/bin` of the project (this file is <root>/shared/node/process). */
export const BUILT_SPAWNER = path.resolve(__dirname, '..', '..', '..', '.ados', 'bin', 'ados-spawner');

/** How a command is started: through a spawner binary, or by Node's child_process.spawn. */
export type Launcher = { kind: 'spawner'; path: string } | { kind: 'node' };

/** What a launcher needs to start a command (command.ts's CommandSpec, less what happens after the start). */
export interface LaunchSpec {
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  logFile: string;
}

export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started command. `exited` rejects with SpawnerLost if the spawner died before the command did. */
export interface Launched {
  pid: number;
  exited: Promise<CommandExit>;
}

/** The command could not start; `code` is the errno name (ENOENT, EACCES, …). */
export class LaunchFailed extends Error {
  constructor(readonly code: string | undefined, message: string) {
    super(message);
    this.name = 'LaunchFailed';
  }
}

/** The spawner exited (or could not start) while it had commands: their exits are unknown. */
export class SpawnerLost extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpawnerLost';
  }
}

const SIGNAL_NAMES = new Map(Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));
const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, number]) => [number, name]));

interface PendingCommand {
  started?: (pid: number) => void;
  failed?: (error: Error) => void;
  pid?: number;
  exited?: { resolve: (exit: CommandExit) => void; reject: (error: Error) => void };
}

/** One spawner process and the commands it has in hand. */
class Spawner {
  private readonly process: ChildProcess;
  private readonly pending = new Map<string, PendingCommand>();
  private nextId = 0;
  private buffered = '';
  private lost?: SpawnerLost;

  constructor(
    readonly binary: string,
    private readonly onLost: (spawner: Spawner) => void,
  ) {
    this.process = spawn(binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    // Idle, the spawner keeps nothing alive: only commands in hand hold the worker's event loop (refresh()).
    this.process.unref();
    this.process.once('error', (error) => this.lose(`could not run ${binary} (ADOS_EXEC_LAUNCHER): ${error.message}`));
    this.process.once('exit', (code, signal) => this.lose(`the command launcher ${binary} (pid ${this.process.pid}) exited (${signal ?? `code ${code}`})`));
    this.stdin.on('error', (error) => this.lose(`writing to the command launcher ${binary} failed: ${error.message}`));
    this.stdout.setEncoding('latin1').on('data', (chunk: string) => this.read(chunk));
    this.refresh();
  }

  private get stdin(): Writable & { ref?: () => void; unref?: () => void } {
    return this.process.stdin as Writable;
  }

  private get stdout(): Readable & { ref?: () => void; unref?: () => void } {
    return this.process.stdout as Readable;
  }

  /** Holds the event loop while commands are in hand, as Node's own ChildProcess handle would. */
  private refresh(): void {
    const streams = [this.stdin, this.stdout] as Array<{ ref?: () => void; unref?: () => void }>;
    for (const stream of streams) (this.pending.size > 0 ? stream.ref : stream.unref)?.call(stream);
  }

  launch(spec: LaunchSpec): Promise<Launched> {
    if (this.lost) return Promise.reject(this.lost);
    const id = String(this.nextId++);
    const environment = Object.entries(spec.env).map(([name, value]) => `${name}=${value}`);
    const fields = [id, path.resolve(spec.cwd), path.resolve(spec.logFile), String(spec.argv.length), ...spec.argv, String(environment.length), ...environment];
    const bad = fields.find((field) => field.includes('\0'));
    if (bad !== undefined) return Promise.reject(new LaunchFailed('EINVAL', `a NUL character cannot be passed to a program (in ${JSON.stringify(bad.slice(0, 40))})`));
    return new Promise<Launched>((resolve, reject) => {
      const command: PendingCommand = {};
      const exited = new Promise<CommandExit>((resolveExit, rejectExit) => (command.exited = { resolve: resolveExit, reject: rejectExit }));
      // A start that fails rejects launch(); `exited` is then never awaited.
      exited.catch(() => undefined);
      command.started = (pid) => resolve({ pid, exited });
      command.failed = reject;
      this.pending.set(id, command);
      this.refresh();
      this.stdin.write(fields.join('\0') + '\0');
    });
  }

  private read(chunk: string): void {
    this.buffered += chunk;
    for (let end = this.buffered.indexOf('\n'); end >= 0; end = this.buffered.indexOf('\n')) {
      const [kind, id, first, second] = this.buffered.slice(0, end).split(' ');
      this.buffered = this.buffered.slice(end + 1);
      const command = this.pending.get(id);
      if (!command) continue;
      if (kind === 'started') {
        command.pid = Number(first);
        command.started?.(command.pid);
      } else if (kind === 'failed') {
        this.pending.delete(id);
        const code = ERRNO_NAMES.get(Number(first));
        command.failed?.(new LaunchFailed(code, `${code ?? `errno ${first}`} starting the command`));
      } else if (kind === 'exited') {
        this.pending.delete(id);
        command.exited?.resolve({ code: first === '-' ? null : Number(first), signal: second === '-' ? null : (SIGNAL_NAMES.get(Number(second)) ?? null) });
      }
    }
    this.refresh();
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.lost = new SpawnerLost(why);
    this.onLost(this);
    for (const command of this.pending.values()) {
      if (command.pid === undefined) command.failed?.(this.lost);
      else command.exited?.reject(this.lost);
    }
    this.pending.clear();
    this.refresh();
  }

  /** Stops the spawner (tests); commands it started keep running. */
  close(): void {
    this.stdin.end();
  }
}

const spawners = new Map<string, Spawner>();

function spawnerAt(binary: string): Spawner {
  let spawner = spawners.get(binary);
  if (!spawner) {
    // A lost spawner is replaced at the next command.
    spawner = new Spawner(binary, (lost) => spawners.get(binary) === lost && spawners.delete(binary));
    spawners.set(binary, spawner);
  }
  return spawner;
}

/** Stops this process's spawners (tests). */
export function closeSpawners(): void {
  for (const spawner of spawners.values()) spawner.close();
  spawners.clear();
}

function executable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const launchers = new Map<string | undefined, Launcher>();

/**
 * The launcher ADOS_EXEC_LAUNCHER names, resolved once per value (a command's start only looks it up). An explicit
 * binary that is missing is an error naming the setting.
 */
export function configuredLauncher(env: Record<string, string | undefined> = process.env): Launcher {
  const known = launchers.get(env.ADOS_EXEC_LAUNCHER);
  if (known) return known;
  const setting = loadConfig(env).execLauncher;
  let launcher: Launcher;
  if (setting === 'node') launcher = { kind: 'node' };
  else if (setting === 'auto') launcher = executable(BUILT_SPAWNER) ? { kind: 'spawner', path: BUILT_SPAWNER } : { kind: 'node' };
  else if (executable(setting)) launcher = { kind: 'spawner', path: setting };
  else throw new Error(`ADOS_EXEC_LAUNCHER=${setting}: not an executable file; give the path of an ados-spawner binary (node deploy/bootstrap.mjs builds one at ${BUILT_SPAWNER}), auto or node`);
  launchers.set(env.ADOS_EXEC_LAUNCHER, launcher);
  return launcher;
}

/** Starts `spec` with `launcher`: resolves once the command runs; a command that cannot start rejects with LaunchFailed. */
export function launch(spec: LaunchSpec, launcher: Launcher): Promise<Launched> {
  return launcher.kind === 'spawner' ? spawnerAt(launcher.path).launch(spec) : launchWithNode(spec);
}

/**
 * Node's child_process.spawn. The log file is opened and closed synchronously: microseconds on a local disk, where a
 * trip through libuv's thread pool costs a busy worker more (bench/suites/exec-overhead.ts).
 */
function launchWithNode(spec: LaunchSpec): Promise<Launched> {
  const log = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  let exited: Promise<CommandExit>;
  try {
    // detached: setsid, so the command leads a new process group (and session) whose id is its pid.
    child = spawn(spec.argv[0], spec.argv.slice(1), { cwd: spec.cwd, env: spec.env, stdio: ['ignore', log, log], detached: true });
    // Listened to before any await: a failed spawn reports 'error' on the next tick.
    exited = new Promise<CommandExit>((resolve, reject) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', reject);
    });
  } finally {
    // The child has its own copy of the fd by now (spawn forks synchronously).
    closeSync(log);
  }
  if (child.pid === undefined) {
    return exited.then(
      () => Promise.reject(new LaunchFailed(undefined, 'the command did not start')),
      (error: NodeJS.ErrnoException) => Promise.reject(new LaunchFailed(error.code, error.message)),
    );
  }
  return Promise.resolve({ pid: child.pid, exited });
}
