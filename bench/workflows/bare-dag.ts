/**
 * The floor for bench/suites/routing-overhead.ts: the same DAG as a delivery run, scheduled with the same scheduler
 * (workflows/dag.ts) and the same capability activities on the same task queue, by a bare Temporal workflow with no
 * validation, audit, routing checks or escalation. Bench-only: bundled by the benchmark on its own, never by a worker.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import { runDag } from '../../workflows/dag';

export interface BareDagInput {
  tenantId: string;
  runId: string;
  capability: string;
  taskQueue: string;
  maxParallel: number;
  tasks: Array<{ id: string; dependsOn: string[]; input?: Record<string, unknown> }>;
}

type CapabilityActivities = Record<string, (request: CapabilityRequest) => Promise<CapabilityResult>>;

export async function bareDag(input: BareDagInput): Promise<{ succeeded: number; failed: number }> {
  // The options deliveryRun gives a task of this capability (shared/contract/capabilities.ts: noop).
  const activities = proxyActivities<CapabilityActivities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: '30s',
    scheduleToStartTimeout: '300s',
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  });
  const outcomes = await runDag(input.tasks, input.maxParallel, async (task, upstream) => {
    const result = await activities[input.capability]({
      tenantId: input.tenantId,
      workflowId: input.runId,
      runId: input.runId,
      taskId: task.id,
      environment: 'dev',
      input: task.input ?? {},
      upstream,
    });
    return result.output;
  });
  const values = Object.values(outcomes);
  return { succeeded: values.filter((o) => o.status === 'succeeded').length, failed: values.filter((o) => o.status !== 'succeeded').length };
}
