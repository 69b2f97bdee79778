import { inverse, Matrix } from 'ml-matrix';
import { z } from 'zod';
import type { mahalanobisConfigSchema } from '../../../contract/anomaly/detection';
import { Ring } from './ring';
import { squash } from './score';

export type MahalanobisConfig = z.output<typeof mahalanobisConfigSchema>;

export const mahalanobisStateSchema = z
  .object({
    values: z.array(z.number()),
    seen: z.number().int().min(0),
    sinceFit: z.number().int().min(0),
    model: z.object({ mean: z.array(z.number()), precision: z.array(z.array(z.number())) }).strict().optional(),
  })
  .strict();
export type MahalanobisState = z.output<typeof mahalanobisStateSchema>;

interface Model {
  mean: number[];
  precision: number[][];
}

/**
 * Mahalanobis distance of the vector of the last `window` values from the mean and covariance of the past window
 * vectors in a rolling reference. Raw lagged values (not differences) keep a level shift far from the reference until
 * the reference has moved with it, and the covariance between lags keeps an ordinary rise of a daily cycle near it.
 */
export class MahalanobisDetector {
  /** The last `reference + window − 1` values: every window vector of the reference, and the current one's past. */
  private readonly values: Ring;
  private seen: number;
  private sinceFit: number;
  private model?: Model;

  constructor(
    private readonly config: MahalanobisConfig,
    state?: MahalanobisState,
  ) {
    this.values = new Ring(config.reference + config.window - 1, state?.values ?? []);
    this.seen = state?.seen ?? 0;
    this.sinceFit = state?.sinceFit ?? 0;
    this.model = state?.model;
  }

  /** The distance of the window ending with `value` (0 before the first fit). */
  statistic(value: number): number {
    const model = this.model;
    if (!model) return 0;
    const d = this.config.window;
    const diff = new Array<number>(d);
    for (let i = 0; i < d - 1; i += 1) diff[i] = this.values.fromEnd(d - 2 - i) - model.mean[i];
    diff[d - 1] = value - model.mean[d - 1];
    let total = 0;
    for (let i = 0; i < d; i += 1) {
      const row = model.precision[i];
      let dot = 0;
      for (let j = 0; j < d; j += 1) dot += row[j] * diff[j];
      total += diff[i] * dot;
    }
    return Math.sqrt(Math.max(0, total));
  }

  /** Scores `value`, then adds it to the reference and refits when due. */
  push(value: number): number {
    const score = squash(this.statistic(value), this.config.scale);
    this.values.push(value);
    this.seen += 1;
    this.sinceFit += 1;
    const due = this.model ? this.sinceFit >= this.config.refitEvery : this.seen >= this.config.warmup;
    if (due && this.values.size >= this.config.window + 1) this.fit();
    return score;
  }

  /** Mean and inverse covariance (with a ridge on the diagonal) of every window vector in the reference. */
  private fit(): void {
    const d = this.config.window;
    const values = Float64Array.from(this.values.toArray());
    const count = values.length - d + 1;
    const mean = new Array<number>(d).fill(0);
    for (let r = 0; r < count; r += 1) for (let c = 0; c < d; c += 1) mean[c] += values[r + c] / count;
    const covariance = Matrix.zeros(d, d);
    for (let i = 0; i < d; i += 1) {
      for (let j = i; j < d; j += 1) {
        let total = 0;
        for (let r = 0; r < count; r += 1) total += (values[r + i] - mean[i]) * (values[r + j] - mean[j]);
        const entry = total / Math.max(1, count - 1);
        covariance.set(i, j, entry);
        covariance.set(j, i, entry);
      }
    }
    let meanVariance = 0;
    for (let i = 0; i < d; i += 1) meanVariance += covariance.get(i, i) / d;
    const magnitude = Math.abs(mean.reduce((a, b) => a + b, 0) / d);
    const ridge = this.config.ridge * meanVariance + 1e-6 * (magnitude * magnitude) + Number.EPSILON;
    for (let i = 0; i < d; i += 1) covariance.set(i, i, covariance.get(i, i) + ridge);
    this.model = { mean, precision: inverse(covariance).to2DArray() };
    this.sinceFit = 0;
  }

  snapshot(): MahalanobisState {
    return { values: this.values.toArray(), seen: this.seen, sinceFit: this.sinceFit, ...(this.model ? { model: this.model } : {}) };
  }
}
