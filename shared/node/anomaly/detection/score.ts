/**
 * A detector's score in [0, 1) from its statistic x ≥ 0: x / (x + scale), 0.5 at x = scale. Unlike a CDF it keeps
 * ordering far out in the tail (NAB's threshold sweep needs distinct scores), and it is the same curve for every
 * detector, so one ensemble threshold reads the same for all of them.
 */
export function squash(statistic: number, scale: number): number {
  if (!(statistic > 0)) return 0;
  return statistic / (statistic + scale);
}
