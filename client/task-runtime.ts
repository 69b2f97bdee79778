/** The typed client API for task runtimes; `ados runtime` is a thin layer over it. */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { capabilitySpec, KNOWN_CAPABILITIES } from '../shared/contract/capabilities';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { validateTaskRuntimeInput, type TaskRuntimeInput } from '../shared/contract/task-runtime/input';
import {
  cancelSignal,
  extendBudgetUpdate,
  pauseSignal,
  resumeSignal,
  setParallelismUpdate,
  taskRuntimeProgressQuery,
  type BudgetExtended,
  type ControlSignal,
  type TaskRuntimeProgress,
} from '../shared/contract/task-runtime/messages';
import { InputValidationError } from '../shared/contract/validation';
import { taskRuntimeWorkflowId } from '../shared/contract/workflow-ids';
import type { StoredRegistration } from '../shared/node/capabilities/registrations';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { Db } from '../shared/node/db';
import { latestRuntimeCheckpoint, type StoredRuntimeCheckpoint, type TaskRef } from '../shared/node/task-runtime/store';
import { messageFailure, RunNotFoundError } from './common/run-errors';
import { barText, BLOCK_BAR } from './common/progress-bar';

export interface StartedTaskRuntime {
  workflowId: string;
  runId: string;
  webUrl: string;
}

/** A task runtime of this task is running already (exit code 2): pause, resume or cancel it instead. */
export class RuntimeAlreadyRunningError extends Error {
  constructor(readonly workflowId: string) {
    super(`task runtime ${workflowId} is already running; see \`ados runtime status\`, or pause/cancel it first`);
    this.name = 'RuntimeAlreadyRunningError';
  }
}

/**
 * A request made ready to start: validated, and for a plugin capability its spec from the workers' registrations (an
 * unknown capability is refused with the known ones listed). Throws InputValidationError with every issue.
 */
export function prepareTaskRuntime(raw: unknown, registrations: readonly StoredRegistration[] | undefined): TaskRuntimeInput {
  const capability = (raw as { capability?: unknown } | null)?.capability;
  const registered = typeof capability === 'string' && !capabilitySpec(capability) ? registrations?.find((r) => r.capability === capability) : undefined;
  const input = registered && !(raw as { capabilitySpec?: unknown }).capabilitySpec ? { ...(raw as object), capabilitySpec: registered.spec } : raw;
  const known = [...new Set([...KNOWN_CAPABILITIES, ...(registrations ?? []).map((r) => r.capability)])];
  const checked = validateTaskRuntimeInput(input, known);
  if (!checked.ok) throw new InputValidationError('task runtime', checked.issues);
  return checked.value;
}

/** Starts `taskRuntime` with ID `runtime-<tenant>-<task>`, its search attributes and its summary. */
export async function startTaskRuntime(client: Client, config: AdosConfig, input: TaskRuntimeInput): Promise<StartedTaskRuntime> {
  const workflowId = taskRuntimeWorkflowId(input.tenantId, input.taskId);
  const source = input.source.kind === 'table' ? `the items loaded for task ${input.taskId}` : `${input.source.items} generated items`;
  try {
    const handle = await client.workflow.start('taskRuntime', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [input],
      staticSummary: `${input.tenantId}: ${input.resume ? 'resume' : 'run'} ${input.capability} over ${source}, ${input.batchSize} per batch, up to ${input.maxParallel} at once, for ${input.budget}`,
      staticDetails: `Requested by ${input.requestedBy}. Pacing ${input.pacing ?? 'none'}; a failing batch is retried ${input.onFailure.retries} times, then ${input.onFailure.then === 'stop' ? 'stops the runtime' : 'dead-lettered'}.`,
      typedSearchAttributes: [
        { key: AdosTenant, value: input.tenantId },
        { key: AdosKind, value: 'task-runtime' },
        { key: AdosStage, value: 'starting' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl: webUiWorkflowUrl(config, workflowId) };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw new RuntimeAlreadyRunningError(workflowId);
    throw error;
  }
}

/** Where a runtime stands: Temporal's status of its latest run and, when it answers, its progress query. */
export interface TaskRuntimeStatus {
  workflowId: string;
  /** RUNNING, COMPLETED, TERMINATED, … of the chain's latest run. */
  execution: string;
  progress?: TaskRuntimeProgress;
}

export async function getTaskRuntimeStatus(client: Client, workflowId: string): Promise<TaskRuntimeStatus> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    const execution = description.status.name;
    if (execution === 'COMPLETED') return { workflowId, execution, progress: (await handle.result()) as TaskRuntimeProgress };
    if (execution !== 'RUNNING') return { workflowId, execution };
    return { workflowId, execution, progress: await handle.query(taskRuntimeProgressQuery) };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

/** Sends pause, resume or cancel to a running runtime; a closed one is refused with its status (exit 4). */
export async function signalTaskRuntime(client: Client, workflowId: string, signal: 'pause' | 'resume' | 'cancel', message: ControlSignal): Promise<void> {
  const definition = { pause: pauseSignal, resume: resumeSignal, cancel: cancelSignal }[signal];
  try {
    await client.workflow.getHandle(workflowId).signal(definition, message);
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}

/** Whether the chain's latest run is running. */
export async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * Resumes a runtime that ended (deadline reached, cancelled, failed, terminated by hand) from its latest checkpoint in
 * PostgreSQL: a new run with the input the checkpoint holds (and `budget` instead of its own, when given).
 */
export async function resumeFromDatabase(client: Client, config: AdosConfig, db: Db, task: TaskRef, budget?: string): Promise<StartedTaskRuntime & { from: StoredRuntimeCheckpoint }> {
  const from = await latestRuntimeCheckpoint(db, task);
  if (!from) throw new RunNotFoundError(taskRuntimeWorkflowId(task.tenantId, task.taskId));
  const input = prepareTaskRuntime({ ...from.input, resume: true, ...(budget ? { budget } : {}) }, undefined);
  return { ...(await startTaskRuntime(client, config, input)), from };
}

/** Changes how many batches run at once; a refused value (out of range) is a DecisionRefusedError naming the field. */
export async function setRuntimeParallelism(client: Client, workflowId: string, parallelism: number, by?: string): Promise<{ previous: number; parallelism: number }> {
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(setParallelismUpdate, { args: [{ parallelism, by }] });
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}

/** Adds running time to the budget ("6h"); answers the new deadline. A refused extension is a DecisionRefusedError. */
export async function extendRuntimeBudget(client: Client, workflowId: string, by: string, requestedBy?: string): Promise<BudgetExtended> {
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(extendBudgetUpdate, { args: [{ by, requestedBy }] });
  } catch (error) {
    throw await messageFailure(client, workflowId, error);
  }
}

/** `[██████░░░░]`: the share done, `width` cells wide (cli-progress's bar; nothing known of the total: empty). */
export function progressBar(done: number, total: number, width = BLOCK_BAR.width): string {
  return `[${barText(total > 0 ? done / total : 0, { ...BLOCK_BAR, width })}]`;
}
