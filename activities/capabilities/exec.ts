import { hostname } from 'node:os';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { globProblem, hashOutputFiles } from '../../shared/node/files/output-files';
import { CommandNotStarted, commandEnvironment, fileTail, runCommand, type CommandOutcome } from '../../shared/node/process/command';
import { recordedGroupAlive, stopGroup, type GroupRecord } from '../../shared/node/process/process-group';
import { invalidInput } from './capability';
import { defineBuiltIn, type CapabilityContext } from './define';

/** The command's stdout and stderr, in the attempt's workspace. */
export const EXEC_LOG_FILE = 'exec.log';
/** Heartbeats while a command runs (Temporal sends at most one per 0.8 × heartbeat timeout). */
const HEARTBEAT_MS = 1_000;
/** Time kept back from the attempt's own timeout to stop the group and report, before Temporal times the attempt out. */
const REPORT_MARGIN_MS = 2_000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The worker's own configuration and credentials: a plan may set such variables in `env`, never pass the worker's. */
export const WORKER_ONLY_VARIABLE = /^(ADOS_|TEMPORAL_|DATABASE_URL$|PG[A-Z]*$)/;

/** What is wrong with a cwd (relative to the workspace), or undefined. */
export function cwdProblem(cwd: string): string | undefined {
  if (path.isAbsolute(cwd)) return 'must be a directory inside the attempt\'s workspace, given relative to it (e.g. "." or "build"), not an absolute path';
  const normalized = path.normalize(cwd);
  if (normalized === '..' || normalized.startsWith(`..${path.sep}`)) return `"${cwd}" climbs out of the attempt's workspace; give a directory inside it`;
  return undefined;
}

const ENV_NAME_RULE = 'an environment variable name: letters, digits and "_", not starting with a digit';
const envName = z.string().regex(ENV_NAME, ENV_NAME_RULE);

export const execInput = z
  .strictObject({
    argv: z
      .array(z.string('each argument must be a string'), 'give the command as an array of strings, e.g. ["npm", "test"]')
      .min(1, 'give at least the program, e.g. ["npm", "test"]')
      .refine((argv) => argv[0] !== '', 'argv[0] (the program) cannot be empty'),
    /** Run argv[0] as a /bin/sh script instead of a program (argv then holds exactly that one script). */
    shell: z.boolean().default(false),
    cwd: z
      .string()
      .default('.')
      .superRefine((cwd, ctx) => {
        const problem = cwdProblem(cwd);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    env: z
      .record(z.string(), z.string('a string value'))
      .default({})
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          if (!ENV_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: ENV_NAME_RULE });
        }
      }),
    passEnv: z
      .array(
        envName.refine(
          (name) => !WORKER_ONLY_VARIABLE.test(name),
          'the worker\'s own configuration (ADOS_*, TEMPORAL_*, DATABASE_URL, PG*) is not passed to commands; set the value in input.env instead',
        ),
      )
      .default(['PATH']),
    timeoutSeconds: z.number().positive('seconds, more than 0').optional(),
    killGraceSeconds: z.number().min(0, 'seconds, 0 or more').max(60, 'at most 60 seconds').default(5),
    outputs: z
      .array(
        z.string().superRefine((glob, ctx) => {
          const problem = globProblem(glob);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      )
      .default([]),
    tailBytes: z.number().int('whole bytes').min(0).max(65_536, 'at most 65536 bytes').default(4_096),
  })
  .superRefine((input, ctx) => {
    if (input.shell && input.argv.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['argv'], message: `with shell: true, argv holds exactly one /bin/sh script (got ${input.argv.length} strings)` });
    }
  });
export type ExecInput = z.output<typeof execInput>;

export const execOutput = z.object({
  exitCode: z.number().int(),
  durationMs: z.number(),
  pid: z.number().int(),
  /** Where stdout and stderr are (on the worker that ran the command). */
  log: z.string(),
  tail: z.string(),
  outputs: z.array(z.object({ path: z.string(), sha256: z.string(), bytes: z.number() })),
  /** The group of a crashed earlier attempt that this attempt found alive and stopped. */
  reapedGroup: z.number().int().optional(),
});

/** The heartbeat details of a running command: what a retry needs to find and stop its group. */
const runningCheckpoint = z.object({ pgid: z.number().int().positive(), host: z.string(), startTime: z.string().optional() });

/** The program and arguments actually spawned. */
export function commandArgv(input: Pick<ExecInput, 'argv' | 'shell'>): string[] {
  return input.shell ? ['/bin/sh', '-c', input.argv[0]] : [...input.argv];
}

/**
 * How long the command may run: its own timeoutSeconds, and in any case less than what is left of the attempt
 * (minus the kill grace and a margin), so that ADOS stops the group and reports rather than Temporal timing the
 * attempt out while the command still runs.
 */
export function commandTimeoutMs(input: Pick<ExecInput, 'timeoutSeconds' | 'killGraceSeconds'>, attemptLeftMs: number): number {
  const own = input.timeoutSeconds !== undefined ? input.timeoutSeconds * 1000 : Infinity;
  return Math.max(0, Math.min(own, attemptLeftMs - input.killGraceSeconds * 1000 - REPORT_MARGIN_MS));
}

/**
 * A previous attempt of this task that crashed with its worker (SIGKILL, OOM) left its command's group running:
 * its heartbeat named the group, so stop it before starting again. Only a group of this host is ours to find.
 */
async function reapPreviousAttempt(ctx: CapabilityContext, graceMs: number): Promise<number | undefined> {
  const previous = runningCheckpoint.safeParse(ctx.lastCheckpoint);
  if (!previous.success) return undefined;
  const record: GroupRecord = previous.data;
  if (!recordedGroupAlive(record, hostname())) return undefined;
  const how = await stopGroup(record.pgid, graceMs);
  ctx.logger.warn({ pgid: record.pgid, stoppedWith: how }, "stopped a previous attempt's process group before running again");
  return record.pgid;
}

function failure(ctx: CapabilityContext, type: string, message: string, nonRetryable: boolean, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message: `task "${ctx.request.taskId}" (exec): ${message}`, nonRetryable, details: [details] });
}

const describeExit = (outcome: CommandOutcome) => (outcome.exitSignal ? `was ended by ${outcome.exitSignal}` : `exited with code ${outcome.exitCode}`);

/** Runs a command in the attempt's workspace (README, "`exec` and `http`"). */
export const exec = defineBuiltIn('exec', {
  version: '1.0.0',
  input: execInput,
  output: execOutput,
  handler: async (input, ctx) => {
    const killGraceMs = input.killGraceSeconds * 1000;
    const reapedGroup = await reapPreviousAttempt(ctx, killGraceMs);
    const cwd = path.join(ctx.workspace, input.cwd);
    if (cwd !== ctx.workspace) await mkdir(cwd, { recursive: true });
    const logFile = path.join(ctx.workspace, EXEC_LOG_FILE);
    // Not in CapabilityContext: only a capability that must stop before its attempt's deadline needs it.
    const { currentAttemptScheduledTimestampMs, startToCloseTimeoutMs } = Context.current().info;
    const timeoutMs = commandTimeoutMs(input, currentAttemptScheduledTimestampMs + startToCloseTimeoutMs - Date.now());
    const argv = commandArgv(input);
    const host = hostname();

    let outcome: CommandOutcome;
    try {
      outcome = await runCommand({
        argv,
        cwd,
        env: commandEnvironment(process.env, input.passEnv, input.env),
        logFile,
        timeoutMs,
        killGraceMs,
        signal: ctx.signal,
        heartbeatMs: HEARTBEAT_MS,
        onRunning: ({ pgid, startTime }) => ctx.heartbeat({ pgid, host, startTime }),
      });
    } catch (error) {
      if (error instanceof CommandNotStarted) throw invalidInput('exec', ctx.request.taskId, `input.argv[0]: ${error.message}`);
      throw error;
    }
    const tail = fileTail(logFile, input.tailBytes);
    const details = { exitCode: outcome.exitCode, exitSignal: outcome.exitSignal, durationMs: Math.round(outcome.durationMs), log: logFile, tail };
    ctx.logger.info({ argv0: argv[0], pid: outcome.pid, ...details, tail: undefined, leftovers: outcome.leftovers }, 'command finished');
    if (outcome.stoppedFor === 'timeout') {
      throw failure(ctx, 'CommandTimedOut', `${JSON.stringify(argv[0])} ran past its ${(timeoutMs / 1000).toFixed(1)} s and its process group was stopped; log tail:\n${tail}`, false, details);
    }
    if (outcome.exitCode !== 0) {
      throw failure(ctx, 'CommandFailed', `${JSON.stringify(argv[0])} ${describeExit(outcome)}; log tail:\n${tail}`, false, details);
    }
    const { files, unmatched } = await hashOutputFiles(cwd, input.outputs, [path.relative(cwd, logFile).split(path.sep).join('/')]);
    if (unmatched.length > 0) {
      throw failure(ctx, 'OutputMissing', `input.outputs: ${unmatched.map((g) => JSON.stringify(g)).join(', ')} matched no file in ${cwd} after the command succeeded`, true, details);
    }
    return { exitCode: 0, durationMs: details.durationMs, pid: outcome.pid, log: logFile, tail, outputs: files, ...(reapedGroup !== undefined ? { reapedGroup } : {}) };
  },
});
