import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import {
  strategyTrainingInputSchema,
  type StrategyTrainingActivities,
  type StrategyTrainingInput,
  type StrategyTrainingResult,
  type TrainedModel,
} from '../../../shared/contract/learning/strategy/training';
import { AdosKind } from '../../../shared/contract/search-attributes';
import { controlTaskQueue } from '../../../shared/contract/task-queues';
import { formatIssues, issuesFromZod } from '../../../shared/contract/validation';
import { runTaskQueuePrefix } from '../../common/task-queue';

/**
 * Trains shadow (CQL) strategy models (README, "Strategy learning"): the named tenants', or (none named: the
 * `learning-strategy-training` Schedule's runs) every tenant with enough rewarded runs and some its newest model has
 * not seen. One activity per tenant, in turn: it heartbeats checkpoints, so a worker lost mid-training is noticed
 * within the heartbeat timeout and the retry resumes from the last checkpoint; its training key makes a retry after
 * the model was stored return that model.
 */
export async function strategyTraining(input: StrategyTrainingInput = {}): Promise<StrategyTrainingResult> {
  const parsed = strategyTrainingInputSchema.safeParse(input ?? {});
  if (!parsed.success) throw ApplicationFailure.create({ type: 'InvalidTrainingInput', message: `invalid strategy training input:\n${formatIssues(issuesFromZod(parsed.error))}`, nonRetryable: true });
  const { workflowId, runId } = workflowInfo();
  upsertSearchAttributes([{ key: AdosKind, value: 'learning' }]);
  const activities = proxyActivities<StrategyTrainingActivities>({
    taskQueue: controlTaskQueue(runTaskQueuePrefix()),
    startToCloseTimeout: '30m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 10 },
  });
  const tenants = parsed.data.tenantIds ?? (await activities.listStrategyTrainingTenants.executeWithOptions({ startToCloseTimeout: '1m', retry: { maximumInterval: '1m' } }, []));
  const models: TrainedModel[] = [];
  for (const tenantId of tenants) {
    models.push(await activities.trainStrategyShadowModel.executeWithOptions({ summary: `train the shadow strategy model of ${tenantId}` }, [{ tenantId, trainingKey: `${workflowId}/${runId}/${tenantId}` }]));
  }
  return { workflowId, models };
}
