/**
 * "Schedules skip inside a freeze": a tenant's Temporal Schedules get the freeze windows as `spec.skip` calendars.
 * A schedule belongs to a tenant by its AdosTenant search attribute; its memo's `environment` (when set) says which
 * environment's freezes apply to it, otherwise all of the tenant's do. ADOS's own skip entries carry the comment
 * `ados-freeze:<id>` and are replaced each time; any other skip entry of the schedule is kept.
 */
import type { CalendarSpec, Client, ScheduleDescription } from '@temporalio/client';
import { freezeCovers, freezeSkipCalendars, FREEZE_SKIP_COMMENT_PREFIX, type ChangeFreeze } from '../../contract/governance/freeze';
import { AdosTenant } from '../../contract/search-attributes';

/** What applying the freezes did to one schedule. */
export interface ScheduleSkipUpdate {
  scheduleId: string;
  /** Skip calendars ADOS set (0: the schedule had none to set, or was left alone). */
  calendars: number;
  /** Why the schedule was left alone (another time zone than UTC). */
  skipped?: string;
}

/** The skip list a schedule should have: its own entries, then one calendar set per freeze that applies to it. */
export function skipListFor(current: readonly CalendarSpec[], freezes: readonly ChangeFreeze[], environment: string | undefined): CalendarSpec[] {
  const own = current.filter((c) => !c.comment?.startsWith(FREEZE_SKIP_COMMENT_PREFIX));
  const applying = freezes.filter((f) => environment === undefined || freezeCovers(f, environment));
  return [...own, ...applying.flatMap(freezeSkipCalendars)];
}

/**
 * Sets the skip calendars of every schedule of the tenant from `freezes` (the tenant's freezes in force or to
 * come). Schedules in a time zone other than UTC are left alone and reported: the calendars are UTC.
 */
export async function applyFreezesToSchedules(client: Client, tenantId: string, freezes: readonly ChangeFreeze[]): Promise<ScheduleSkipUpdate[]> {
  const updates: ScheduleSkipUpdate[] = [];
  for await (const summary of client.schedule.list({ query: `${AdosTenant.name} = '${tenantId}'` })) {
    const handle = client.schedule.getHandle(summary.scheduleId);
    const description = await handle.describe();
    const timezone = description.spec.timezone;
    if (timezone && timezone !== 'UTC' && timezone !== 'Etc/UTC') {
      updates.push({ scheduleId: summary.scheduleId, calendars: 0, skipped: `its time zone is ${timezone}; freeze calendars are UTC` });
      continue;
    }
    const environment = environmentOf(description);
    let calendars = 0;
    await handle.update((previous) => {
      const skip = skipListFor((previous.spec.skip ?? []) as CalendarSpec[], freezes, environment);
      calendars = skip.filter((c) => c.comment?.startsWith(FREEZE_SKIP_COMMENT_PREFIX)).length;
      return { ...previous, spec: { ...previous.spec, skip } };
    });
    updates.push({ scheduleId: summary.scheduleId, calendars });
  }
  return updates;
}

function environmentOf(description: ScheduleDescription): string | undefined {
  const value = description.memo?.environment;
  return typeof value === 'string' ? value : undefined;
}
