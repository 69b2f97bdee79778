/**
 * Training for transfer cycles: a domain's independent model, and a target retrained with an adapted pattern by the
 * pair's method. Seeds come from names, so the same domain or pair always trains the same model (an activity retried
 * after a crash produces what the first attempt would have).
 */
import type { TransferMethod } from '../../../contract/learning/transfer/input';
import type { LinearModel } from '../../../contract/learning/transfer/messages';
import { DEFAULT_FIT, trainModel, type LabeledRows } from './model';
import type { AdaptedPattern } from './patterns';

/** How strongly the prior method pulls moved weights towards the source's (against DEFAULT_FIT.l2 towards zero). */
export const PRIOR_STRENGTH = 1;
/** A warm start's iterations: few, so the moved weights are a start the target's rows refine rather than forget. */
export const WARM_START_ITERATIONS = 60;

/** A 32-bit seed from a name (FNV-1a). */
export function seedOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** The domain's model trained on its own training rows only. */
export function trainIndependent(domain: string, featureNames: string[], train: LabeledRows): LinearModel {
  return trainModel(featureNames, train, { ...DEFAULT_FIT, seed: seedOf(`independent:${domain}`) });
}

/** The target retrained with the adapted pattern: warm start from it, a prior towards it, or over its basis. */
export function trainWithTransfer(pairName: string, method: TransferMethod, featureNames: string[], train: LabeledRows, adapted: AdaptedPattern): LinearModel {
  const seed = seedOf(`transfer:${pairName}`);
  if (adapted.kind === 'pca') return trainModel(featureNames, train, { ...DEFAULT_FIT, seed }, adapted.basis);
  if (method === 'warm-start') return trainModel(featureNames, train, { ...DEFAULT_FIT, seed, init: adapted.weights, iterations: WARM_START_ITERATIONS });
  return trainModel(featureNames, train, { ...DEFAULT_FIT, seed, anchor: adapted.weights, anchorStrength: adapted.moved.map((moved) => (moved ? PRIOR_STRENGTH : DEFAULT_FIT.l2)) });
}
