import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  decideUpdate,
  type ApprovalDecision,
  type ApprovalGateSnapshot,
  approveSignal,
  rejectSignal,
} from '../shared/contract/approval';
import { resolutionSchema, resolveSignal, resolveUpdate, type Resolution, type ResolveOutcome } from '../shared/contract/delivery/escalation';
import { validateDeliveryRunInput, type DeliveryRun } from '../shared/contract/delivery/input';
import { deliveryStatusQuery, type DeliveryResult, type DeliveryStatus } from '../shared/contract/delivery/status';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { InputValidationError, issuesFromZod } from '../shared/contract/validation';
import { deliveryWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';

/** The typed client API for delivery runs; the CLI is a thin layer over it. */
export interface StartedRun {
  workflowId: string;
  runId: string;
  webUrl: string;
}

export class RunAlreadyExistsError extends Error {
  constructor(readonly workflowId: string) {
    super(`a run with id ${workflowId} already exists; pick another runId (or omit it to get a fresh one)`);
    this.name = 'RunAlreadyExistsError';
  }
}

export class DecisionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecisionRefusedError';
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly workflowId: string) {
    super(`no run with id ${workflowId} in this namespace; \`ados pending\` lists runs awaiting approval`);
    this.name = 'RunNotFoundError';
  }
}

/** Validates (refusing bad input before anything starts), then starts the run with its search attributes. */
export async function startDeliveryRun(client: Client, config: AdosConfig, raw: unknown): Promise<StartedRun> {
  const checked = validateDeliveryRunInput(raw);
  if (!checked.ok) throw new InputValidationError('delivery run', checked.issues);
  const run: DeliveryRun = checked.value;
  const workflowId = deliveryWorkflowId(run.tenantId, run.runId);
  try {
    const handle = await client.workflow.start('deliveryRun', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [run],
      typedSearchAttributes: [
        { key: AdosTenant, value: run.tenantId },
        { key: AdosKind, value: 'delivery' },
        { key: AdosStage, value: 'validating' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl: webUiWorkflowUrl(config, workflowId) };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw new RunAlreadyExistsError(workflowId);
    throw error;
  }
}

export async function getDeliveryStatus(client: Client, workflowId: string): Promise<DeliveryStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query(deliveryStatusQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

export async function getDeliveryResult(client: Client, workflowId: string): Promise<DeliveryResult> {
  return client.workflow.getHandle(workflowId).result();
}

/**
 * Sends an approval decision. By default as an Update, so that a decision that would not count is
 * refused at once with the reason; `via: 'signal'` fires and forgets (the run audits the outcome).
 */
export async function decide(
  client: Client,
  workflowId: string,
  decision: ApprovalDecision,
  via: 'update' | 'signal' = 'update',
): Promise<ApprovalGateSnapshot | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    if (via === 'signal') {
      const payload = { approver: decision.approver, comment: decision.comment };
      await handle.signal(decision.decision === 'approve' ? approveSignal : rejectSignal, payload);
      return undefined;
    }
    return await handle.executeUpdate(decideUpdate, { args: [decision] });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw await notFoundOrClosed(client, workflowId);
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause as Error | undefined;
      throw new DecisionRefusedError(cause?.message ?? error.message);
    }
    throw error;
  }
}

/** The server answers "not found" to a message for a closed run; say which it is. */
async function notFoundOrClosed(client: Client, workflowId: string): Promise<Error> {
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return new DecisionRefusedError(`run ${workflowId} has already finished (${status.name.toLowerCase()}); it takes no more decisions`);
  } catch {
    return new RunNotFoundError(workflowId);
  }
}

/**
 * Resolves a task waiting at the human rung of the escalation ladder: retry, skip or abort. By default as an Update,
 * so that a resolution that would not count (no such escalated task, run finished, ...) is refused at once with the
 * reason; `via: 'signal'` fires and forgets (the run audits whether it counted).
 */
export async function resolveTask(
  client: Client,
  workflowId: string,
  resolution: Resolution,
  via: 'update' | 'signal' = 'update',
): Promise<ResolveOutcome | undefined> {
  const parsed = resolutionSchema.safeParse(resolution);
  if (!parsed.success) throw new InputValidationError('resolution', issuesFromZod(parsed.error));
  const handle = client.workflow.getHandle(workflowId);
  try {
    if (via === 'signal') {
      await handle.signal(resolveSignal, parsed.data);
      return undefined;
    }
    return await handle.executeUpdate(resolveUpdate, { args: [parsed.data] });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw await notFoundOrClosed(client, workflowId);
    if (error instanceof WorkflowUpdateFailedError) {
      const cause = error.cause as Error | undefined;
      throw new DecisionRefusedError(cause?.message ?? error.message);
    }
    throw error;
  }
}

export interface PendingRun {
  workflowId: string;
  tenantId?: string;
  kind?: string;
  stage?: string;
  startTime: string;
  webUrl: string;
  /** Delivery runs: what the human is asked for (an approval, or resolutions of escalated tasks), from the status query. */
  waitingFor?: string;
  /** Delivery runs: the tasks escalated to a human, by id. */
  escalatedTasks?: string[];
}

/**
 * Runs awaiting a human, found through the AdosAwaitingApproval search attribute: runs at an approval gate and
 * delivery runs with a task at the escalation ladder's human rung. For delivery runs the status query adds what they
 * wait for (best effort: a run that does not answer is still listed).
 */
export async function listPending(client: Client, config: AdosConfig, tenantId?: string): Promise<PendingRun[]> {
  const filters = ['AdosAwaitingApproval = true', "ExecutionStatus = 'Running'"];
  if (tenantId) filters.push(`AdosTenant = '${tenantId.replace(/'/g, '')}'`);
  const pending: PendingRun[] = [];
  for await (const execution of client.workflow.list({ query: filters.join(' AND ') })) {
    pending.push({
      workflowId: execution.workflowId,
      tenantId: execution.typedSearchAttributes.get(AdosTenant),
      kind: execution.typedSearchAttributes.get(AdosKind),
      stage: execution.typedSearchAttributes.get(AdosStage),
      startTime: execution.startTime.toISOString(),
      webUrl: webUiWorkflowUrl(config, execution.workflowId),
    });
  }
  await Promise.all(
    pending
      .filter((p) => p.kind === 'delivery')
      .map(async (p) => {
        try {
          const status = await client.workflow.getHandle(p.workflowId).query(deliveryStatusQuery);
          if (status.waitingFor) p.waitingFor = status.waitingFor;
          if (status.escalations?.length) p.escalatedTasks = status.escalations.map((e) => e.taskId);
        } catch {
          // Listed all the same; `ados run status` will say more.
        }
      }),
  );
  return pending;
}
