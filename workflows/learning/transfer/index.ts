import type { TransferCycleRequest } from '../../../shared/contract/learning/transfer/input';
import type { TransferCycleResult } from '../../../shared/contract/learning/transfer/messages';

/**
 * `transferLearningCycle`, whose module is evaluated only when a cycle starts (the bundle's module scope runs for every
 * workflow run). The workflow itself is workflows/learning/transfer/transfer-learning-cycle.ts.
 */
export async function transferLearningCycle(input: TransferCycleRequest): Promise<TransferCycleResult> {
  const { transferLearningCycle: run } = require('./transfer-learning-cycle') as typeof import('./transfer-learning-cycle');
  return run(input);
}
