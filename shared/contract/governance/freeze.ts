/**
 * Change-freeze windows per tenant and environment (table `change_freezes`, `ados freeze`), and their translation to
 * the `spec.skip` calendars of Temporal Schedules. Pure: bundle-safe, unit-tested without a server.
 */
import { z } from 'zod';
import { ENVIRONMENTS } from '../delivery/input';

/** Every environment of the tenant. */
export const ALL_ENVIRONMENTS = '*';

/**
 * What a delivery run's promotion does when it meets a freeze: `wait` until the freeze ends (then the gates are asked
 * again), or `refuse` (the run ends `refused`). Remediation never waits for a freeze: its action is blocked.
 */
export const FREEZE_POLICIES = ['wait', 'refuse'] as const;
export type FreezePolicy = (typeof FREEZE_POLICIES)[number];

export const freezeEnvironmentSchema = z.enum([...ENVIRONMENTS, ALL_ENVIRONMENTS], { message: `an environment (${ENVIRONMENTS.join(', ')}) or "*" for all` });

/** One freeze as the gates and the CLI see it; times are ISO-8601 instants. */
export interface ChangeFreeze {
  id: string;
  tenantId: string;
  environment: (typeof ENVIRONMENTS)[number] | typeof ALL_ENVIRONMENTS;
  start: string;
  end: string;
  reason: string;
  policy: FreezePolicy;
  createdBy: string;
}

const instant = (what: string) =>
  z.string().refine((text) => !Number.isNaN(Date.parse(text)), `${what}: an ISO-8601 time, e.g. 2030-12-24T00:00:00Z`);

/** A freeze to add: the end after the start, at most a year long. */
export const freezeInputSchema = z
  .strictObject({
    tenantId: z.string().min(1),
    environment: freezeEnvironmentSchema,
    start: instant('start'),
    end: instant('end'),
    reason: z.string().min(1, 'say why, e.g. "year-end freeze"').max(500),
    policy: z.enum(FREEZE_POLICIES, { message: 'wait (promotions wait for the end) or refuse' }).default('wait'),
    createdBy: z.string().min(1).max(200),
  })
  .superRefine((freeze, ctx) => {
    const start = Date.parse(freeze.start);
    const end = Date.parse(freeze.end);
    if (Number.isNaN(start) || Number.isNaN(end)) return;
    if (end <= start) ctx.addIssue({ code: 'custom', path: ['end'], message: 'must be after start' });
    if (end - start > 366 * 86_400_000) ctx.addIssue({ code: 'custom', path: ['end'], message: 'a freeze lasts at most a year: add another for the next one' });
  });
export type FreezeInput = z.input<typeof freezeInputSchema>;

/** Whether the freeze covers `environment`. */
export function freezeCovers(freeze: Pick<ChangeFreeze, 'environment'>, environment: string): boolean {
  return freeze.environment === ALL_ENVIRONMENTS || freeze.environment === environment;
}

/** The freezes in force at `now` for `environment` (start inclusive, end exclusive). */
export function activeFreezes<F extends Pick<ChangeFreeze, 'environment' | 'start' | 'end'>>(freezes: readonly F[], environment: string, now: string): F[] {
  const at = Date.parse(now);
  return freezes.filter((f) => freezeCovers(f, environment) && Date.parse(f.start) <= at && at < Date.parse(f.end));
}

/**
 * When the freezes in force at `now` are all over: the end of the latest, extended through any freeze that starts
 * before that end (back-to-back freezes are one wait). Undefined when none is in force.
 */
export function freezeLiftsAt(freezes: readonly Pick<ChangeFreeze, 'environment' | 'start' | 'end'>[], environment: string, now: string): string | undefined {
  const covering = freezes.filter((f) => freezeCovers(f, environment));
  let until = Math.max(...activeFreezes(covering, environment, now).map((f) => Date.parse(f.end)), Number.NEGATIVE_INFINITY);
  if (until === Number.NEGATIVE_INFINITY) return undefined;
  for (let extended = true; extended; ) {
    extended = false;
    for (const f of covering) {
      if (Date.parse(f.start) <= until && Date.parse(f.end) > until) {
        until = Date.parse(f.end);
        extended = true;
      }
    }
  }
  return new Date(until).toISOString();
}

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;

/** A field range of a Schedule calendar (the shape of @temporalio/client's Range). */
export interface CalendarRange<Unit> {
  start: Unit;
  end: Unit;
  step: number;
}

/** One `spec.skip` entry: structurally a @temporalio/client CalendarSpec, in UTC. */
export interface SkipCalendar {
  year: CalendarRange<number>;
  month: CalendarRange<(typeof MONTHS)[number]>;
  dayOfMonth: CalendarRange<number>;
  hour: CalendarRange<number>;
  minute: CalendarRange<number>;
  second: CalendarRange<number>;
  /** `ados-freeze:<id>`: how ADOS finds its own entries among a schedule's skip calendars. */
  comment: string;
}

/** The comment that marks a skip calendar as a freeze's. */
export const FREEZE_SKIP_COMMENT_PREFIX = 'ados-freeze:';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const range = <U>(start: U, end: U): CalendarRange<U> => ({ start, end, step: 1 });

/**
 * One calendar matching every second of [from, to) in UTC, where the span lies within one day and is aligned so
 * that a cross product of field ranges is exactly the span: whole minutes within one hour, whole hours within one
 * day, or whole days within one month.
 */
function calendarOf(from: Date, to: Date, unit: 'minute' | 'hour' | 'day', comment: string): SkipCalendar {
  const last = new Date(to.getTime() - 1);
  const all = { hour: range(0, 23), minute: range(0, 59) };
  return {
    year: range(from.getUTCFullYear(), from.getUTCFullYear()),
    month: range(MONTHS[from.getUTCMonth()], MONTHS[from.getUTCMonth()]),
    dayOfMonth: range(from.getUTCDate(), last.getUTCDate()),
    hour: unit === 'day' ? all.hour : range(from.getUTCHours(), last.getUTCHours()),
    minute: unit === 'minute' ? range(from.getUTCMinutes(), last.getUTCMinutes()) : all.minute,
    second: range(0, 59),
    comment,
  };
}

/** The next boundary of `unit` after `at` (UTC): the next hour, day or first of a month. */
function nextBoundary(at: number, unit: 'hour' | 'day' | 'month'): number {
  const d = new Date(at);
  if (unit === 'hour') return Math.floor(at / HOUR) * HOUR + HOUR;
  if (unit === 'day') return Math.floor(at / DAY) * DAY + DAY;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/**
 * The skip calendars that keep a Schedule from firing inside a freeze: the window [start, end), widened to whole
 * minutes (a schedule's actions fire on whole seconds; a freeze that covers part of a minute skips all of it), cut
 * into the fewest calendars whose field ranges match it exactly: a partial first hour by minutes, the rest of the
 * first day by hours, whole days by month, and the same in reverse at the end. In UTC: a schedule with another
 * time zone is not given these (shared/node/governance/schedules.ts says so).
 */
export function freezeSkipCalendars(freeze: Pick<ChangeFreeze, 'id' | 'start' | 'end'>): SkipCalendar[] {
  const comment = `${FREEZE_SKIP_COMMENT_PREFIX}${freeze.id}`;
  const start = Math.floor(Date.parse(freeze.start) / MINUTE) * MINUTE;
  const end = Math.ceil(Date.parse(freeze.end) / MINUTE) * MINUTE;
  const calendars: SkipCalendar[] = [];
  let at = start;
  const push = (to: number, unit: 'minute' | 'hour' | 'day') => {
    if (to <= at) return;
    calendars.push(calendarOf(new Date(at), new Date(to), unit, comment));
    at = to;
  };
  const endHour = Math.floor(end / HOUR) * HOUR;
  const endDay = Math.floor(end / DAY) * DAY;
  // Up to the first whole hour, then the first whole day, then month by month; each piece stops at `end`.
  if (at % HOUR !== 0) push(Math.min(nextBoundary(at, 'hour'), end), 'minute');
  if (at % DAY !== 0) push(Math.min(nextBoundary(at, 'day'), endHour), 'hour');
  while (endDay > at) push(Math.min(nextBoundary(at, 'month'), endDay), 'day');
  push(endHour, 'hour');
  push(end, 'minute');
  return calendars;
}

/** Whether a skip calendar (in UTC) matches the instant `at`: the test's check that the calendars cover the window. */
export function calendarMatches(calendar: SkipCalendar, at: Date): boolean {
  const within = (r: CalendarRange<number>, v: number) => v >= r.start && v <= r.end;
  return (
    within(calendar.year, at.getUTCFullYear()) &&
    calendar.month.start === MONTHS[at.getUTCMonth()] &&
    within(calendar.dayOfMonth, at.getUTCDate()) &&
    within(calendar.hour, at.getUTCHours()) &&
    within(calendar.minute, at.getUTCMinutes()) &&
    within(calendar.second, at.getUTCSeconds())
  );
}
