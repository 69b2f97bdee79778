import type { Client } from '@temporalio/client';
import { deliveryStatusQuery } from '../../shared/contract/delivery/status';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { type AdosConfig, webUiWorkflowUrl } from '../../shared/node/config';

/** A run of any kind waiting for a human, as `ados pending` lists it. */
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
