/**
 * What Temporal says about a capability's task queue (DescribeTaskQueue, activity task type): who polls it and its
 * backlog. Produced by shared/node/task-queue-report.ts, read by the workflow (through a control activity, to report
 * "no worker polls capability X") and by `ados workers`. Bundle-safe: types and pure wording only.
 */

/** A poller last seen longer ago than this is taken for gone (Temporal keeps pollers listed for ~5 minutes). */
export const POLLER_STALE_AFTER_SECONDS = 120;

export interface PollerView {
  identity: string;
  /** ISO text, from Temporal. */
  lastAccessTime?: string;
  /** Seconds between lastAccessTime and when the queue was described. */
  lastAccessAgeSeconds?: number;
  /** The task-queue rate limit this poller asked for (ados worker --rate-limit), when it set one. */
  ratePerSecond?: number;
  live: boolean;
}

export interface QueueBacklog {
  /** Temporal's approximate count of tasks waiting (cached by the server for a few seconds). */
  approximateCount: number;
  approximateAgeSeconds: number;
  tasksAddRate: number;
  tasksDispatchRate: number;
}

export interface CapabilityQueueReport {
  capability: string;
  taskQueue: string;
  /** False when Temporal could not be asked (e.g. the Java test server does not implement DescribeTaskQueue). */
  checked: boolean;
  /** Why checked is false. */
  error?: string;
  pollers: PollerView[];
  /** Pollers seen within POLLER_STALE_AFTER_SECONDS. */
  livePollers: number;
  /** From DescribeTaskQueue's report_stats; absent when the server did not report stats. */
  backlog?: QueueBacklog;
  /** The rate limit in force for the queue and who set it (worker, API or system), when reported. */
  rateLimit?: { perSecond: number; source: string };
  /** When the queue was described, ISO text. */
  describedAt: string;
}

export function noWorkerMessage(capability: string, taskQueue: string): string {
  return `no worker polls capability ${capability} (task queue ${taskQueue})`;
}

/** Whether a report proves nobody serves the capability (an unchecked queue proves nothing). */
export function isUnserved(report: CapabilityQueueReport): boolean {
  return report.checked && report.livePollers === 0;
}

function ago(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, '0')}s`;
}

/**
 * The sentence a run reports about a capability's queue. `notStartedWithinSeconds` is given when a task's
 * schedule-to-start timeout fired.
 */
export function describeQueueProblem(report: CapabilityQueueReport, notStartedWithinSeconds?: number): string {
  const within = notStartedWithinSeconds !== undefined ? ` (the task was not started within ${notStartedWithinSeconds}s)` : '';
  if (!report.checked) {
    return `capability ${report.capability} (task queue ${report.taskQueue}): the task was not started${
      notStartedWithinSeconds !== undefined ? ` within ${notStartedWithinSeconds}s` : ''
    }; Temporal could not say who polls it (${report.error ?? 'not checked'})`;
  }
  if (report.livePollers === 0) {
    const stale = report.pollers.filter((p) => !p.live);
    const last = stale.length > 0 ? stale.reduce((a, b) => ((a.lastAccessAgeSeconds ?? Infinity) <= (b.lastAccessAgeSeconds ?? Infinity) ? a : b)) : undefined;
    const lastSeen = last ? `; last poller ${last.identity} seen ${ago(last.lastAccessAgeSeconds ?? 0)} ago` : '';
    return `${noWorkerMessage(report.capability, report.taskQueue)}${lastSeen}${within}`;
  }
  const backlog = report.backlog ? `, backlog ~${report.backlog.approximateCount}` : '';
  return `capability ${report.capability} (task queue ${report.taskQueue}) has ${report.livePollers} live poller(s)${backlog}${within}`;
}
