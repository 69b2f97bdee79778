import type { Environment } from './input';

/** What every capability activity receives: the task's own input plus where it runs and its inputs from upstream. */
export interface CapabilityRequest {
  tenantId: string;
  workflowId: string;
  runId: string;
  taskId: string;
  environment: Environment;
  input: Record<string, unknown>;
  /** Outputs of the tasks this one depends on, by task id. */
  upstream: Record<string, unknown>;
}

export interface CapabilityResult {
  output: unknown;
  /** Identity of the worker that ran the task, so routing is observable. */
  worker: string;
  attempt: number;
}
