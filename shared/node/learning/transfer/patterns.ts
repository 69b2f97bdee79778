/**
 * Moving what a source domain learned to a target: extract a pattern from the source (its model's weights, its top-k
 * weights, or the PCA basis of its features), then adapt it to the target's features. Weights are in standardized
 * units (per standard deviation of their feature), so a feature measured on another scale in the target (bytes vs
 * megabytes) keeps its weight once the target is standardized by its own statistics: that is the scaling. Features
 * are matched by name, or through the pair's featureMap (target name → source name).
 */
import { Matrix } from 'ml-matrix';
import type { TransferPattern } from '../../../contract/learning/transfer/input';
import type { FeatureMapping, LinearModel } from '../../../contract/learning/transfer/messages';
import { pcaBasis } from './model';

/** A pattern over the source's features. */
export type SourcePattern =
  | { kind: 'weights' | 'top-k'; featureNames: string[]; weights: number[]; moved: boolean[] }
  | { kind: 'pca'; featureNames: string[]; basis: number[][] };

/** A pattern over the target's features, ready to train with. */
export type AdaptedPattern =
  | { kind: 'weights' | 'top-k'; weights: number[]; moved: boolean[]; mapping: FeatureMapping }
  | { kind: 'pca'; basis: number[][]; mapping: FeatureMapping };

/** Refused adaptations (no feature in common): the pair's configuration must change, a retry cannot help. */
export class TransferAdaptationError extends Error {
  override name = 'TransferAdaptationError';
}

export interface ExtractRequest {
  pattern: TransferPattern;
  topK: number;
  components: number;
}

/** The pattern of `request.pattern` from the source's live model (weights) or its training features (PCA). */
export function extractPattern(model: LinearModel, sourceTrainFeatures: number[][], request: ExtractRequest): SourcePattern {
  if (request.pattern === 'pca') return { kind: 'pca', featureNames: model.featureNames, basis: pcaBasis(sourceTrainFeatures, request.components) };
  if (model.basis) throw new TransferAdaptationError('the source model is over a PCA basis: its weights are not per feature, so they cannot move as weights');
  if (request.pattern === 'weights') return { kind: 'weights', featureNames: model.featureNames, weights: [...model.weights], moved: model.weights.map(() => true) };
  const ranked = model.weights.map((w, i) => ({ w: Math.abs(w), i })).sort((a, b) => b.w - a.w || a.i - b.i);
  const keep = new Set(ranked.slice(0, request.topK).map((r) => r.i));
  return { kind: 'top-k', featureNames: model.featureNames, weights: model.weights.map((w, i) => (keep.has(i) ? w : 0)), moved: model.weights.map((_, i) => keep.has(i)) };
}

/** Which target feature takes which source feature (by name, or by featureMap). */
export function mapFeatures(sourceNames: readonly string[], targetNames: readonly string[], featureMap: Readonly<Record<string, string>>): FeatureMapping {
  for (const [target, source] of Object.entries(featureMap)) {
    if (!targetNames.includes(target)) throw new TransferAdaptationError(`featureMap: the target has no feature "${target}" (its features: ${targetNames.join(', ')})`);
    if (!sourceNames.includes(source)) throw new TransferAdaptationError(`featureMap.${target}: the source has no feature "${source}" (its features: ${sourceNames.join(', ')})`);
  }
  const mapped: Array<[string, string]> = [];
  const targetOnly: string[] = [];
  for (const target of targetNames) {
    const source = featureMap[target] ?? target;
    if (sourceNames.includes(source)) mapped.push([target, source]);
    else targetOnly.push(target);
  }
  const used = new Set(mapped.map(([, source]) => source));
  return { mapped, targetOnly, sourceOnly: sourceNames.filter((name) => !used.has(name)) };
}

/** The pattern over the target's features: mapped features take the source's values, the others none. */
export function adaptPattern(pattern: SourcePattern, targetNames: readonly string[], featureMap: Readonly<Record<string, string>>): AdaptedPattern {
  const mapping = mapFeatures(pattern.featureNames, targetNames, featureMap);
  if (mapping.mapped.length === 0) {
    throw new TransferAdaptationError(
      `no target feature maps to a source feature (target: ${targetNames.join(', ')}; source: ${pattern.featureNames.join(', ')}): give the pair a featureMap`,
    );
  }
  const sourceIndex = new Map(pattern.featureNames.map((name, i) => [name, i]));
  const sourceOf = new Map(mapping.mapped);
  const indexFor = (target: string) => {
    const source = sourceOf.get(target);
    return source === undefined ? undefined : sourceIndex.get(source);
  };
  if (pattern.kind === 'pca') {
    const projected = pattern.basis.map((component) => targetNames.map((name) => {
      const i = indexFor(name);
      return i === undefined ? 0 : component[i];
    }));
    const basis = orthonormalRows(projected);
    if (basis.length === 0) throw new TransferAdaptationError('the source basis has no component over the mapped features: give the pair a featureMap or more components');
    return { kind: 'pca', basis, mapping };
  }
  const weights = targetNames.map((name) => {
    const i = indexFor(name);
    return i === undefined ? 0 : pattern.weights[i];
  });
  const moved = targetNames.map((name) => {
    const i = indexFor(name);
    return i !== undefined && pattern.moved[i];
  });
  if (!moved.some(Boolean)) throw new TransferAdaptationError(`none of the source's moved weights is on a mapped feature (mapped: ${mapping.mapped.map(([t]) => t).join(', ')}): raise topK or give a featureMap`);
  return { kind: pattern.kind, weights, moved, mapping };
}

/** Gram–Schmidt over the rows; rows that lose (almost) everything to the earlier ones are dropped. */
function orthonormalRows(rows: number[][]): number[][] {
  const out: number[][] = [];
  for (const row of rows) {
    let v = Matrix.rowVector(row);
    for (const u of out) {
      const uRow = Matrix.rowVector(u);
      v = Matrix.sub(v, uRow.mul(v.dot(uRow)));
    }
    const norm = v.norm();
    if (norm > 1e-6) out.push(v.div(norm).getRow(0));
  }
  return out;
}
