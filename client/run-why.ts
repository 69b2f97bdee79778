/**
 * `ados run why <id>` (README, "`ados run why`"): every reason a delivery run waits, one line each, gathered from
 * what knows it: the run's status query (approval, escalations, its own waitingFor), the tenant gate's state query
 * (its place in the queue), Temporal's view of the queues its unfinished tasks need (pollers, backlog → backpressure).
 * Read-only: nothing here signals anything.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { ApprovalGateSnapshot } from '../shared/contract/approval';
import { resolveCommand } from '../shared/contract/delivery/escalation';
import type { DeliveryStatus } from '../shared/contract/delivery/status';
import { isUnserved } from '../shared/contract/routing';
import { backpressureReading, type BackpressureReading, type BackpressureThresholds } from '../shared/contract/tenancy/backpressure';
import { describeGateWait, tenantGateStateQuery, type TenantGateView } from '../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../shared/contract/workflow-ids';
import type { AdosConfig } from '../shared/node/config';
import { describeCapabilities } from '../shared/node/task-queue-report';
import { getDeliveryStatus } from './delivery';

/** Where a reason comes from. */
export type WhySource = 'approval' | 'escalation' | 'run' | 'gate' | 'worker' | 'backpressure';

export interface WhyReason {
  source: WhySource;
  line: string;
}

/** `ados run why --json`. */
export interface RunWhy {
  workflowId: string;
  tenantId: string;
  stage: DeliveryStatus['stage'];
  /** Empty when the run waits for nothing (it works, or it has finished: see `outcome`). */
  reasons: WhyReason[];
  outcome?: DeliveryStatus['outcome'];
  /** The capabilities of the run's unfinished tasks: the queues looked at. */
  capabilities: string[];
  backpressure?: BackpressureReading;
  /** Why the tenant gate could not be asked, when it could not (no gate yet, or it did not answer). */
  gateUnavailable?: string;
}

/** "awaiting approval by 1 of [alice, bob]": approvals still needed, of the approvers who have not approved. */
export function approvalReason(gate: ApprovalGateSnapshot): string {
  const needed = Math.max(0, gate.policy.quorum - gate.approvedBy.length);
  const remaining = gate.policy.approvers.filter((a) => !gate.approvedBy.includes(a));
  return `awaiting approval by ${needed} of [${remaining.join(', ')}]`;
}

/** The waitingFor parts that the lines of their own sources (approval, escalations, queue notices, gate) replace. */
const REPLACED_PARTS = [/^approval by /, /^a resolution of task /, /^a worker: /, /^a run slot of tenant /];

/** The capabilities of tasks not yet done, in environments not yet completed. */
export function unfinishedCapabilities(status: DeliveryStatus): string[] {
  const capabilities = new Set<string>();
  for (const environment of status.environments) {
    if (status.completedEnvironments.includes(environment)) continue;
    for (const task of Object.values(status.tasks[environment] ?? {})) {
      if (task.state === 'pending' || task.state === 'running') capabilities.add(task.capability);
    }
  }
  return [...capabilities].sort();
}

/** The reasons the run itself knows (pure: from its status query). */
export function runReasons(status: DeliveryStatus): WhyReason[] {
  const reasons: WhyReason[] = [];
  if (status.stage === 'awaiting_approval' && status.approval && !status.approval.outcome) reasons.push({ source: 'approval', line: approvalReason(status.approval) });
  for (const e of status.escalations ?? []) {
    reasons.push({ source: 'escalation', line: `task ${e.taskId} in ${e.environment} waits for a human since ${e.since}: ${resolveCommand(status.workflowId, e.taskId)}` });
  }
  for (const part of status.waitingFor?.split('; ') ?? []) {
    if (!REPLACED_PARTS.some((pattern) => pattern.test(part))) reasons.push({ source: 'run', line: `waiting for ${part}` });
  }
  return reasons;
}

export interface ExplainOptions {
  thresholds: BackpressureThresholds;
}

/** Every reason `workflowId` (a delivery run) waits now. RunNotFoundError when there is no such run. */
export async function explainRun(client: Client, config: AdosConfig, workflowId: string, options: ExplainOptions): Promise<RunWhy> {
  const status = await getDeliveryStatus(client, workflowId);
  const why: RunWhy = { workflowId, tenantId: status.tenantId, stage: status.stage, reasons: [], capabilities: [], ...(status.outcome ? { outcome: status.outcome } : {}) };
  if (status.stage === 'finished') return why;
  why.reasons.push(...runReasons(status));

  const gate = await gateView(client, status.tenantId);
  if (typeof gate === 'string') why.gateUnavailable = gate;
  else why.reasons.push(...describeGateWait(gate, workflowId).map((line): WhyReason => ({ source: 'gate', line })));
  // The gate is asked first: a run waiting for its slot has not scheduled a task yet, and its queues do not matter.
  const waitsAtGate = why.reasons.some((r) => r.source === 'gate');
  why.capabilities = waitsAtGate ? [] : unfinishedCapabilities(status);
  if (why.capabilities.length > 0) {
    const reports = await describeCapabilities(client.workflowService, why.capabilities, config.taskQueuePrefix, { namespace: config.temporalNamespace });
    for (const report of reports.filter(isUnserved)) {
      why.reasons.push({ source: 'worker', line: `capability ${report.capability} has no worker (task queue ${report.taskQueue})` });
    }
    why.backpressure = backpressureReading(reports, options.thresholds);
    if (why.backpressure.level !== 'normal') why.reasons.push({ source: 'backpressure', line: why.backpressure.reason });
  }
  return why;
}

/** The tenant gate's state, or why it could not be read (no gate: the tenant never had one, or it is closed). */
async function gateView(client: Client, tenantId: string): Promise<TenantGateView | string> {
  const gateId = tenantGateWorkflowId(tenantId);
  try {
    return await client.workflow.getHandle(gateId).query(tenantGateStateQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return `no tenant gate ${gateId} is running`;
    return `the tenant gate ${gateId} did not answer: ${(error as Error)?.message ?? String(error)}`;
  }
}

/** The text `ados run why` prints. */
export function formatWhy(why: RunWhy): string {
  if (why.stage === 'finished') return `${why.workflowId} is finished (${why.outcome ?? 'no outcome'}): it waits for nothing`;
  if (why.reasons.length === 0) return `${why.workflowId} waits for nothing: it is working (stage ${why.stage})`;
  return why.reasons.map((r) => r.line).join('\n');
}
