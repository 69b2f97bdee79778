import { defineQuery } from '@temporalio/workflow';
import type { ApprovalGateSnapshot } from '../approval';
import type { Environment } from './input';

export type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface TaskStatus {
  state: TaskState;
  capability: string;
  /** Identity of the worker that produced the result. */
  worker?: string;
  attempt?: number;
  error?: string;
}

export type DeliveryStage = 'validating' | Environment | 'awaiting_approval' | 'finished';

export type DeliveryOutcome = 'succeeded' | 'failed' | 'rejected' | 'approval_expired';

export interface DeliveryStatus {
  workflowId: string;
  tenantId: string;
  runId: string;
  stage: DeliveryStage;
  environments: Environment[];
  completedEnvironments: Environment[];
  /** Per environment, per task. */
  tasks: Partial<Record<Environment, Record<string, TaskStatus>>>;
  approval?: ApprovalGateSnapshot;
  /** What the run waits for right now, in words; undefined when it is working or done. */
  waitingFor?: string;
  outcome?: DeliveryOutcome;
}

export interface DeliveryResult {
  workflowId: string;
  outcome: DeliveryOutcome;
  completedEnvironments: Environment[];
  reason?: string;
  /** Outputs of the last environment's tasks, by task id. */
  outputs: Record<string, unknown>;
}

export const deliveryStatusQuery = defineQuery<DeliveryStatus>('status');
