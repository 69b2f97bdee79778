/**
 * The floor for bench/suites/routing-overhead.ts: the delivery run's DAG scheduled by a bare Temporal workflow the
 * way deliveryRun schedules it (runDag from workflows/dag.ts with maxParallel read through a function, every task's
 * activity options from taskActivityOptions: the same queue, timeouts, retry policy and summary), calling the same
 * capability activity with the same request on the same worker. What it leaves out is what ADOS adds: validation, the routing
 * check, the audit trail and task bookkeeping, the escalation ladder, search attributes. Bench-only: bundled by the
 * benchmark on its own, never by a worker.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import type { Environment, PlanTask } from '../../shared/contract/delivery/input';
import { runDag } from '../../workflows/dag';
import { taskActivityOptions } from '../../workflows/delivery/escalation-ladder';

export interface BareDagInput {
  tenantId: string;
  runId: string;
  /** The deployment's task-queue prefix: the tasks go to its capability queues, as a delivery run's do. */
  prefix: string;
  environment: Environment;
  maxParallel: number;
  tasks: PlanTask[];
}

type CapabilityActivities = Record<string, (request: CapabilityRequest) => Promise<CapabilityResult>>;

export async function bareDag(input: BareDagInput): Promise<{ succeeded: number; failed: number }> {
  const outcomes = await runDag(
    input.tasks,
    () => input.maxParallel,
    async (task, upstream) => {
      const request = { tenantId: input.tenantId, workflowId: input.runId, runId: input.runId, environment: input.environment };
      const { options } = taskActivityOptions(task, task.capability, { prefix: input.prefix, request });
      const result = await proxyActivities<CapabilityActivities>(options)[task.capability]({ ...request, taskId: task.id, input: task.input, upstream });
      return result.output;
    },
  );
  const values = Object.values(outcomes);
  return { succeeded: values.filter((o) => o.status === 'succeeded').length, failed: values.filter((o) => o.status !== 'succeeded').length };
}
