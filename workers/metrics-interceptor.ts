import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { activityDuration, activityExecutions } from '../shared/node/metrics/ados-metrics';
import { tenantOfWorkflowId } from '../shared/contract/workflow-tenant';
import { activityLogContext } from '../shared/node/metrics/log-fields';

/** How an activity execution ended, for the metrics: cancellation is not a failure of the activity. */
function outcomeOf(error: unknown): 'failed' | 'cancelled' {
  return error instanceof CancelledFailure || (error as { name?: string })?.name === 'CancelledFailure' ? 'cancelled' : 'failed';
}

/**
 * Every worker's activity interceptor (README, "Observe"): counts each execution by activity type, workflow type and
 * outcome with its duration (ados_activity_executions_total, ados_activity_duration_seconds), and runs the activity
 * inside its log context, so every pino line it writes carries workflowId, runId, tenant and activityType
 * (shared/node/metrics/log-fields.ts).
 */
export const activityMetricsInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const { activityType, workflowType, workflowExecution } = ctx.info;
      const workflowId = workflowExecution?.workflowId ?? '';
      const fields = { workflowId, runId: workflowExecution?.runId, tenant: tenantOfWorkflowId(workflowId), activityType };
      const started = process.hrtime.bigint();
      const finish = (outcome: 'completed' | 'failed' | 'cancelled') => {
        activityExecutions.inc({ activity_type: activityType, workflow_type: workflowType ?? '', outcome });
        activityDuration.observe({ activity_type: activityType, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      };
      try {
        const result = await activityLogContext.run(fields, () => next(input));
        finish('completed');
        return result;
      } catch (error) {
        finish(outcomeOf(error));
        throw error;
      }
    },
  },
});
