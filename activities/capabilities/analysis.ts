import { Matrix } from 'ml-matrix';
import { z } from 'zod';
import { defineBuiltIn } from './define';

const analysisInput = z.object({
  series: z.array(z.number().finite('must be a finite number')).min(2, 'give at least two values'),
  zThreshold: z.number().positive().default(3),
});

const seriesStatistics = z.object({
  count: z.number(),
  mean: z.number(),
  stddev: z.number(),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
  /** Indices whose |z-score| exceeds the threshold. */
  outliers: z.array(z.number()),
});
export type SeriesStatistics = z.output<typeof seriesStatistics>;

function percentile(sorted: number[], p: number): number {
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

export function describeSeries(series: number[], zThreshold = 3): SeriesStatistics {
  const column = Matrix.columnVector(series);
  const mean = column.mean();
  const stddev = series.length > 1 ? column.standardDeviation('column', { unbiased: true })[0] : 0;
  const sorted = [...series].sort((a, b) => a - b);
  const outliers = stddev === 0 ? [] : series.flatMap((value, index) => (Math.abs((value - mean) / stddev) > zThreshold ? [index] : []));
  return {
    count: series.length,
    mean,
    stddev,
    min: sorted[0],
    max: sorted[sorted.length - 1],
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    outliers,
  };
}

/** `analysis`: descriptive statistics and z-score outliers of `input.series`. */
export const analysis = defineBuiltIn('analysis', {
  version: '1.0.0',
  input: analysisInput,
  output: seriesStatistics,
  handler: async (input) => describeSeries(input.series, input.zThreshold),
});
