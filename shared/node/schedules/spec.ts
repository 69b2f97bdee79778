/**
 * Schedule specs as configuration (zod): an interval ("12h") or a cron expression, a jitter, a catch-up window.
 * The same checks serve the environment (ADOS_TRANSFER_SCHEDULE_*), `ados schedule update` and the deploy step, so
 * a bad value is refused with one message naming its field.
 */
import { z } from 'zod';
import { DURATION_PATTERN, durationSchema, durationToMs } from '../../contract/duration';
import { DEFAULT_TRANSFER_PAIRS, transferPairSchema, type TransferPair } from '../../contract/learning/transfer/input';
import { tenantIdSchema } from '../../contract/tenancy/profile';
import { ConfigError } from '../config';

/** The ranges of the five cron fields (minute, hour, day of month, month, day of week). */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** What is wrong with a five-field cron expression, or undefined when it is well-formed. */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return `must have 5 fields (minute hour day-of-month month day-of-week), e.g. "0 */12 * * *"; got ${fields.length}`;
  for (const [index, text] of fields.entries()) {
    const field = CRON_FIELDS[index];
    for (const part of text.split(',')) {
      const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!match) return `${field.name} "${text}": write *, a number, a range a-b, a list a,b or a step */n`;
      const numbers = [match[2], match[3]].filter((n) => n !== undefined).map(Number);
      if (numbers.some((n) => n < field.min || n > field.max)) return `${field.name} "${text}": must be from ${field.min} to ${field.max}`;
      if (match[4] !== undefined && Number(match[4]) === 0) return `${field.name} "${text}": a step must be at least 1`;
    }
  }
  return undefined;
}

export const cronSchema = z.string().refine((text) => cronProblem(text) === undefined, { error: (issue) => cronProblem(String(issue.input)) ?? 'invalid cron' });

/** When a schedule fires: every `every` or by `cron` (one of them), with jitter and a catch-up window. */
export const scheduleTimingSchema = z
  .object({
    every: durationSchema.refine((text) => !DURATION_PATTERN.test(text) || durationToMs(text) >= 60_000, 'must be at least 1m (Temporal schedules fire at most once a minute usefully)').optional(),
    cron: cronSchema.optional(),
    jitter: durationSchema.optional(),
    catchupWindow: durationSchema.refine((text) => !DURATION_PATTERN.test(text) || durationToMs(text) >= 10_000, 'must be at least 10s (Temporal\'s minimum)').optional(),
  })
  .strict()
  .superRefine((timing, ctx) => {
    if (timing.every && timing.cron) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give --every or --cron, not both' });
    if (timing.every && timing.jitter && DURATION_PATTERN.test(timing.every) && DURATION_PATTERN.test(timing.jitter) && durationToMs(timing.jitter) >= durationToMs(timing.every)) {
      ctx.addIssue({ code: 'custom', path: ['jitter'], message: `must be shorter than the interval (${timing.every})` });
    }
  });
export type ScheduleTiming = z.output<typeof scheduleTimingSchema>;

/** The transfer-learning schedule's ID (its workflows are `learning-transfer-<scheduled time>`). */
export const TRANSFER_SCHEDULE_ID = 'learning-transfer';

export interface TransferScheduleConfig {
  scheduleId: string;
  timing: Required<Pick<ScheduleTiming, 'jitter' | 'catchupWindow'>> & Pick<ScheduleTiming, 'every' | 'cron'>;
  pairs: TransferPair[];
  tenantId: string;
}

const pairsJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON array of pairs (${(error as Error).message})` });
      return z.NEVER;
    }
  })
  .pipe(z.array(transferPairSchema).min(1, 'must list at least one pair'));

const transferScheduleEnvSchema = z.object({
  ADOS_TRANSFER_SCHEDULE_EVERY: z.string().optional(),
  ADOS_TRANSFER_SCHEDULE_CRON: z.string().optional(),
  ADOS_TRANSFER_SCHEDULE_JITTER: z.string().default('10m'),
  ADOS_TRANSFER_SCHEDULE_CATCHUP_WINDOW: z.string().default('6h'),
  ADOS_TRANSFER_PAIRS: pairsJson.optional(),
  ADOS_TRANSFER_TENANT: tenantIdSchema.default('ados'),
});

const ENV_OF_TIMING = { every: 'ADOS_TRANSFER_SCHEDULE_EVERY', cron: 'ADOS_TRANSFER_SCHEDULE_CRON', jitter: 'ADOS_TRANSFER_SCHEDULE_JITTER', catchupWindow: 'ADOS_TRANSFER_SCHEDULE_CATCHUP_WINDOW' } as const;

/** The transfer-learning schedule from the environment: every 12 h by default, jitter 10m, catch-up window 6h. */
export function loadTransferScheduleConfig(env: Record<string, string | undefined> = process.env): TransferScheduleConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsedEnv = transferScheduleEnvSchema.safeParse(present);
  if (!parsedEnv.success) throw new ConfigError(parsedEnv.error.issues.map((i) => `${String(i.path[0])}${i.path.length > 1 ? `[${i.path.slice(1).join('.')}]` : ''}: ${i.message}`));
  const e = parsedEnv.data;
  const timing = scheduleTimingSchema.safeParse({
    every: e.ADOS_TRANSFER_SCHEDULE_CRON || e.ADOS_TRANSFER_SCHEDULE_EVERY ? e.ADOS_TRANSFER_SCHEDULE_EVERY : '12h',
    cron: e.ADOS_TRANSFER_SCHEDULE_CRON,
    jitter: e.ADOS_TRANSFER_SCHEDULE_JITTER,
    catchupWindow: e.ADOS_TRANSFER_SCHEDULE_CATCHUP_WINDOW,
  });
  if (!timing.success) throw new ConfigError(timing.error.issues.map((i) => `${ENV_OF_TIMING[i.path[0] as keyof typeof ENV_OF_TIMING]}: ${i.message}`));
  return {
    scheduleId: TRANSFER_SCHEDULE_ID,
    timing: { ...timing.data, jitter: timing.data.jitter ?? '10m', catchupWindow: timing.data.catchupWindow ?? '6h' },
    pairs: e.ADOS_TRANSFER_PAIRS ?? DEFAULT_TRANSFER_PAIRS.map((pair) => transferPairSchema.parse(pair)),
    tenantId: e.ADOS_TRANSFER_TENANT,
  };
}
