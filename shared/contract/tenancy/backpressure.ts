/**
 * Backpressure (README, "Backpressure"): four levels read from the backlog and the age of the oldest task of the
 * task queues a run needs (DescribeTaskQueue). At `critical`, low-priority admissions wait in the tenant gate; at
 * `overload`, new runs are refused with a retry-after. Pure: the readings come from shared/node/tenancy/backpressure.ts.
 */
import type { CapabilityQueueReport } from '../routing';

export const BACKPRESSURE_LEVELS = ['normal', 'warning', 'critical', 'overload'] as const;
export type BackpressureLevel = (typeof BACKPRESSURE_LEVELS)[number];

/** The levels above normal, in rising order: each has a threshold on backlog and on age. */
export const RAISED_LEVELS = ['warning', 'critical', 'overload'] as const;
type RaisedLevel = (typeof RAISED_LEVELS)[number];

/**
 * Where each raised level begins: a queue is at the highest level whose backlog threshold *or* age threshold it
 * reaches. Both ladders rise strictly (warning < critical < overload).
 */
export interface BackpressureThresholds {
  /** Tasks waiting in one queue. */
  backlog: Record<RaisedLevel, number>;
  /** Age of the oldest waiting task of one queue, in seconds. */
  ageSeconds: Record<RaisedLevel, number>;
  /** The retry-after at overload when the queue dispatches nothing to estimate a drain time from. */
  retryAfterSeconds: number;
}

/**
 * The defaults (ADOS_BACKPRESSURE_BACKLOG, ADOS_BACKPRESSURE_AGE_SECONDS, ADOS_BACKPRESSURE_RETRY_AFTER_SECONDS):
 * a few hundred waiting tasks or a minute and a half of waiting is more than a healthy pool of workers leaves, a
 * thousand or five minutes is a pool that is down or far too small.
 */
export const DEFAULT_BACKPRESSURE_THRESHOLDS: BackpressureThresholds = {
  backlog: { warning: 100, critical: 400, overload: 1000 },
  ageSeconds: { warning: 30, critical: 90, overload: 300 },
  retryAfterSeconds: 60,
};

/** The retry-after is kept within these bounds, whatever the drain estimate says. */
export const RETRY_AFTER_BOUNDS_SECONDS = { min: 10, max: 600 } as const;

/** One reading: the level, and the queue that set it (the worst of those read). */
export interface BackpressureReading {
  level: BackpressureLevel;
  /** The task queue that decided the level; absent at `normal`. */
  queue?: string;
  /** The capability served by that queue; absent at `normal`. */
  capability?: string;
  /** Tasks waiting in that queue. */
  backlog: number;
  /** Age of its oldest waiting task, in seconds. */
  oldestSeconds: number;
  /** One line for `ados run why`: "backpressure critical: build backlog 420, oldest 95 s". */
  reason: string;
  /** At `overload`: when to try again. */
  retryAfterSeconds?: number;
  /** Queues Temporal could not describe (the Java test server, an RPC that failed): they count as normal. */
  unchecked?: string[];
}

/** Problems with thresholds, each naming the field (empty: valid). */
export function thresholdProblems(thresholds: BackpressureThresholds): string[] {
  const problems: string[] = [];
  for (const ladder of ['backlog', 'ageSeconds'] as const) {
    const values = RAISED_LEVELS.map((level) => thresholds[ladder][level]);
    if (values.some((v) => !Number.isFinite(v) || v <= 0)) problems.push(`${ladder}: every threshold must be a number above 0 (got ${values.join(', ')})`);
    else if (!(values[0] < values[1] && values[1] < values[2])) problems.push(`${ladder}: warning < critical < overload is required (got ${values.join(', ')})`);
  }
  if (!Number.isFinite(thresholds.retryAfterSeconds) || thresholds.retryAfterSeconds <= 0) problems.push(`retryAfterSeconds: must be a number above 0 (got ${thresholds.retryAfterSeconds})`);
  return problems;
}

const RANK: Record<BackpressureLevel, number> = { normal: 0, warning: 1, critical: 2, overload: 3 };

/** The level of one queue: the highest whose backlog or age threshold it reaches. */
export function queueLevel(backlog: number, oldestSeconds: number, thresholds: BackpressureThresholds): BackpressureLevel {
  for (const level of [...RAISED_LEVELS].reverse()) {
    if (backlog >= thresholds.backlog[level] || oldestSeconds >= thresholds.ageSeconds[level]) return level;
  }
  return 'normal';
}

/**
 * At overload, the time the queue needs to drain back below the critical backlog at its present dispatch rate,
 * within RETRY_AFTER_BOUNDS_SECONDS; with no dispatch to go by (or an overload by age alone), the configured
 * retry-after.
 */
export function retryAfterSeconds(backlog: number, dispatchPerSecond: number, thresholds: BackpressureThresholds): number {
  const excess = backlog - thresholds.backlog.critical;
  const estimate = dispatchPerSecond > 0 && excess > 0 ? Math.ceil(excess / dispatchPerSecond) : thresholds.retryAfterSeconds;
  return Math.min(RETRY_AFTER_BOUNDS_SECONDS.max, Math.max(RETRY_AFTER_BOUNDS_SECONDS.min, estimate));
}

/**
 * The reading of the queues a run needs: the worst queue decides (at a tie, the larger backlog). Queues that were
 * not described count as normal and are listed in `unchecked`: a server that cannot say never blocks a run.
 */
export function backpressureReading(reports: readonly CapabilityQueueReport[], thresholds: BackpressureThresholds = DEFAULT_BACKPRESSURE_THRESHOLDS): BackpressureReading {
  const unchecked = reports.filter((r) => !r.checked).map((r) => r.taskQueue);
  let worst: { report: CapabilityQueueReport; level: BackpressureLevel; backlog: number; age: number } | undefined;
  for (const report of reports) {
    if (!report.checked) continue;
    const backlog = report.backlog?.approximateCount ?? 0;
    const age = report.backlog?.approximateAgeSeconds ?? 0;
    const level = queueLevel(backlog, age, thresholds);
    if (!worst || RANK[level] > RANK[worst.level] || (RANK[level] === RANK[worst.level] && backlog > worst.backlog)) worst = { report, level, backlog, age };
  }
  const extra = unchecked.length > 0 ? { unchecked } : {};
  if (!worst || worst.level === 'normal') {
    const note = unchecked.length > 0 ? ` (not checked: ${unchecked.join(', ')})` : '';
    return { level: 'normal', backlog: worst?.backlog ?? 0, oldestSeconds: worst?.age ?? 0, reason: `backpressure normal${note}`, ...extra };
  }
  const { report, level, backlog, age } = worst;
  const oldestSeconds = Math.round(age);
  const reading: BackpressureReading = {
    level,
    queue: report.taskQueue,
    capability: report.capability,
    backlog,
    oldestSeconds,
    reason: `backpressure ${level}: ${report.capability} backlog ${backlog}, oldest ${oldestSeconds} s`,
    ...extra,
  };
  if (level === 'overload') reading.retryAfterSeconds = retryAfterSeconds(backlog, report.backlog?.tasksDispatchRate ?? 0, thresholds);
  return reading;
}

/** Whether a level is at or above another (`atLeast('critical', 'warning')`). */
export function atLeast(level: BackpressureLevel, floor: BackpressureLevel): boolean {
  return RANK[level] >= RANK[floor];
}

/** The refusal at overload: names the queue, its backlog and age, and when to try again. */
export function overloadRefusal(tenantId: string, reading: BackpressureReading): string {
  return (
    `backpressure overload on task queue ${reading.queue} (capability ${reading.capability}): backlog ${reading.backlog}, oldest task waiting ${reading.oldestSeconds} s; ` +
    `new runs of tenant ${tenantId} are refused until it drains: retry after ${reading.retryAfterSeconds} s`
  );
}
