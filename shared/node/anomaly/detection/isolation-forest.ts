import { z } from 'zod';
import type { isolationForestConfigSchema } from '../../../contract/anomaly/detection';
import { SeededRandom } from './random';
import { Ring } from './ring';
import { squash } from './score';

export type IsolationForestConfig = z.output<typeof isolationForestConfigSchema>;

/** Features per sample: value, step from the previous value, deviation from the window's mean, window spread. */
export const FEATURES = 4;

export const isolationForestStateSchema = z
  .object({
    values: z.array(z.number()),
    reference: z.array(z.array(z.number())).length(FEATURES),
    seen: z.number().int().min(0),
    sinceFit: z.number().int().min(0),
    random: z.number().int(),
    forest: z.object({ sampleSize: z.number().int().min(1), trees: z.array(z.array(z.number())) }).strict().optional(),
  })
  .strict();
export type IsolationForestState = z.output<typeof isolationForestStateSchema>;

/**
 * A tree as a flat list, four numbers per node: an inner node is [feature, split, left, right] (child node indexes);
 * a leaf is [−1, c(points that reached it), 0, 0], the path length its unseparated points add. Flat numbers keep the
 * snapshot plain JSON and scoring free of allocation.
 */
type FlatTree = number[];

const EULER_GAMMA = 0.5772156649015329;

/** The average path length of an unsuccessful search in a binary search tree of n points (Liu et al. 2008, c(n)). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** Grows one isolation tree on the points `subset` (row indexes into the feature columns), to at most `heightLimit`. */
function growTree(columns: readonly Float64Array[], subset: Int32Array, heightLimit: number, random: SeededRandom): FlatTree {
  const tree: FlatTree = [];
  const spanFeatures: number[] = [];
  const spanMin: number[] = [];
  const spanMax: number[] = [];
  // Partitions subset[from, to) in place, as quicksort does, so no node allocates.
  const grow = (from: number, to: number, depth: number): number => {
    const node = tree.length / 4;
    const size = to - from;
    tree.push(-1, averagePathLength(size), 0, 0);
    if (depth >= heightLimit || size <= 1) return node;
    spanFeatures.length = 0;
    spanMin.length = 0;
    spanMax.length = 0;
    for (let f = 0; f < columns.length; f += 1) {
      const column = columns[f];
      let min = Infinity;
      let max = -Infinity;
      for (let k = from; k < to; k += 1) {
        const v = column[subset[k]];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (max > min) {
        spanFeatures.push(f);
        spanMin.push(min);
        spanMax.push(max);
      }
    }
    if (spanFeatures.length === 0) return node;
    const pick = random.below(spanFeatures.length);
    const feature = spanFeatures[pick];
    const split = spanMin[pick] + random.next() * (spanMax[pick] - spanMin[pick]);
    const column = columns[feature];
    let middle = from;
    for (let k = from; k < to; k += 1) {
      if (column[subset[k]] < split) {
        const swap = subset[k];
        subset[k] = subset[middle];
        subset[middle] = swap;
        middle += 1;
      }
    }
    tree[node * 4] = feature;
    tree[node * 4 + 1] = split;
    tree[node * 4 + 2] = grow(from, middle, depth + 1);
    tree[node * 4 + 3] = grow(middle, to, depth + 1);
    return node;
  };
  grow(0, subset.length, 0);
  return tree;
}

/**
 * Every tree of a forest in typed arrays, for scoring: node n splits on `feature[n]` at `value[n]` into `left[n]` and
 * `right[n]`, or is a leaf (feature −1) adding `value[n]`; tree t starts at node `roots[t]`. Integer arrays for the
 * indexes keep the walk on V8's fast element paths.
 */
interface PackedForest {
  feature: Int32Array;
  value: Float64Array;
  left: Int32Array;
  right: Int32Array;
  roots: Int32Array;
  /** c(ψ), the average path length the isolation score is relative to. */
  normalizer: number;
}

function pack(forest: { sampleSize: number; trees: FlatTree[] }): PackedForest {
  const count = forest.trees.reduce((n, tree) => n + tree.length / 4, 0);
  const packed: PackedForest = {
    feature: new Int32Array(count),
    value: new Float64Array(count),
    left: new Int32Array(count),
    right: new Int32Array(count),
    roots: new Int32Array(forest.trees.length),
    normalizer: averagePathLength(forest.sampleSize),
  };
  let base = 0;
  forest.trees.forEach((tree, t) => {
    packed.roots[t] = base;
    for (let n = 0; n < tree.length / 4; n += 1) {
      packed.feature[base + n] = tree[n * 4];
      packed.value[base + n] = tree[n * 4 + 1];
      packed.left[base + n] = base + tree[n * 4 + 2];
      packed.right[base + n] = base + tree[n * 4 + 3];
    }
    base += tree.length / 4;
  });
  return packed;
}

/**
 * An isolation forest (Liu, Ting and Zhou 2008) over sliding-window features, refitted every `refitEvery` samples on
 * a subsample of the rolling reference of past feature vectors. Each sample is scored by the forest fitted before it,
 * then joins the reference; the seeded generator is the only source of randomness and is in the snapshot.
 */
export class IsolationForestDetector {
  /** The last `featureWindow` values before the current one. */
  private readonly values: Ring;
  private readonly reference: Ring[];
  private seen: number;
  private sinceFit: number;
  private readonly random: SeededRandom;
  private forest?: { sampleSize: number; trees: FlatTree[] };
  private packed?: PackedForest;

  constructor(
    private readonly config: IsolationForestConfig,
    state?: IsolationForestState,
  ) {
    this.values = new Ring(config.featureWindow, state?.values ?? []);
    this.reference = Array.from({ length: FEATURES }, (_, f) => new Ring(config.reference, state?.reference[f] ?? []));
    this.seen = state?.seen ?? 0;
    this.sinceFit = state?.sinceFit ?? 0;
    this.random = new SeededRandom(state?.random ?? config.seed);
    this.forest = state?.forest;
    this.packed = this.forest ? pack(this.forest) : undefined;
  }

  /** The feature vector of `value` given the values before it. */
  features(value: number): number[] {
    const n = this.values.size;
    if (n === 0) return [value, 0, 0, 0];
    let sum = 0;
    for (let i = 0; i < n; i += 1) sum += this.values.at(i);
    const mean = sum / n;
    // The spread of the window that ends with `value` (its oldest past value drops out when the ring is full).
    const from = n === this.config.featureWindow ? 1 : 0;
    let windowSum = value;
    for (let i = from; i < n; i += 1) windowSum += this.values.at(i);
    const windowMean = windowSum / (n - from + 1);
    let squares = (value - windowMean) ** 2;
    for (let i = from; i < n; i += 1) squares += (this.values.at(i) - windowMean) ** 2;
    return [value, value - this.values.fromEnd(0), value - mean, Math.sqrt(squares / (n - from + 1))];
  }

  /** The isolation score s = 2^(−E[h(x)] / c(ψ)) of a feature vector: near 1 isolated, 0.5 or below ordinary. */
  isolation(x: readonly number[]): number {
    const packed = this.packed;
    if (!packed) return 0;
    const { feature, value, left, right, roots } = packed;
    let total = 0;
    for (let t = 0; t < roots.length; t += 1) {
      // The path length of x in tree t, with c(size) added at the leaf for the points it did not separate.
      let node = roots[t];
      let f = feature[node];
      while (f >= 0) {
        node = x[f] < value[node] ? left[node] : right[node];
        f = feature[node];
        total += 1;
      }
      total += value[node];
    }
    return 2 ** (-(total / roots.length) / packed.normalizer);
  }

  /** Scores `value`, then adds its features to the reference and refits when due. */
  push(value: number): number {
    const x = this.features(value);
    const score = squash(this.isolation(x) - this.config.offset, this.config.scale);
    for (let f = 0; f < FEATURES; f += 1) this.reference[f].push(x[f]);
    this.values.push(value);
    this.seen += 1;
    this.sinceFit += 1;
    const due = this.forest ? this.sinceFit >= this.config.refitEvery : this.seen >= this.config.warmup;
    if (due) this.fit();
    return score;
  }

  private fit(): void {
    const size = this.reference[0].size;
    const columns = this.reference.map((ring) => Float64Array.from(ring.toArray()));
    const sampleSize = Math.min(this.config.sampleSize, size);
    const heightLimit = Math.ceil(Math.log2(Math.max(2, sampleSize)));
    const indexes = Int32Array.from({ length: size }, (_, i) => i);
    const trees: FlatTree[] = [];
    for (let t = 0; t < this.config.trees; t += 1) {
      // A partial Fisher–Yates shuffle: the first sampleSize indexes are a draw without replacement.
      for (let i = 0; i < sampleSize; i += 1) {
        const j = i + this.random.below(size - i);
        const swap = indexes[i];
        indexes[i] = indexes[j];
        indexes[j] = swap;
      }
      trees.push(growTree(columns, indexes.slice(0, sampleSize), heightLimit, this.random));
    }
    this.forest = { sampleSize, trees };
    this.packed = pack(this.forest);
    this.sinceFit = 0;
  }

  snapshot(): IsolationForestState {
    return {
      values: this.values.toArray(),
      reference: this.reference.map((ring) => ring.toArray()),
      seen: this.seen,
      sinceFit: this.sinceFit,
      random: this.random.state,
      ...(this.forest ? { forest: this.forest } : {}),
    };
  }
}
