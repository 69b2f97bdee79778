/**
 * Asks Temporal who polls a capability's task queue and how long its backlog is (DescribeTaskQueue on the activity
 * task queue type, default API mode with report_stats). Used by the control activity that lets a run report
 * "no worker polls capability X (task queue Y)", and by `ados workers`. Nothing here keeps a registry of its own:
 * the pollers are the ones Temporal sees.
 *
 * Checked against Temporal Server 1.29.1 (the pinned dev server): the default mode returns `pollers`, `stats`
 * (approximate backlog count and age, add and dispatch rates; cached by the server for a few seconds) and
 * `effectiveRateLimit` (a worker's maxTaskQueueActivitiesPerSecond shows there with source WORKER), so the
 * deprecated ENHANCED mode is not needed. The Java time-skipping test server answers UNIMPLEMENTED; the report then
 * says it could not check, and the run goes on without the report.
 */
import { temporal } from '@temporalio/proto';
import { capabilityTaskQueue, controlTaskQueue } from '../contract/task-queues';
import { POLLER_STALE_AFTER_SECONDS, type CapabilityQueueReport, type PollerView, type QueueBacklog } from '../contract/routing';

type DescribeRequest = temporal.api.workflowservice.v1.IDescribeTaskQueueRequest;
type DescribeResponse = temporal.api.workflowservice.v1.IDescribeTaskQueueResponse;

/** The one RPC this needs: satisfied by Connection.workflowService (client) and NativeConnection.workflowService (worker). */
export interface TaskQueueDescriber {
  describeTaskQueue(request: DescribeRequest): Promise<DescribeResponse>;
}

/** How a worker's activities reach Temporal's own API (the control worker's NativeConnection.workflowService). */
export interface TemporalDeps {
  workflowService: TaskQueueDescriber;
  namespace: string;
}

export type TaskQueueKind = 'activity' | 'workflow';

const QUEUE_TYPE: Record<TaskQueueKind, temporal.api.enums.v1.TaskQueueType> = {
  activity: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  workflow: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
};

const toNumber = (value: unknown): number => {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  // protobufjs Long
  const long = value as { toNumber?: () => number };
  return typeof long.toNumber === 'function' ? long.toNumber() : Number(value);
};

function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!ts) return undefined;
  return toNumber(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function durationSeconds(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return toNumber(d.seconds) + (d.nanos ?? 0) / 1e9;
}

const RATE_LIMIT_SOURCES: Record<number, string> = { 1: 'api', 2: 'worker', 3: 'system' };

/** Converts a DescribeTaskQueue response into a report (pure; unit-tested). */
export function reportFromResponse(
  capability: string,
  taskQueue: string,
  response: DescribeResponse,
  nowMs: number,
  staleAfterSeconds = POLLER_STALE_AFTER_SECONDS,
): CapabilityQueueReport {
  const pollers: PollerView[] = (response.pollers ?? []).map((poller) => {
    const lastMs = timestampMs(poller.lastAccessTime);
    const age = lastMs === undefined ? undefined : Math.max(0, (nowMs - lastMs) / 1000);
    const view: PollerView = {
      identity: poller.identity ?? '(no identity)',
      live: age === undefined ? true : age <= staleAfterSeconds,
    };
    if (lastMs !== undefined) view.lastAccessTime = new Date(lastMs).toISOString();
    if (age !== undefined) view.lastAccessAgeSeconds = Math.round(age * 10) / 10;
    if (poller.ratePerSecond) view.ratePerSecond = poller.ratePerSecond;
    return view;
  });
  pollers.sort((a, b) => a.identity.localeCompare(b.identity));
  const report: CapabilityQueueReport = {
    capability,
    taskQueue,
    checked: true,
    pollers,
    livePollers: pollers.filter((p) => p.live).length,
    describedAt: new Date(nowMs).toISOString(),
  };
  if (response.stats) {
    const backlog: QueueBacklog = {
      approximateCount: toNumber(response.stats.approximateBacklogCount),
      approximateAgeSeconds: Math.round(durationSeconds(response.stats.approximateBacklogAge) * 10) / 10,
      tasksAddRate: Math.round((response.stats.tasksAddRate ?? 0) * 100) / 100,
      tasksDispatchRate: Math.round((response.stats.tasksDispatchRate ?? 0) * 100) / 100,
    };
    report.backlog = backlog;
  }
  const limit = response.effectiveRateLimit;
  if (limit && limit.requestsPerSecond) {
    report.rateLimit = { perSecond: limit.requestsPerSecond, source: RATE_LIMIT_SOURCES[limit.rateLimitSource ?? 0] ?? 'unspecified' };
  }
  return report;
}

export interface DescribeOptions {
  namespace: string;
  kind?: TaskQueueKind;
  now?: () => number;
}

/** Describes one queue; a server that cannot answer gives a report with checked: false and the reason (never a throw). */
export async function describeQueue(
  service: TaskQueueDescriber,
  capability: string,
  taskQueue: string,
  options: DescribeOptions,
): Promise<CapabilityQueueReport> {
  const now = options.now ?? Date.now;
  try {
    const response = await service.describeTaskQueue({
      namespace: options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: QUEUE_TYPE[options.kind ?? 'activity'],
      reportStats: true,
    });
    return reportFromResponse(capability, taskQueue, response, now());
  } catch (error) {
    // The report is advice: a server that cannot answer (UNIMPLEMENTED, 12: the Java test server) or an RPC that
    // fails gives a report that says so, and a run goes on rather than stall on its routing check.
    const code = (error as { code?: number }).code;
    return {
      capability,
      taskQueue,
      checked: false,
      error: code === 12 ? 'DescribeTaskQueue is not implemented by this Temporal server' : `DescribeTaskQueue failed: ${(error as Error)?.message ?? String(error)}`,
      pollers: [],
      livePollers: 0,
      describedAt: new Date(now()).toISOString(),
    };
  }
}

/** Reports for capabilities (activity queues), in the order given. */
export function describeCapabilities(
  service: TaskQueueDescriber,
  capabilities: readonly string[],
  prefix: string,
  options: DescribeOptions,
): Promise<CapabilityQueueReport[]> {
  return Promise.all(capabilities.map((capability) => describeQueue(service, capability, capabilityTaskQueue(capability, prefix), options)));
}

/** The control queue's workflow pollers (the control workers), reported under the name "control". */
export function describeControlQueue(service: TaskQueueDescriber, prefix: string, options: DescribeOptions): Promise<CapabilityQueueReport> {
  return describeQueue(service, 'control', controlTaskQueue(prefix), { ...options, kind: 'workflow' });
}
