/**
 * ADOS's Temporal Schedules, kind-less: the transfer-learning schedule created (or brought up to its configuration)
 * idempotently at start-up and by the deploy step, and the operations `ados schedule` is a thin layer over (list,
 * describe, pause, unpause, trigger, backfill, update), each with an error naming the field and the fix.
 */
import { type Client, type ScheduleDescription, type ScheduleOptions, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleSpec } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { transferCycleInputSchema } from '../../contract/learning/transfer/input';
import { AdosKind, AdosTenant } from '../../contract/search-attributes';
import { controlTaskQueue } from '../../contract/task-queues';
import { InputValidationError } from '../../contract/validation';
import { TRANSFER_CYCLE_ID_PREFIX } from '../../contract/workflow-ids';
import type { Db } from '../db';
import { scheduleTimingSchema, type ScheduleTiming, type TransferScheduleConfig } from './spec';

/** The schedule's spec from its timing: one interval or one cron expression, with its jitter, in UTC. */
export function specOf(timing: Pick<ScheduleTiming, 'every' | 'cron'> & { jitter?: Duration }): ScheduleSpec {
  return {
    ...(timing.cron ? { cronExpressions: [timing.cron] } : { intervals: [{ every: (timing.every ?? '12h') as Duration }] }),
    ...(timing.jitter !== undefined ? { jitter: timing.jitter } : {}),
    timezone: 'UTC',
  };
}

/** The transfer-learning schedule: starts `transferLearningCycle` on the control queue, overlap SKIP, with a catch-up window. */
export function transferScheduleOptions(config: TransferScheduleConfig, taskQueuePrefix: string): ScheduleOptions {
  const input = transferCycleInputSchema.parse({ tenantId: config.tenantId, pairs: config.pairs });
  return {
    scheduleId: config.scheduleId,
    spec: specOf({ ...config.timing, jitter: config.timing.jitter as Duration }),
    action: {
      type: 'startWorkflow',
      workflowType: 'transferLearningCycle',
      workflowId: TRANSFER_CYCLE_ID_PREFIX,
      taskQueue: controlTaskQueue(taskQueuePrefix),
      args: [input],
      staticSummary: `transfer-learning cycle over ${input.pairs.length} pair(s)`,
      typedSearchAttributes: [
        { key: AdosTenant, value: input.tenantId },
        { key: AdosKind, value: 'learning' },
      ],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: config.timing.catchupWindow as Duration },
    typedSearchAttributes: [
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'learning' },
    ],
    state: { note: 'created by ADOS (npm start or `ados schedule ensure`)' },
  };
}

export type EnsureOutcome = 'created' | 'updated';

/**
 * Creates the schedule, or (it exists) sets its spec, action and policies to the configuration's, keeping its pause
 * state, note and skip calendars (freezes). Running it twice changes nothing the second time.
 */
export async function ensureSchedule(client: Client, options: ScheduleOptions): Promise<EnsureOutcome> {
  try {
    await client.schedule.create(options);
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    ...previous,
    spec: { ...options.spec, skip: previous.spec.skip },
    action: options.action,
    policies: { ...previous.policies, ...options.policies },
  }));
  return 'updated';
}

/** Refusals by `ados schedule` (exit 2), each naming the field. */
function refused(path: string, message: string): InputValidationError {
  return new InputValidationError('schedule request', [{ path, message }]);
}

/** The schedule, described; an unknown ID is refused naming `ados schedule list`. */
export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw refused('schedule', `no schedule "${scheduleId}" in this namespace: \`ados schedule list\` shows the schedules`);
    throw error;
  }
}

export interface ScheduleListing {
  scheduleId: string;
  workflowType?: string;
  paused: boolean;
  note?: string;
  nextActionTimes: string[];
  recentActions: string[];
}

export async function listSchedules(client: Client): Promise<ScheduleListing[]> {
  const out: ScheduleListing[] = [];
  for await (const s of client.schedule.list()) {
    out.push({
      scheduleId: s.scheduleId,
      workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : undefined,
      paused: s.state.paused,
      ...(s.state.note ? { note: s.state.note } : {}),
      nextActionTimes: s.info.nextActionTimes.map((t) => t.toISOString()),
      recentActions: s.info.recentActions.map((a) => a.scheduledAt.toISOString()),
    });
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** The audit trail of a schedule's pauses: `audit_log` rows under workflow ID `schedule:<id>`. */
export const scheduleAuditId = (scheduleId: string) => `schedule:${scheduleId}`;

export interface PauseRequest {
  scheduleId: string;
  by: string;
  reason: string;
  /** When the pause was asked for (the CLI's clock), part of the audit key. */
  at: Date;
}

/** Pauses or unpauses, with `<verb> by <who>: <why>` as the schedule's note (the Web UI shows it), and audits it. */
export async function setSchedulePaused(client: Client, db: Db, request: PauseRequest, paused: boolean): Promise<ScheduleDescription> {
  if (!request.reason.trim()) throw refused('--reason', 'required: say why, e.g. --reason "retraining the source domain"');
  const description = await describeSchedule(client, request.scheduleId);
  const note = `${paused ? 'paused' : 'unpaused'} by ${request.by} at ${request.at.toISOString()}: ${request.reason}`;
  const handle = client.schedule.getHandle(request.scheduleId);
  if (paused) await handle.pause(note);
  else await handle.unpause(note);
  const tenant = description.typedSearchAttributes.get(AdosTenant) ?? 'ados';
  await db
    .insertInto('audit_log')
    .values({
      workflow_id: scheduleAuditId(request.scheduleId),
      tenant_id: tenant,
      event_key: `${paused ? 'pause' : 'unpause'}:${request.at.toISOString()}`,
      event: paused ? 'schedule.paused' : 'schedule.unpaused',
      detail: JSON.stringify({ by: request.by, reason: request.reason, note }),
    })
    .onConflict((oc) => oc.columns(['workflow_id', 'event_key']).doNothing())
    .execute();
  return handle.describe();
}

/** Starts the schedule's action now (overlap policy: the schedule's own). */
export async function triggerSchedule(client: Client, scheduleId: string): Promise<void> {
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).trigger();
}

/** The range to backfill, checked: ISO times, from before to, to not in the future. */
export function backfillRange(from: string, to: string, now: Date): { start: Date; end: Date } {
  const start = new Date(from);
  const end = new Date(to);
  if (Number.isNaN(start.getTime())) throw refused('--from', `"${from}" is not a time: give ISO-8601, e.g. 2030-01-01T00:00:00Z`);
  if (Number.isNaN(end.getTime())) throw refused('--to', `"${to}" is not a time: give ISO-8601, e.g. 2030-01-02T00:00:00Z`);
  if (end.getTime() > now.getTime()) throw refused('--to', `${end.toISOString()} is in the future: a backfill runs the actions of past times only; give a time up to now (${now.toISOString()})`);
  if (start.getTime() >= end.getTime()) throw refused('--from', `must be before --to (${end.toISOString()})`);
  return { start, end };
}

/** Runs the actions the schedule would have taken in [from, to], one after another (overlap BUFFER_ALL). */
export async function backfillSchedule(client: Client, scheduleId: string, from: string, to: string, now = new Date()): Promise<{ start: Date; end: Date }> {
  const range = backfillRange(from, to, now);
  await describeSchedule(client, scheduleId);
  await client.schedule.getHandle(scheduleId).backfill({ ...range, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
  return range;
}

/** Changes the schedule's timing (interval or cron, jitter, catch-up window); other fields stay. */
export async function updateScheduleTiming(client: Client, scheduleId: string, raw: Partial<Record<keyof ScheduleTiming, string>>): Promise<ScheduleDescription> {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length === 0) throw refused('--every', 'give at least one of --every, --cron, --jitter, --catchup-window');
  const parsed = scheduleTimingSchema.safeParse(given);
  if (!parsed.success) {
    const flag = { every: '--every', cron: '--cron', jitter: '--jitter', catchupWindow: '--catchup-window' } as Record<string, string>;
    throw new InputValidationError('schedule timing', parsed.error.issues.map((i) => ({ path: flag[String(i.path[0])] ?? String(i.path[0]), message: i.message })));
  }
  const timing = parsed.data;
  await describeSchedule(client, scheduleId);
  const handle = client.schedule.getHandle(scheduleId);
  await handle.update((previous) => {
    const spec = timing.every || timing.cron
      ? { ...specOf({ every: timing.every, cron: timing.cron, jitter: (timing.jitter as Duration | undefined) ?? previous.spec.jitter }), skip: previous.spec.skip }
      : { ...previous.spec, ...(timing.jitter ? { jitter: timing.jitter as Duration } : {}) };
    return { ...previous, spec, policies: { ...previous.policies, ...(timing.catchupWindow ? { catchupWindow: timing.catchupWindow as Duration } : {}) } };
  });
  return handle.describe();
}
