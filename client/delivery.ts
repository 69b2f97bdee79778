/** The typed client API for delivery runs; the CLI is a thin layer over it. */
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { resolutionSchema, resolveSignal, resolveUpdate, type Resolution, type ResolveOutcome } from '../shared/contract/delivery/escalation';
import type { DeliveryRun } from '../shared/contract/delivery/input';
import { deliveryStatusQuery, type DeliveryResult, type DeliveryStatus } from '../shared/contract/delivery/status';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { tenantPriority, type AdmittedLimits } from '../shared/contract/tenancy/priority';
import { InputValidationError, issuesFromZod } from '../shared/contract/validation';
import { deliveryWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import { prepareDeliveryRun, readRegistrations } from './capabilities';
import { withTenantApprovalPolicy } from './approvers';
import { messageFailure, RunNotFoundError } from './common/run-errors';

/** A delivery run just started: its workflow ID, first run ID and Web UI link. */
export interface StartedRun {
  workflowId: string;
  runId: string;
  webUrl: string;
}

/** A delivery run with this workflow ID exists already (exit code 2). */
export class RunAlreadyExistsError extends Error {
  constructor(readonly workflowId: string) {
    super(`a run with id ${workflowId} already exists; pick another runId (or omit it to get a fresh one)`);
    this.name = 'RunAlreadyExistsError';
  }
}

/**
 * What the Web UI shows at the top of the run: a one-line summary ("acme: 4 tasks through dev → stage → prod,
 * approval by 1 of alice, bob before prod") and the plan as details.
 */
export function deliverySummary(run: DeliveryRun): { staticSummary: string; staticDetails: string } {
  const gate = run.environments.includes('prod') && run.approval ? `, approval by ${run.approval.quorum} of ${run.approval.approvers.join(', ')} before prod` : '';
  const tasks = run.plan.tasks.map((t) => `- \`${t.id}\` (${t.capability})${t.dependsOn.length > 0 ? ` after ${t.dependsOn.join(', ')}` : ''}`);
  return {
    staticSummary: `${run.tenantId}: ${run.plan.tasks.length} task${run.plan.tasks.length === 1 ? '' : 's'} through ${run.environments.join(' → ')}${gate}`,
    staticDetails: [`Requested by ${run.requestedBy}. Goal: ${run.goal.type} (complexity ${run.goal.complexity}, risk ${run.goal.risk}).`, '', ...tasks].join('\n'),
  };
}

/**
 * Validates (refusing bad input before anything starts), asks `admit` (the tenant's admission, client/tenancy.ts
 * admitDeliveryRun; it throws to refuse), then starts the run with its search attributes and its tenant's priority.
 */
export async function startDeliveryRun(
  client: Client,
  config: AdosConfig,
  raw: unknown,
  admit?: (run: DeliveryRun, workflowId: string) => Promise<AdmittedLimits | void>,
): Promise<StartedRun> {
  // Against the built-in and the registered capabilities (DATABASE_URL), task inputs included.
  const run: DeliveryRun = prepareDeliveryRun(await withTenantApprovalPolicy(config, raw), await readRegistrations(config));
  const workflowId = deliveryWorkflowId(run.tenantId, run.runId);
  const admitted = await admit?.(run, workflowId);
  try {
    const handle = await client.workflow.start('deliveryRun', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [run],
      priority: tenantPriority(run.tenantId, admitted?.tenant.profile.limits),
      ...deliverySummary(run),
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
    throw await messageFailure(client, workflowId, error);
  }
}
