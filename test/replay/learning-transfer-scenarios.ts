/**
 * Recorded scenarios of transferLearningCycle, listed in record-histories.ts's SCENARIOS
 * (test/histories/main/transferLearningCycle-*.json): a cycle that promotes the related synthetic domain and reverts
 * the unrelated one, and a cycle that keeps (the opposed domain by warm start). Each is started as its schedule would,
 * with the ID `learning-transfer-<scheduled time>`.
 */
import { SYNTHETIC_FEATURE_MAP, type TransferCycleRequest } from '../../shared/contract/learning/transfer/input';
import type { TransferCycleResult } from '../../shared/contract/learning/transfer/messages';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { transferCycleWorkflowId } from '../../shared/contract/workflow-ids';
import type { AdosStack } from '../helpers/stack';
import { RELATED_PAIR, UNRELATED_PAIR } from '../helpers/learning-transfer';

export interface TransferCycleScenario {
  workflowType: 'transferLearningCycle';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; outcome: string }>;
  /** `succeeded`: the cycle ended with the decisions the scenario is about. */
  expected: 'succeeded';
}

/** Runs one cycle and says `succeeded` when its decisions are `decisions`, else what they were. */
async function cycle(stack: AdosStack, scheduledAt: string, input: TransferCycleRequest, decisions: string[]): Promise<{ workflowId: string; outcome: string }> {
  const workflowId = transferCycleWorkflowId(scheduledAt);
  const result: TransferCycleResult = await stack.client.workflow.execute('transferLearningCycle', { workflowId, taskQueue: controlTaskQueue(stack.taskQueuePrefix), args: [input] });
  const got = result.outcomes.map((o) => o.decision);
  return { workflowId, outcome: got.join(',') === decisions.join(',') ? 'succeeded' : `unexpected decisions: ${got.join(',')}` };
}

export const LEARNING_TRANSFER_SCENARIOS: TransferCycleScenario[] = [
  {
    workflowType: 'transferLearningCycle',
    name: 'promoted-and-reverted',
    description: 'synthetic base → related (weights, prior): promoted; → unrelated (weights, prior): a negative transfer, reverted',
    expected: 'succeeded',
    run: (stack) => cycle(stack, '2030-01-01T00:00:00Z', { pairs: [RELATED_PAIR, UNRELATED_PAIR] }, ['promote', 'revert']),
  },
  {
    workflowType: 'transferLearningCycle',
    name: 'kept',
    description: 'synthetic base → opposed (weights, warm start): no significant change, the independent model kept',
    expected: 'succeeded',
    run: (stack) =>
      cycle(stack, '2030-01-01T12:00:00Z', { pairs: [{ source: 'synthetic-base', target: 'synthetic-opposed', pattern: 'weights', method: 'warm-start', featureMap: { ...SYNTHETIC_FEATURE_MAP } }] }, ['keep']),
  },
];
