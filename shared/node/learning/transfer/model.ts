/**
 * The model transfer cycles train: L2-regularised logistic regression over standardized features (ml-matrix), fitted
 * by full-batch gradient descent from a seeded start, with class-balanced example weights (anomaly windows are rare).
 * The same seed, rows and options give the same model. Also: holdout metrics, and the PCA basis of a feature matrix.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { HoldoutMetrics, LinearModel } from '../../../contract/learning/transfer/messages';
import { gaussian, seededRandom } from './random';

export interface LabeledRows {
  features: number[][];
  labels: number[];
}

export interface FitOptions {
  seed: number;
  /** L2 strength towards `anchor` (per feature: `anchorStrength` where given, else this). */
  l2: number;
  iterations: number;
  learningRate: number;
  /** Starting weights (warm start); default: small seeded draws. */
  init?: number[];
  /** The weights the penalty pulls towards (a prior); default zero. */
  anchor?: number[];
  anchorStrength?: number[];
}

export const DEFAULT_FIT: Omit<FitOptions, 'seed'> = { l2: 0.05, iterations: 400, learningRate: 0.5 };

/** Column means and standard deviations (a constant column gets 1, so it standardizes to 0). */
export function columnStats(features: number[][]): { means: number[]; stds: number[] } {
  const matrix = new Matrix(features);
  const means = matrix.mean('column');
  const stds = matrix.standardDeviation('column', { mean: means, unbiased: false }).map((s) => (s > 1e-12 && Number.isFinite(s) ? s : 1));
  return { means, stds };
}

/** The model's inputs: standardized, then projected onto its basis when it has one. */
export function modelInputs(model: Pick<LinearModel, 'means' | 'stds' | 'basis'>, features: number[][]): Matrix {
  const z = new Matrix(features.map((row) => row.map((value, j) => (value - model.means[j]) / model.stds[j])));
  return model.basis ? z.mmul(new Matrix(model.basis).transpose()) : z;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Weights and bias of a logistic model over `inputs` (already standardized / projected). */
export function fitLogistic(inputs: Matrix, labels: number[], options: FitOptions): { weights: number[]; bias: number } {
  const n = inputs.rows;
  const d = inputs.columns;
  if (n === 0) throw new Error('cannot fit a model on no rows');
  const positives = labels.filter((y) => y === 1).length;
  // Class-balanced example weights: each class carries half the loss.
  const weightOf = (y: number) => (positives === 0 || positives === n ? 1 : y === 1 ? n / (2 * positives) : n / (2 * (n - positives)));
  const exampleWeights = labels.map(weightOf);
  const draw = gaussian(seededRandom(options.seed));
  const w = Float64Array.from(options.init ?? Array.from({ length: d }, () => 0.01 * draw()));
  let b = 0;
  const anchor = options.anchor ?? new Array<number>(d).fill(0);
  const strength = options.anchorStrength ?? new Array<number>(d).fill(options.l2);
  // The loop runs on flat arrays: hundreds of iterations of small matrix products allocate less this way.
  const x = inputs.to1DArray();
  const gradient = new Float64Array(d);
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    gradient.fill(0);
    let biasGradient = 0;
    for (let i = 0; i < n; i++) {
      let score = b;
      for (let j = 0; j < d; j++) score += x[i * d + j] * w[j];
      const r = (exampleWeights[i] * (sigmoid(score) - labels[i])) / n;
      for (let j = 0; j < d; j++) gradient[j] += x[i * d + j] * r;
      biasGradient += r;
    }
    for (let j = 0; j < d; j++) w[j] -= options.learningRate * (gradient[j] + strength[j] * (w[j] - anchor[j]));
    b -= options.learningRate * biasGradient;
  }
  return { weights: Array.from(w), bias: b };
}

/** Trains a model on `rows` (standardized by their own statistics, projected onto `basis` when given). */
export function trainModel(featureNames: string[], rows: LabeledRows, options: FitOptions, basis?: number[][]): LinearModel {
  const { means, stds } = columnStats(rows.features);
  const shape = { means, stds, ...(basis ? { basis } : {}) };
  const fitted = fitLogistic(modelInputs(shape, rows.features), rows.labels, options);
  return { featureNames, ...shape, ...fitted };
}

/** The model's probability of label 1 for each row. */
export function predict(model: LinearModel, features: number[][]): number[] {
  const scores = modelInputs(model, features).mmul(Matrix.columnVector(model.weights));
  return scores.getColumn(0).map((s) => sigmoid(s + model.bias));
}

/** ROC AUC by ranks (ties share their mean rank); NaN when the rows hold one class only. */
export function rocAuc(scores: number[], labels: number[]): number {
  const positives = labels.filter((y) => y === 1).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  const order = scores.map((score, i) => ({ score, label: labels[i] })).sort((a, b) => a.score - b.score);
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1].score === order[i].score) j++;
    const meanRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (order[k].label === 1) rankSum += meanRank;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The model's figures on labeled rows (a holdout). */
export function evaluate(model: LinearModel, rows: LabeledRows): HoldoutMetrics {
  const p = predict(model, rows.features);
  const eps = 1e-12;
  let correct = 0;
  let logLoss = 0;
  p.forEach((prob, i) => {
    const y = rows.labels[i];
    if ((prob >= 0.5 ? 1 : 0) === y) correct++;
    logLoss -= y === 1 ? Math.log(Math.max(prob, eps)) : Math.log(Math.max(1 - prob, eps));
  });
  const n = rows.labels.length;
  return { auc: rocAuc(p, rows.labels), accuracy: n ? correct / n : Number.NaN, logLoss: n ? logLoss / n : Number.NaN, rows: n, positives: rows.labels.filter((y) => y === 1).length };
}

/**
 * The first `components` principal directions of standardized `features` (rows of the result, unit length), each
 * signed so that its largest entry is positive: the same data always gives the same basis.
 */
export function pcaBasis(features: number[][], components: number): number[][] {
  const { means, stds } = columnStats(features);
  const z = modelInputs({ means, stds }, features);
  const covariance = z.transpose().mmul(z).div(Math.max(1, z.rows - 1));
  const eig = new EigenvalueDecomposition(covariance, { assumeSymmetric: true });
  const values = eig.realEigenvalues;
  const vectors = eig.eigenvectorMatrix;
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v).slice(0, Math.min(components, values.length));
  return order.map(({ i }) => {
    const column = vectors.getColumn(i);
    const largest = column.reduce((best, x) => (Math.abs(x) > Math.abs(best) ? x : best), 0);
    return largest < 0 ? column.map((x) => -x) : column;
  });
}
