/**
 * The transfer decision, pure: compares the target's holdout AUC of the transferred model with its independent
 * model's. A relative improvement above TRANSFER_SIGNIFICANCE (2%) promotes; a loss beyond it is a negative transfer
 * and reverts; anything between (exactly ±2% and ties included) keeps. The improvement is rounded to 1e-9 first, so
 * that 0.51 against 0.50 counts as exactly 2% rather than a floating-point hair above it.
 */
import { TRANSFER_SIGNIFICANCE, type DecidedTransfer, type HoldoutMetrics } from '../../../shared/contract/learning/transfer/messages';

/** Metrics a decision cannot be made on (NaN, infinite, outside [0, 1], a zero baseline): never promote on them. */
export class TransferMetricsRefused extends Error {
  override name = 'TransferMetricsRefused';
}

function checkedAuc(which: string, metrics: Pick<HoldoutMetrics, 'auc'>): number {
  const auc = metrics.auc;
  if (typeof auc !== 'number' || !Number.isFinite(auc) || auc < 0 || auc > 1) {
    throw new TransferMetricsRefused(`${which}.auc is ${String(auc)}: a holdout AUC must be a number from 0 to 1 (NaN means the holdout holds one class only)`);
  }
  return auc;
}

export function decideTransfer(independent: Pick<HoldoutMetrics, 'auc'>, transferred: Pick<HoldoutMetrics, 'auc'>): DecidedTransfer {
  const base = checkedAuc('independent', independent);
  const candidate = checkedAuc('transferred', transferred);
  if (base === 0) throw new TransferMetricsRefused('independent.auc is 0: a relative improvement over it is undefined');
  const improvement = Math.round(((candidate - base) / base) * 1e9) / 1e9;
  if (improvement > TRANSFER_SIGNIFICANCE) return { decision: 'promote', improvement, negative: false };
  if (improvement < -TRANSFER_SIGNIFICANCE) return { decision: 'revert', improvement, negative: true };
  return { decision: 'keep', improvement, negative: false };
}
