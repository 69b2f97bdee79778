/**
 * The flags of `ados worker` (workers/main.ts), parsed with zod before anything connects: a bad flag exits 2 with the
 * flag named, like every other `ados` command.
 */
import { z } from 'zod';
import { capabilityListFlag } from '../shared/contract/capability-list';
import { InputValidationError, issuesFromZod } from '../shared/contract/validation';
import type { CapabilityModuleRef } from './capability-modules';
import type { WorkerProcessOptions } from './run-worker-process';

export const DEFAULT_MAX_CONCURRENT = 8;

/** Why `value` cannot be a worker's activities-at-once limit (`given` is how the caller wrote it), or undefined. */
export function maxConcurrentProblem(value: number, given: string = String(value)): string | undefined {
  return Number.isInteger(value) && value >= 1 ? undefined : `must be a whole number of at least 1 (got ${given})`;
}

/** Why `value` cannot be a task queue's activities-per-second limit, or undefined. */
export function rateLimitProblem(value: number, given: string = String(value)): string | undefined {
  return Number.isFinite(value) && value > 0 ? undefined : `must be a number of activities per second above 0 (got ${given})`;
}

/** A number flag, refused with `problem`'s message; only plain decimals count (no `1e3`, `0x10` or blanks). */
function numberFlag(problem: (value: number, given: string) => string | undefined) {
  return z.string().transform((text, context): number => {
    const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    const message = problem(value, JSON.stringify(text));
    if (message) {
      context.addIssue({ code: 'custom', message, input: text });
      return z.NEVER;
    }
    return value;
  });
}

/** Shown by Temporal and recorded with every task the worker runs: short, and safe in logs and queries. */
const IDENTITY = /^([A-Za-z0-9][A-Za-z0-9._:@,+[\]-]*)?$/;
export const MAX_IDENTITY_LENGTH = 128;

const CAPABILITY_ONLY = 'applies to capability workers only: the control worker runs the workflows and the control activities (drop the flag, or --role capabilities)';

const workerFlagsSchema = z
  .object({
    role: z
      .enum(['control', 'capabilities'], { error: (issue) => `must be control or capabilities (got ${JSON.stringify(issue.input)})` })
      .default('capabilities'),
    capabilities: capabilityListFlag.optional(),
    capabilityModule: z.array(z.string().min(1, 'give the path of a module that exports capability definitions')).optional(),
    maxConcurrent: numberFlag(maxConcurrentProblem).optional(),
    rateLimit: numberFlag(rateLimitProblem).optional(),
    identity: z
      .string()
      .min(1, 'must not be empty: leave the flag out for the default (role-pid@host)')
      .max(MAX_IDENTITY_LENGTH, `must be at most ${MAX_IDENTITY_LENGTH} characters`)
      .regex(IDENTITY, 'may hold letters, digits and . _ : @ , + [ ] - and must start with a letter or digit, e.g. cap-build-1@host')
      .optional(),
    /** Whether configuration names capability modules (not a flag: set by parseWorkerFlags). */
    configModules: z.boolean(),
  })
  .superRefine((flags, context) => {
    if (flags.role === 'capabilities' && !flags.capabilities && !flags.capabilityModule?.length && !flags.configModules) {
      context.addIssue({
        code: 'custom',
        path: ['capabilities'],
        message:
          'a capability worker needs at least one capability, e.g. --capabilities build,deploy or --capability-module ./caps.ts (or --role control for the control worker)',
      });
    }
    if (flags.role === 'control') {
      for (const key of ['capabilities', 'capabilityModule', 'maxConcurrent', 'rateLimit'] as const) {
        if (flags[key] !== undefined) context.addIssue({ code: 'custom', path: [key], message: CAPABILITY_ONLY });
      }
    }
  });

/** `maxConcurrent` → `--max-concurrent`. */
const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/**
 * The worker process's options from commander's raw flags (and the modules configuration names in
 * ADOS_CAPABILITY_MODULES, which a capability worker loads too); throws InputValidationError naming every bad flag.
 */
export function parseWorkerFlags(raw: Record<string, unknown>, configModules: readonly string[] = []): Omit<WorkerProcessOptions, 'plugins'> & { capabilityModules: CapabilityModuleRef[] } {
  const parsed = workerFlagsSchema.safeParse({ ...raw, configModules: configModules.length > 0 });
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error).map((issue) => ({ ...issue, path: flagName(issue.path) }));
    throw new InputValidationError('ados worker flags', issues);
  }
  const flags = parsed.data;
  return {
    role: flags.role,
    capabilities: flags.capabilities ?? [],
    maxConcurrent: flags.maxConcurrent,
    maxTaskQueueActivitiesPerSecond: flags.rateLimit,
    identity: flags.identity,
    capabilityModules:
      flags.role === 'control'
        ? []
        : [
            ...(flags.capabilityModule ?? []).map((path): CapabilityModuleRef => ({ path, from: '--capability-module' })),
            ...configModules.map((path): CapabilityModuleRef => ({ path, from: 'ADOS_CAPABILITY_MODULES' })),
          ],
  };
}
