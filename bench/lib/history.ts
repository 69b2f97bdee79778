/**
 * Figures read from a workflow's history, for the benchmarks that compare ADOS with its floor: both sides are
 * measured from the same events, by the same code.
 */
import type { temporal } from '@temporalio/proto';
import { median } from '../harness';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** An event's time, in ms since the epoch. */
export const eventMs = (event: HistoryEvent | undefined): number =>
  Number(event?.eventTime?.seconds ?? 0) * 1000 + Math.floor((event?.eventTime?.nanos ?? 0) / 1e6);

/** Scheduled → started of each task, by kind (from the started events' scheduledEventId): how long it waited for a worker. */
export function taskWaits(events: readonly HistoryEvent[]): { workflow: number[]; activity: number[] } {
  const scheduledAt = new Map<string, number>();
  const waits = { workflow: [] as number[], activity: [] as number[] };
  for (const e of events) {
    if (e.workflowTaskScheduledEventAttributes || e.activityTaskScheduledEventAttributes) scheduledAt.set(String(e.eventId), eventMs(e));
    const started = e.workflowTaskStartedEventAttributes ?? e.activityTaskStartedEventAttributes;
    const at = started ? scheduledAt.get(String(started.scheduledEventId)) : undefined;
    if (at !== undefined) (e.workflowTaskStartedEventAttributes ? waits.workflow : waits.activity).push(eventMs(e) - at);
  }
  return waits;
}

/**
 * Workflow task started → completed, summed over the run: the time its worker held the workflow's tasks (the
 * workflow code, the SDK, and any local activity the task waited for before it could complete).
 */
export function workflowTaskBusyMs(events: readonly HistoryEvent[]): number {
  const startedAt = new Map<string, number>();
  let busy = 0;
  for (const e of events) {
    if (e.workflowTaskStartedEventAttributes) startedAt.set(String(e.eventId), eventMs(e));
    const completed = e.workflowTaskCompletedEventAttributes;
    const at = completed ? startedAt.get(String(completed.startedEventId)) : undefined;
    if (at !== undefined) busy += eventMs(e) - at;
  }
  return busy;
}

/** How many events of each kind a history has, for the ones the comparison shows. */
export function eventCounts(events: readonly HistoryEvent[]): { events: number; activities: number; workflowTasks: number; markers: number; searchAttributeUpserts: number } {
  return {
    events: events.length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    markers: events.filter((e) => e.markerRecordedEventAttributes).length,
    searchAttributeUpserts: events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length,
  };
}

/** The timings both sides of a comparison report, from one history. */
export interface HistoryTimings {
  /** See workflowTaskBusyMs. */
  workflowTaskBusyMs: number;
  /** Scheduled → started, medians (0 when there were none). */
  workflowTaskWaitMs: number;
  activityTaskWaitMs: number;
}

export function historyTimings(events: readonly HistoryEvent[]): HistoryTimings {
  const waits = taskWaits(events);
  return {
    workflowTaskBusyMs: workflowTaskBusyMs(events),
    workflowTaskWaitMs: waits.workflow.length > 0 ? median(waits.workflow) : 0,
    activityTaskWaitMs: waits.activity.length > 0 ? median(waits.activity) : 0,
  };
}
