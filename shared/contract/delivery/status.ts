import { defineQuery } from '@temporalio/workflow';
import type { ApprovalGateSnapshot } from '../approval';
import type { EscalationRung, EscalationView, LadderStep, StrategyState } from './escalation';
import type { Environment } from './input';

/** `escalated`: the task waits for a human (`ados resolve`). */
export type TaskState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'escalated';

export interface TaskStatus {
  state: TaskState;
  capability: string;
  /** Identity of the worker that produced the result. */
  worker?: string;
  attempt?: number;
  error?: string;
  /** The capability variant that ran (or runs) the task, when the ladder swapped it to an alternate. */
  variant?: string;
  /** The escalation rung the task is on, once it failed past its retry policy. */
  rung?: EscalationRung;
  /** Every rung so far, with its reason. */
  steps?: LadderStep[];
  /** Something the run noticed about the task's queue, e.g. "no worker polls capability X (task queue Y)". */
  notice?: string;
  /** Who resolved the task at the human rung, and how. */
  resolvedBy?: string;
}

export type DeliveryStage = 'validating' | Environment | 'awaiting_approval' | 'finished';

/** `refused`: a governance gate refused an environment (a forbidden or not allowed action, a refusing freeze). */
export type DeliveryOutcome = 'succeeded' | 'failed' | 'rejected' | 'approval_expired' | 'aborted' | 'refused';

/** A task a human chose to skip at the human rung; the run went on without its output. */
export interface SkippedTask {
  environment: Environment;
  taskId: string;
  by: string;
  comment?: string;
}

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
  /** Tasks waiting for a human at the escalation ladder's last rung. */
  escalations?: EscalationView[];
  /** The strategy the remaining tasks run under (changed by the ladder's mutate rung). */
  strategy?: StrategyState;
  /** Current problems with capability queues, e.g. "no worker polls capability X (task queue Y)". */
  notices?: string[];
}

export interface DeliveryResult {
  workflowId: string;
  outcome: DeliveryOutcome;
  completedEnvironments: Environment[];
  reason?: string;
  /** Outputs of the last environment's tasks, by task id. */
  outputs: Record<string, unknown>;
  /** Tasks skipped by a human at the escalation ladder (absent when none). */
  skippedTasks?: SkippedTask[];
}

export const deliveryStatusQuery = defineQuery<DeliveryStatus>('status');
