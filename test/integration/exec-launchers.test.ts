/**
 * The two ways `exec` starts a command (shared/node/process/spawner.ts): ados-spawner and Node's own spawn, on real
 * processes. Each case runs through runCommand with both launchers and expects the same command-visible result:
 * exit codes and signals, the log file, start failures and their messages, the environment and PATH lookup, the
 * command's own session and process group, stdin from /dev/null. Then what only the spawner has: many commands at
 * once, and the spawner dying under a running command. The spawner is the one deploy/bootstrap.mjs builds (npm test
 * runs it first); its absence fails here rather than skipping.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/node/config';
import { CommandNotStarted, runCommand, type CommandSpec } from '../../shared/node/process/command';
import { processAlive } from '../../shared/node/process/process-group';
import { BUILT_SPAWNER, closeSpawners, configuredLauncher, type Launcher } from '../../shared/node/process/spawner';
import { eventually } from '../helpers/eventually';
import { PROJECT_ROOT } from '../helpers/toolchain';

const tmpDir = path.join(PROJECT_ROOT, '.ados', 'tmp', `exec-launchers-${process.pid}`);
const spawner: Launcher = { kind: 'spawner', path: BUILT_SPAWNER };
const node: Launcher = { kind: 'node' };
let count = 0;

beforeAll(() => {
  if (!fs.existsSync(BUILT_SPAWNER)) throw new Error(`${BUILT_SPAWNER} is missing: run node deploy/bootstrap.mjs (it needs a C compiler) first`);
  fs.mkdirSync(tmpDir, { recursive: true });
});

afterAll(() => {
  closeSpawners();
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** A spec in a fresh directory, its log there too. */
function spec(argv: string[], extra: Partial<CommandSpec> = {}): CommandSpec {
  const cwd = path.join(tmpDir, `c${count++}`);
  fs.mkdirSync(cwd);
  return { argv, cwd, env: { PATH: '/usr/bin:/bin' }, logFile: path.join(cwd, 'exec.log'), killGraceMs: 1_000, ...extra };
}

const read = (file: string) => fs.readFileSync(file, 'utf8');

describe.each([
  ['ados-spawner', spawner],
  ["Node's spawn", node],
])('runCommand through %s', (_name, launcher) => {
  test('exit codes; stdout and stderr appended to the log, in order', async () => {
    const ok = spec(['sh', '-c', 'echo out; echo err >&2; exit 0']);
    fs.writeFileSync(ok.logFile, 'before\n');
    expect(await runCommand(ok, launcher)).toMatchObject({ exitCode: 0, exitSignal: null, leftovers: 'gone' });
    expect(read(ok.logFile)).toBe('before\nout\nerr\n');
    expect(await runCommand(spec(['sh', '-c', 'exit 3']), launcher)).toMatchObject({ exitCode: 3, exitSignal: null });
  });

  test('a command ended by a signal reports the signal by name', async () => {
    expect(await runCommand(spec(['sh', '-c', 'kill -TERM $$']), launcher)).toMatchObject({ exitCode: null, exitSignal: 'SIGTERM' });
  });

  test('a command that cannot start: no such program, not executable, no such cwd', async () => {
    const missing = runCommand(spec(['no-such-program-ados']), launcher);
    await expect(missing).rejects.toBeInstanceOf(CommandNotStarted);
    await expect(missing).rejects.toMatchObject({ code: 'ENOENT', message: '"no-such-program-ados" was not found on the command\'s PATH (/usr/bin:/bin)' });

    const plain = spec(['./plain.txt']);
    fs.writeFileSync(path.join(plain.cwd, 'plain.txt'), 'not a program\n');
    await expect(runCommand(plain, launcher)).rejects.toMatchObject({ code: 'EACCES', message: '"./plain.txt" is not executable' });

    const nowhere = spec(['true']);
    nowhere.cwd = path.join(nowhere.cwd, 'missing');
    await expect(runCommand(nowhere, launcher)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('exactly the given environment; the program is found on the command\'s own PATH', async () => {
    const run = spec(['show-env'], { env: { PATH: '', ONLY: 'this' } });
    const bin = path.join(run.cwd, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'show-env'), '#!/bin/sh\n/usr/bin/env | /usr/bin/sort\n', { mode: 0o755 });
    run.env.PATH = bin;
    expect(await runCommand(run, launcher)).toMatchObject({ exitCode: 0 });
    expect(read(run.logFile).trim().split('\n')).toEqual(['ONLY=this', `PATH=${bin}`, `PWD=${run.cwd}`]);
  });

  test('the command leads its own session and process group, runs in its cwd, with stdin from /dev/null', async () => {
    const run = spec(['sh', '-c', 'cat; read -r stat < /proc/$$/stat; echo "$stat"; readlink /proc/$$/fd/0; pwd']);
    const outcome = await runCommand(run, launcher);
    expect(outcome.exitCode).toBe(0);
    const [stat, stdin, cwd] = read(run.logFile).trim().split('\n');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 5 and 6 of /proc/<pid>/stat: the process group and the session.
    expect([Number(fields[2]), Number(fields[3])]).toEqual([outcome.pid, outcome.pid]);
    expect(stdin).toBe('/dev/null');
    expect(cwd).toBe(run.cwd);
  });

  test('a timeout stops the whole group, background job included', async () => {
    const run = spec(['sh', '-c', 'sleep 30 & echo $! > bg.pid; wait'], { timeoutMs: 300 });
    const outcome = await runCommand(run, launcher);
    expect(outcome).toMatchObject({ stoppedFor: 'timeout', exitSignal: 'SIGTERM' });
    const background = Number(read(path.join(run.cwd, 'bg.pid')));
    expect(processAlive(background)).toBe(false);
  });
});

describe('ados-spawner', () => {
  test('50 commands at once each get their own exit code', async () => {
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => runCommand(spec(['sh', '-c', `sleep 0.0${i % 10}; exit ${i}`]), spawner)));
    expect(outcomes.map((o) => o.exitCode)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(new Set(outcomes.map((o) => o.pid)).size).toBe(50);
  });

  test('if the spawner dies under a running command, the command fails naming it, its group is stopped, and the next command gets a new spawner', async () => {
    const run = spec(['sh', '-c', 'echo $$ > leader.pid; sleep 30']);
    const running = runCommand(run, spawner);
    const leaderFile = path.join(run.cwd, 'leader.pid');
    const leader = await eventually('the command wrote its pid', 10_000, async () => (fs.existsSync(leaderFile) && read(leaderFile).trim() !== '' ? Number(read(leaderFile)) : undefined), 20);
    const parent = Number(read(`/proc/${leader}/stat`).split(') ')[1].split(' ')[1]);
    expect(read(`/proc/${parent}/cmdline`).split('\0')[0]).toBe(BUILT_SPAWNER);
    process.kill(parent, 'SIGKILL');
    await expect(running).rejects.toThrow(new RegExp(`the command launcher ${BUILT_SPAWNER} \\(pid ${parent}\\) exited \\(SIGKILL\\) while "sh" \\(pid ${leader}\\) ran; its process group was stopped`));
    expect(processAlive(leader)).toBe(false);

    const next = spec(['sh', '-c', 'echo $PPID']);
    expect(await runCommand(next, spawner)).toMatchObject({ exitCode: 0 });
    const newParent = Number(read(next.logFile));
    expect(newParent).not.toBe(parent);
    expect(read(`/proc/${newParent}/cmdline`).split('\0')[0]).toBe(BUILT_SPAWNER);
  });

  test('SIGINT and SIGTERM to the spawner (a Ctrl-C or a supervisor reaching the worker\'s group) leave it reporting its commands', async () => {
    const run = spec(['sh', '-c', 'echo $PPID > parent.pid; sleep 0.5; exit 7']);
    const running = runCommand(run, spawner);
    const parentFile = path.join(run.cwd, 'parent.pid');
    const parent = await eventually('the command wrote its parent', 10_000, async () => (fs.existsSync(parentFile) && read(parentFile).trim() !== '' ? Number(read(parentFile)) : undefined), 20);
    process.kill(parent, 'SIGINT');
    process.kill(parent, 'SIGTERM');
    expect(await running).toMatchObject({ exitCode: 7 });
    expect(processAlive(parent)).toBe(true);
  });

  test('a NUL character in an argument is refused before anything starts', async () => {
    await expect(runCommand(spec(['echo', 'a\0b']), spawner)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('ADOS_EXEC_LAUNCHER', () => {
  test('auto picks the built spawner; node picks Node; a path must be an executable file', () => {
    expect(configuredLauncher({})).toEqual(spawner);
    expect(configuredLauncher({ ADOS_EXEC_LAUNCHER: 'node' })).toEqual(node);
    expect(configuredLauncher({ ADOS_EXEC_LAUNCHER: BUILT_SPAWNER })).toEqual(spawner);
    expect(() => configuredLauncher({ ADOS_EXEC_LAUNCHER: '/no/such/spawner' })).toThrow(
      /ADOS_EXEC_LAUNCHER=\/no\/such\/spawner: not an executable file; give the path of an ados-spawner binary/,
    );
    expect(() => loadConfig({ ADOS_EXEC_LAUNCHER: 'spawner' })).toThrow(/ADOS_EXEC_LAUNCHER="spawner": must be auto, node, or the absolute path of an ados-spawner binary/);
  });
});
