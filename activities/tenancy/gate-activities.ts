import { ApplicationFailure, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import {
  TENANT_GATE_WORKFLOW_TYPE,
  tenantGateRequestSignal,
  type GateLimits,
  type HolderRef,
  type TenantGateClientActivities,
  type TenantGateInput,
  type TenantSlotsRequestInput,
} from '../../shared/contract/tenancy/gate';
import { tenantPriority } from '../../shared/contract/tenancy/priority';
import { defaultProfile } from '../../shared/contract/tenancy/profile';
import { tenantGateWorkflowId } from '../../shared/contract/workflow-ids';
import type { Db } from '../../shared/node/db';
import { getTenant } from '../../shared/node/tenancy/store';

export interface TenantGateDeps {
  db: Db;
  /** A client on the worker's own connection: signal-with-start of the gate, and describing its holders. */
  client?: Client;
}

/**
 * The tenant gate's activities (README, "Tenant gate"): the holder side's signal-with-start (requestTenantSlots) and
 * the gate's own reads: the tenant's limits, and the holders that closed without releasing.
 */
export function createTenantGateActivities(deps: TenantGateDeps) {
  const requireClient = (): Client => {
    if (deps.client) return deps.client;
    throw ApplicationFailure.create({
      type: 'TenantGateUnavailable',
      message: 'this control worker was started without a Temporal client, so it cannot reach the tenant gate; start it with createControlWorker',
      nonRetryable: true,
    });
  };

  const isClosed = async (client: Client, holder: HolderRef): Promise<boolean> => {
    try {
      const description = await client.workflow.getHandle(holder.workflowId, holder.runId).describe();
      return description.status.name !== 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return true;
      throw error;
    }
  };

  const activities = {
    /** Sends a holder's acquires and releases to its tenant's gate, starting the gate when it is not running. */
    async requestTenantSlots(input: TenantSlotsRequestInput): Promise<void> {
      const client = requireClient();
      const args: [TenantGateInput] = [{ tenantId: input.tenantId, taskQueuePrefix: input.taskQueuePrefix }];
      await client.workflow.signalWithStart(TENANT_GATE_WORKFLOW_TYPE, {
        workflowId: tenantGateWorkflowId(input.tenantId),
        taskQueue: controlTaskQueue(input.taskQueuePrefix),
        args,
        signal: tenantGateRequestSignal,
        signalArgs: [input.request],
        priority: tenantPriority(input.tenantId),
        staticSummary: `${input.tenantId}: tenant gate (concurrent runs, agent task slots, rate limits)`,
        typedSearchAttributes: [
          { key: AdosTenant, value: input.tenantId },
          { key: AdosKind, value: 'tenancy' },
          { key: AdosStage, value: 'serving' },
          { key: AdosAwaitingApproval, value: false },
        ],
      });
    },

    /** The limits of the tenant's profile (the defaults for a tenant nobody created). */
    async loadGateLimits(input: { tenantId: string }): Promise<GateLimits> {
      const limits = (await getTenant(deps.db, input.tenantId))?.profile.limits ?? defaultProfile().limits;
      return {
        maxConcurrentRuns: limits.maxConcurrentRuns,
        maxConcurrentTasksPerAgent: limits.maxConcurrentTasksPerAgent,
        priority: limits.priority,
        runStartsPerMinute: limits.runStartsPerMinute,
        runStartBurst: limits.runStartBurst,
        agentTaskStartsPerMinute: limits.agentTaskStartsPerMinute,
        agentTaskStartBurst: limits.agentTaskStartBurst,
      };
    },

    /** The holders (of those given) that are closed or gone: the gate takes their slots back. */
    async findClosedHolders(input: { holders: HolderRef[] }): Promise<HolderRef[]> {
      const client = requireClient();
      const closed = await Promise.all(input.holders.map(async (holder) => ((await isClosed(client, holder)) ? holder : undefined)));
      return closed.filter((holder): holder is HolderRef => holder !== undefined);
    },
  } satisfies TenantGateClientActivities & Record<string, unknown>;
  return activities;
}

export type TenantGateActivities = ReturnType<typeof createTenantGateActivities>;
