/** Where a DAG run's time goes, from the start and end each activity recorded. Pure, unit-tested. */
import type { Interval } from '../../test/helpers/extraction';

/** First start to last end. */
export const makespan = (intervals: readonly Interval[]): number =>
  intervals.length === 0 ? 0 : Math.max(...intervals.map((i) => i.end)) - Math.min(...intervals.map((i) => i.start));

/**
 * Where a DAG run's makespan goes, per agent that ran: `dispatchMs`, from its last dependency's end to its own start
 * (Temporal's round trip plus the workflow's and workers' work in between; roots are left out), and `activityMs`, its
 * activity's start to end less the simulated work (what the activity adds to the work itself).
 */
export function makespanParts(intervals: readonly Interval[], dependsOn: ReadonlyMap<string, readonly string[]>, workMs: number): { dispatchMs: number[]; activityMs: number[] } {
  const byName = new Map(intervals.map((i) => [i.name, i]));
  const dispatchMs: number[] = [];
  for (const interval of intervals) {
    const ends = (dependsOn.get(interval.name) ?? []).map((d) => byName.get(d)?.end).filter((end): end is number => end !== undefined);
    if (ends.length > 0) dispatchMs.push(interval.start - Math.max(...ends));
  }
  return { dispatchMs, activityMs: intervals.map((i) => i.end - i.start - workMs) };
}
