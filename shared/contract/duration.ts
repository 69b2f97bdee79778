import { z } from 'zod';

/** Durations in input files are written like "90s", "15m", "72h" or "3d". */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function durationToMs(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration: write a whole number and a unit, e.g. "90s", "15m", "72h", "3d"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export const durationSchema = z
  .string()
  .regex(DURATION_PATTERN, 'must be a whole number and a unit (ms, s, m, h, d), e.g. "72h"')
  // zod runs refinements even after the regex failed; only a well-formed text is converted.
  .refine((text) => !DURATION_PATTERN.test(text) || durationToMs(text) > 0, 'must be longer than zero');
