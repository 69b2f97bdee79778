import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { TransferActivities } from '../../../activities/learning/transfer/transfer-activities';
import { transferPairKey, validateTransferCycleInput, type TransferCycleRequest, type TransferPair } from '../../../shared/contract/learning/transfer/input';
import type { TransferCycleResult, TransferOutcome } from '../../../shared/contract/learning/transfer/messages';
import { AdosKind, AdosStage, AdosTenant } from '../../../shared/contract/search-attributes';
import { formatIssues } from '../../../shared/contract/validation';
import { parseTransferCycleWorkflowId } from '../../../shared/contract/workflow-ids';
import { decideTransfer, TransferMetricsRefused } from './transfer-decision';

/** Set by Temporal on every workflow a schedule starts. */
const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

const { prepareTransferDomains, extractTransferPattern, adaptTransferPattern, retrainWithTransfer, validateTransfer, recordTransferDecision } = proxyActivities<TransferActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: ['TransferAdaptationError'] },
});

/**
 * A transfer-learning cycle, started by a Temporal Schedule (ID `learning-transfer-<scheduled time>`): for each
 * configured pair, prepare both domains (and their independent models), extract the source's pattern, adapt it to the
 * target, retrain the target with it, validate both models on the target's holdout, decide (transfer-decision.ts) and
 * record. The scheduled time keys every write, so a retried or backfilled cycle for the same time writes nothing twice.
 */
export async function transferLearningCycle(raw: TransferCycleRequest): Promise<TransferCycleResult> {
  const checked = validateTransferCycleInput(raw);
  if (!checked.ok) {
    throw ApplicationFailure.create({ type: 'InvalidTransferCycleInput', message: `invalid transfer cycle input:\n${formatIssues(checked.issues)}`, details: [checked.issues], nonRetryable: true });
  }
  const input = checked.value;
  const scheduledAt = scheduledTime();
  upsertSearchAttributes([
    { key: AdosTenant, value: input.tenantId },
    { key: AdosKind, value: 'learning' },
    { key: AdosStage, value: 'running' },
  ]);
  const outcomes: TransferOutcome[] = [];
  for (const pair of input.pairs) {
    upsertSearchAttributes([{ key: AdosStage, value: `transfer ${transferPairKey(pair)}` }]);
    outcomes.push(await runPair(pair, scheduledAt, input.tenantId));
  }
  upsertSearchAttributes([{ key: AdosStage, value: 'done' }]);
  return { scheduledAt, outcomes };
}

/** The nominal time of the schedule's action: from the workflow ID, else the TemporalScheduledStartTime attribute. */
function scheduledTime(): string {
  const info = workflowInfo();
  const fromId = parseTransferCycleWorkflowId(info.workflowId);
  if (fromId) return fromId;
  const fromAttribute = info.typedSearchAttributes.get(TemporalScheduledStartTime);
  if (fromAttribute) return new Date(fromAttribute).toISOString();
  throw ApplicationFailure.create({
    type: 'NoScheduledTime',
    message: `workflow ${info.workflowId} has no scheduled time: start it from a schedule (ados schedule trigger) or with the ID learning-transfer-<ISO time>`,
    nonRetryable: true,
  });
}

async function runPair(pair: TransferPair, scheduledAt: string, tenantId: string): Promise<TransferOutcome> {
  const name = transferPairKey(pair);
  const prepared = await prepareTransferDomains.executeWithOptions({ summary: `prepare ${pair.source} and ${pair.target} (data, independent models)` }, [{ pair }]);
  const pattern = await extractTransferPattern.executeWithOptions({ summary: `extract ${pair.pattern} from ${pair.source} v${prepared.sourceVersion}` }, [{ pair }]);
  const adapted = await adaptTransferPattern.executeWithOptions({ summary: `adapt ${pair.pattern} to ${pair.target}'s features` }, [{ pair, pattern }]);
  const model = await retrainWithTransfer.executeWithOptions({ summary: `retrain ${pair.target} (${pair.method})` }, [{ pair, adapted }]);
  const metrics = await validateTransfer.executeWithOptions({ summary: `validate on ${pair.target}'s holdout` }, [{ pair, model }]);
  let decided;
  try {
    decided = decideTransfer(metrics.independent, metrics.transferred);
  } catch (error) {
    if (error instanceof TransferMetricsRefused) throw ApplicationFailure.create({ type: 'TransferMetricsRefused', message: `${name}: ${error.message}`, nonRetryable: true });
    throw error;
  }
  const recorded = await recordTransferDecision.executeWithOptions({ summary: `${decided.decision} ${name} (${(decided.improvement * 100).toFixed(2)}%)` }, [
    {
      tenantId,
      scheduledAt,
      pair,
      model,
      decided,
      figures: {
        pair: name,
        source: pair.source,
        target: pair.target,
        pattern: pair.pattern,
        method: pair.method,
        metric: 'auc',
        independent: metrics.independent,
        transferred: metrics.transferred,
        improvement: decided.improvement,
        mapping: adapted.mapping,
        sourceVersion: prepared.sourceVersion,
        targetTrainRows: prepared.targetTrainRows,
      },
    },
  ]);
  return { pair: name, decision: decided.decision, negative: decided.negative, improvement: decided.improvement, liveVersion: recorded.liveVersion, recorded: recorded.recorded, ...(recorded.registeredVersion !== undefined && decided.decision === 'promote' ? { registeredVersion: recorded.registeredVersion } : {}) };
}
