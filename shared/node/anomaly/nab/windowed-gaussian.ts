/**
 * NAB's windowed-Gaussian baseline (nab/detectors/gaussian): the score of a value is 1 − Q(|z|), Q the normal tail
 * probability, with z against the mean and standard deviation of a window of past values; the window grows to
 * `windowSize` and then slides in steps of `stepSize`. NAB tuned windowSize 6400 and stepSize 100 on its corpus.
 */
export interface WindowedGaussianOptions {
  windowSize: number;
  stepSize: number;
}

export const NAB_WINDOWED_GAUSSIAN: WindowedGaussianOptions = { windowSize: 6400, stepSize: 100 };

/** erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7). */
export function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x -
    1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * Math.exp(poly);
}

/** P(X > mean + |x − mean|) for X ~ N(mean, std²). */
export function normalTail(x: number, mean: number, std: number): number {
  return 0.5 * erfc(Math.abs(x - mean) / std / Math.SQRT2);
}

/** The baseline's score of every value of a series, each from the values before it only. */
export function windowedGaussianScores(values: readonly number[], options: WindowedGaussianOptions = NAB_WINDOWED_GAUSSIAN): number[] {
  let window: number[] = [];
  let step: number[] = [];
  let mean = 0;
  let std = 1;
  const update = () => {
    mean = window.reduce((a, b) => a + b, 0) / window.length;
    std = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / window.length) || 0.000001;
  };
  return values.map((value) => {
    const score = window.length > 0 ? 1 - normalTail(value, mean, std) : 0;
    if (window.length < options.windowSize) {
      window.push(value);
      update();
    } else {
      step.push(value);
      if (step.length === options.stepSize) {
        window = [...window.slice(options.stepSize), ...step];
        step = [];
        update();
      }
    }
    return score;
  });
}
