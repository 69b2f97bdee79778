import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { progressLine } from '../../shared/contract/task-runtime/messages';
import { InputValidationError } from '../../shared/contract/validation';
import { taskRuntimeWorkflowId } from '../../shared/contract/workflow-ids';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { listDeadLetters, loadWorkItems, type TaskRef } from '../../shared/node/task-runtime/store';
import { readRegistrations } from '../capabilities';
import { openCliDatabase } from '../common/database';
import { RunNotFoundError } from '../common/run-errors';
import { BLOCK_BAR, liveBar } from '../common/progress-bar';
import { assertRunOfTenant, scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { emit } from '../output';
import {
  extendRuntimeBudget,
  getTaskRuntimeStatus,
  isRunning,
  prepareTaskRuntime,
  progressBar,
  resumeFromDatabase,
  setRuntimeParallelism,
  signalTaskRuntime,
  startTaskRuntime,
  type TaskRuntimeStatus,
} from '../task-runtime';
import { withClient } from './context';

interface StartOptions {
  tenant?: string;
  items?: number;
  table?: boolean;
  capability: string;
  capabilityInput?: string;
  batchSize?: number;
  maxParallel?: number;
  checkpointEvery?: number;
  budget?: string;
  pacing?: string;
  retries?: number;
  onFailure?: string;
  handOverAtEvents?: number;
  requestedBy?: string;
  json?: boolean;
}

/** A flag's whole number ≥ `min`, or a usage error naming the flag. */
const wholeNumber = (flag: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new InputValidationError('option', [{ path: flag, message: `must be a whole number ≥ ${min} (got "${value}")` }]);
  return n;
};

function capabilityInputOf(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new InputValidationError('option', [{ path: '--capability-input', message: `must be a JSON object (${(error as Error).message})` }]);
  }
}

/** The task and its runtime's workflow ID, in the tenant's scope (checked before connecting). */
function taskScope(task: string, tenantFlag: string | undefined): TaskRef & { workflowId: string } {
  const tenantId = scopedTenant(tenantFlag);
  return { tenantId, taskId: task, workflowId: taskRuntimeWorkflowId(tenantId, task) };
}

/** A database for a command that needs one, closed after it. */
async function withDatabase<T>(cfg: AdosConfig, why: string, fn: (db: Awaited<ReturnType<typeof openCliDatabase>>['db']) => Promise<T>): Promise<T> {
  const database = await openCliDatabase(cfg, why);
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}

function statusText(status: TaskRuntimeStatus): string {
  if (!status.progress) return `${status.workflowId}: ${status.execution.toLowerCase()} (no progress to show; \`ados runtime resume\` continues it from its checkpoint)`;
  const p = status.progress;
  return [
    `${status.workflowId}: ${status.execution.toLowerCase()}`,
    `  ${progressBar(p.done, p.total)} ${progressLine(p)}`,
    ...(p.reason ? [`  reason: ${p.reason}`] : []),
  ].join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Redraws the progress bar (a terminal) or prints one line per change (a pipe; NDJSON with --json) until the chain's
 * latest run is no longer running.
 */
async function watchStatus(fetch: () => Promise<TaskRuntimeStatus>, json: boolean, intervalMs: number): Promise<TaskRuntimeStatus> {
  // On a terminal, cli-progress redraws the bar in place (client/common/progress-bar.ts), with the workflow's own rate and ETA beside it.
  const live = !json && process.stdout.isTTY ? liveBar(process.stdout, BLOCK_BAR, false) : undefined;
  let last = '';
  try {
    for (;;) {
      let status: TaskRuntimeStatus;
      try {
        status = await fetch();
      } catch (error) {
        // Between two runs of the chain (continue-as-new) a query can miss; the next poll answers.
        if (error instanceof RunNotFoundError) throw error;
        await sleep(intervalMs);
        continue;
      }
      const { progress } = status;
      if (live && progress) live.update(progress.done, progress.total, progressLine(progress));
      else {
        const line = json ? JSON.stringify(status) : progress ? `${progressBar(progress.done, progress.total)} ${progressLine(progress)}` : statusText(status);
        if (line !== last) process.stdout.write(`${line}\n`);
        last = line;
      }
      if (status.execution !== 'RUNNING') return status;
      await sleep(intervalMs);
    }
  } finally {
    live?.stop();
  }
}

/** `ados runtime start|load|status|pause|resume|cancel|extend|parallelism|dead-letters`. */
export function registerRuntimeCommands(program: Command): void {
  const runtime = program.command('runtime').description('task runtimes: long autonomous work in checkpointed batches (24 h and more)');

  runtime
    .command('start')
    .description('start a task runtime over the items loaded for --task (--table) or N generated items (--items N)')
    .requiredOption('--task <id>', 'the task: its work items and its runtime runtime-<tenant>-<task>')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--table', 'process the items loaded with `ados runtime load` (the default)')
    .option('--items <n>', 'process N generated items instead (tests, benchmarks)', wholeNumber('--items', 1))
    .option('--capability <name>', 'the capability that processes a batch (built-in or plugin)', 'batch')
    .option('--capability-input <json>', 'fields added to every batch input, as a JSON object')
    .option('--batch-size <n>', 'items per batch (default 100, at most 1000)', wholeNumber('--batch-size', 1))
    .option('--max-parallel <n>', 'batches at once (default 4, at most 64)', wholeNumber('--max-parallel', 1))
    .option('--checkpoint-every <n>', 'items between checkpoints (default 500)', wholeNumber('--checkpoint-every', 1))
    .option('--budget <duration>', 'running time allowed, e.g. 24h (default 24h; paused time does not count)')
    .option('--pacing <duration>', 'least time between two batch starts, e.g. 30s')
    .option('--retries <n>', 'retries of a failing batch before --on-failure applies (default 3)', wholeNumber('--retries', 0))
    .option('--on-failure <policy>', 'dead-letter (go on) or stop (default dead-letter)')
    .option('--hand-over-at-events <n>', 'history events per run before continue-as-new (default 5000)', wholeNumber('--hand-over-at-events', 1))
    .option('--requested-by <user>', 'who starts it (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (opts: StartOptions & { task: string }) => {
      const cfg = loadConfig();
      const tenantId = scopedTenant(opts.tenant);
      if (opts.items !== undefined && opts.table) throw new InputValidationError('option', [{ path: '--items', message: 'give --items or --table, not both' }]);
      const raw = {
        tenantId,
        taskId: opts.task,
        source: opts.items !== undefined ? { kind: 'generator', items: opts.items } : { kind: 'table' },
        capability: opts.capability,
        ...(opts.capabilityInput !== undefined ? { capabilityInput: capabilityInputOf(opts.capabilityInput) } : {}),
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
        ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
        ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
        ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
        ...(opts.pacing !== undefined ? { pacing: opts.pacing } : {}),
        ...(opts.retries !== undefined || opts.onFailure !== undefined ? { onFailure: { ...(opts.retries !== undefined ? { retries: opts.retries } : {}), ...(opts.onFailure !== undefined ? { then: opts.onFailure } : {}) } } : {}),
        ...(opts.handOverAtEvents !== undefined ? { handOverAtEvents: opts.handOverAtEvents } : {}),
        requestedBy: opts.requestedBy ?? userInfo().username,
      };
      const input = prepareTaskRuntime(raw, await readRegistrations(cfg));
      await withClient(async ({ client }) => {
        const started = await startTaskRuntime(client, cfg, input);
        emit(!!opts.json, started, () => `started ${started.workflowId}\n  Web UI:  ${started.webUrl}\n  follow:  ados runtime status ${input.taskId} --tenant ${tenantId} --watch`);
      });
    });

  runtime
    .command('load')
    .description('load work items from an NDJSON file ({"key": "...", "payload": …} per line); idempotent by key; a file with a bad line loads nothing')
    .requiredOption('--task <id>', 'the task the items are for')
    .requiredOption('--file <path>', 'the NDJSON file (streamed: any size)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { task: string; file: string; tenant?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const task = taskScope(opts.task, opts.tenant);
      const report = await withDatabase(cfg, '`ados runtime load`', (db) => loadWorkItems(db, task, opts.file));
      emit(!!opts.json, { ...task, ...report }, () => `loaded ${report.added} new item(s) of ${report.lines} line(s) into task ${task.taskId} (${report.alreadyLoaded} already there); the task has ${report.itemCount} item(s)`);
    });

  runtime
    .command('status')
    .description("a runtime's progress: done/total, rate, ETA, run of the chain, paused, deadline, dead letters")
    .argument('<task>', 'the task id')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--watch', 'a live progress bar until it stops (with --json: one JSON line per poll)')
    .option('--interval <ms>', 'poll interval for --watch (default 1000)', wholeNumber('--interval', 100))
    .option('--json', 'print JSON')
    .action(async (task: string, opts: { tenant?: string; watch?: boolean; interval?: number; json?: boolean }) => {
      const scope = taskScope(task, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, scope.workflowId, scope.tenantId);
        const fetch = () => getTaskRuntimeStatus(client, scope.workflowId);
        if (opts.watch) {
          await watchStatus(fetch, !!opts.json, opts.interval ?? 1000);
          return;
        }
        const status = await fetch();
        emit(!!opts.json, status, () => statusText(status));
      });
    });

  for (const signal of ['pause', 'cancel'] as const) {
    runtime
      .command(signal)
      .description(signal === 'pause' ? 'stop starting batches (the ones in flight finish), record a checkpoint and wait for resume' : 'stop gracefully: the batches in flight finish, a checkpoint is recorded, it ends as cancelled')
      .argument('<task>', 'the task id')
      .option('--tenant <id>', TENANT_OPTION_HELP)
      .option('--as <user>', 'who asks (default: your user name)')
      .option('--reason <text>', 'why')
      .option('--json', 'print JSON')
      .action(async (task: string, opts: { tenant?: string; as?: string; reason?: string; json?: boolean }) => {
        const scope = taskScope(task, opts.tenant);
        await withClient(async ({ client }) => {
          await assertRunOfTenant(client, scope.workflowId, scope.tenantId);
          await signalTaskRuntime(client, scope.workflowId, signal, { by: opts.as ?? userInfo().username, ...(opts.reason ? { reason: opts.reason } : {}) });
          emit(!!opts.json, { workflowId: scope.workflowId, signal }, () => `${signal} sent to ${scope.workflowId}`);
        });
      });
  }

  runtime
    .command('resume')
    .description('resume a paused runtime, or continue one that ended (deadline reached, cancelled, terminated) from its checkpoint in PostgreSQL')
    .argument('<task>', 'the task id')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--as <user>', 'who asks (default: your user name)')
    .option('--budget <duration>', 'running time for the continued runtime (default: its own budget)')
    .option('--json', 'print JSON')
    .action(async (task: string, opts: { tenant?: string; as?: string; budget?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const scope = taskScope(task, opts.tenant);
      await withClient(async ({ client }) => {
        if (await isRunning(client, scope.workflowId)) {
          await assertRunOfTenant(client, scope.workflowId, scope.tenantId);
          await signalTaskRuntime(client, scope.workflowId, 'resume', { by: opts.as ?? userInfo().username });
          emit(!!opts.json, { workflowId: scope.workflowId, signal: 'resume' }, () => `resume sent to ${scope.workflowId}`);
          return;
        }
        const started = await withDatabase(cfg, '`ados runtime resume` of a runtime that ended', (db) => resumeFromDatabase(client, cfg, db, scope, opts.budget));
        emit(!!opts.json, { ...started, from: { chainIndex: started.from.chainIndex, reason: started.from.reason, cursor: started.from.state.cursor } }, () =>
          `continued ${started.workflowId} from its checkpoint (run #${started.from.chainIndex}, ${started.from.reason}, items up to ${started.from.state.cursor} done)\n  Web UI:  ${started.webUrl}`,
        );
      });
    });

  runtime
    .command('extend')
    .description('add running time to the budget (an Update: a refused value is answered at once, exit 4)')
    .argument('<task>', 'the task id')
    .requiredOption('--by <duration>', 'how much, e.g. 6h')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--as <user>', 'who asks (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (task: string, opts: { by: string; tenant?: string; as?: string; json?: boolean }) => {
      const scope = taskScope(task, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, scope.workflowId, scope.tenantId);
        const extended = await extendRuntimeBudget(client, scope.workflowId, opts.by, opts.as ?? userInfo().username);
        emit(!!opts.json, extended, () => `budget of ${scope.workflowId} extended by ${opts.by}: deadline ${extended.deadline}`);
      });
    });

  runtime
    .command('parallelism')
    .description('change how many batches run at once (an Update: out of range is refused at once, exit 4)')
    .argument('<task>', 'the task id')
    .argument('<n>', 'batches at once, 1 to 64')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (task: string, n: string, opts: { tenant?: string; json?: boolean }) => {
      const scope = taskScope(task, opts.tenant);
      await withClient(async ({ client }) => {
        await assertRunOfTenant(client, scope.workflowId, scope.tenantId);
        const changed = await setRuntimeParallelism(client, scope.workflowId, Number(n), userInfo().username);
        emit(!!opts.json, changed, () => `parallelism of ${scope.workflowId}: ${changed.previous} → ${changed.parallelism}`);
      });
    });

  runtime
    .command('dead-letters')
    .description("the task's dead letters: items a failing batch left unprocessed after its retries")
    .argument('<task>', 'the task id')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--limit <n>', 'at most this many (default 1000)', wholeNumber('--limit', 1))
    .option('--json', 'print JSON')
    .action(async (task: string, opts: { tenant?: string; limit?: number; json?: boolean }) => {
      const cfg = loadConfig();
      const scope = taskScope(task, opts.tenant);
      const letters = await withDatabase(cfg, '`ados runtime dead-letters`', (db) => listDeadLetters(db, scope, opts.limit ?? 1000));
      emit(!!opts.json, letters, () =>
        letters.length === 0 ? `no dead letters for task ${task}` : letters.map((l) => `#${l.seq} ${l.key} (batch ${l.block}, ${l.attempts} attempt(s)): ${l.error}`).join('\n'),
      );
    });
}
