/**
 * The capability plugin API (`ados/capability`): how a unit of real work, built-in or a team's own, is declared and
 * what its handler is given. A worker serves a definition as the activity of its capability's task queue
 * (`<prefix>.cap.<name>`); the definition's defaults become the activity options the workflow schedules it with.
 *
 *   import { defineCapability, z } from 'ados/capability';
 *   export default defineCapability({
 *     name: 'greet', version: '1.0.0', description: 'Says hello',
 *     input: z.object({ who: z.string() }), output: z.object({ text: z.string() }),
 *     defaults: { startToCloseTimeoutSeconds: 30, heartbeatTimeoutSeconds: 10 },
 *     handler: async ({ who }, ctx) => { ctx.logger.info({ who }, 'greeting'); return { text: `hello ${who}` }; },
 *   });
 */
import { z } from 'zod';
import { CAPABILITIES, DEFAULT_RETRY, type BuiltInCapability, type CapabilityRetry, type CapabilitySpec } from '../../shared/contract/capabilities';
import { CAPABILITY_NAME, CAPABILITY_NAME_HINT } from '../../shared/contract/capability-spec';
import type { CapabilityRequest } from '../../shared/contract/delivery/capability-io';
import type { Db } from '../../shared/node/db';
import type { Logger } from '../../shared/node/logger';
import type { TaskEffects } from '../common/effects';

export { z };
export { invalidInput, policyRefusal } from './capability';

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** What a capability's activity is scheduled with unless a plan task overrides it. */
export interface CapabilityDefaults {
  /** How long one attempt may run. */
  startToCloseTimeoutSeconds: number;
  /** A worker silent for this long is presumed dead; the attempt is retried elsewhere from its last checkpoint. */
  heartbeatTimeoutSeconds: number;
  /** How long a task may wait for a worker before the run reports it and escalates (default 300). */
  scheduleToStartTimeoutSeconds?: number;
  retry?: Partial<CapabilityRetry>;
}

/** What a handler is given for one attempt. */
export interface CapabilityContext {
  /** The task: tenant, run, workflow, task id, environment, and the outputs of its upstream tasks. */
  readonly request: Readonly<CapabilityRequest>;
  /** Temporal's attempt number (1 on the first try). */
  readonly attempt: number;
  /** Aborted when the attempt is cancelled (the run is cancelled, its heartbeat timed out, the worker shuts down). */
  readonly signal: AbortSignal;
  /** pino, bound to workflowId, runId, tenant, task, environment, capability and attempt. */
  readonly logger: Logger;
  /** A directory for this attempt only, created empty: a retry never sees a crashed attempt's leftovers. */
  readonly workspace: string;
  /** The details of the previous attempt's last heartbeat (undefined on a first attempt): where a retry resumes. */
  readonly lastCheckpoint: unknown;
  /** Heartbeats (liveness), with checkpoint details a retry receives as `lastCheckpoint`. */
  heartbeat(details?: unknown): void;
  /**
   * The fenced effects writer for this task (activities/common/effects.ts), claimed on first use: one effect per
   * item, refused once a later attempt has taken the task over.
   */
  effects(): Promise<TaskEffects>;
  /** Reports what this attempt cost (for tenant budgets), e.g. `reportCost(0.02, 'usd')`; recorded once per call. */
  reportCost(amount: number, unit: string): void;
  /** ADOS's database, for capabilities that keep records of their own (releases, artifacts). */
  readonly db: Db;
  /** The identity of the worker running the attempt. */
  readonly workerIdentity: string;
}

/** A capability: its identity, its input and output schemas, its defaults and its handler. */
export interface CapabilityDefinition<I = unknown, O = unknown> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly input: z.ZodType<I>;
  readonly output: z.ZodType<O>;
  readonly defaults: CapabilityDefaults;
  /** Variants served by other pools, tried in order by the escalation ladder's swap rung. */
  readonly fallback?: readonly string[];
  readonly handler: (input: I, ctx: CapabilityContext) => Promise<O>;
}

const definitionShape = z.object({
  name: z.string().regex(CAPABILITY_NAME, CAPABILITY_NAME_HINT),
  version: z.string().regex(SEMVER, 'a semantic version such as "1.0.0"'),
  description: z.string().min(1, 'say in a few words what the capability does'),
  input: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'a zod schema for the task input'),
  output: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'a zod schema for the output'),
  defaults: z.object({
    startToCloseTimeoutSeconds: z.number().int('whole seconds').positive('whole seconds, more than 0'),
    heartbeatTimeoutSeconds: z.number().int('whole seconds').positive('whole seconds, more than 0'),
    scheduleToStartTimeoutSeconds: z.number().int('whole seconds').positive('whole seconds, more than 0').optional(),
    retry: z
      .object({
        maximumAttempts: z.number().int().min(1, 'at least 1').optional(),
        initialIntervalSeconds: z.number().positive().optional(),
        backoffCoefficient: z.number().min(1, 'at least 1').optional(),
        maximumIntervalSeconds: z.number().positive().optional(),
      })
      .strict()
      .optional(),
  }),
  fallback: z.array(z.string().regex(CAPABILITY_NAME, 'a capability name')).optional(),
  handler: z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'an async function (input, ctx) => output'),
});

/** Every definition defineCapability made (and so checked), for isCapabilityDefinition. */
const DEFINED = new WeakSet<object>();

/**
 * Declares a capability. Refuses a malformed definition at once (at import time, in the worker that loads it) with
 * the field named, e.g. `defineCapability: defaults.heartbeatTimeoutSeconds: whole seconds, more than 0`.
 */
export function defineCapability<IS extends z.ZodType, OS extends z.ZodType>(definition: {
  name: string;
  version: string;
  description: string;
  input: IS;
  output: OS;
  defaults: CapabilityDefaults;
  fallback?: readonly string[];
  handler: (input: z.output<IS>, ctx: CapabilityContext) => Promise<z.input<OS>>;
}): CapabilityDefinition<z.output<IS>, z.output<OS>> {
  const parsed = definitionShape.safeParse(definition);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`defineCapability${typeof definition?.name === 'string' ? ` "${definition.name}"` : ''}: ${issues}`);
  }
  const { defaults } = definition;
  if (defaults.heartbeatTimeoutSeconds >= defaults.startToCloseTimeoutSeconds) {
    throw new Error(
      `defineCapability "${definition.name}": defaults.heartbeatTimeoutSeconds (${defaults.heartbeatTimeoutSeconds}) must be shorter than startToCloseTimeoutSeconds (${defaults.startToCloseTimeoutSeconds})`,
    );
  }
  const frozen = Object.freeze({ ...definition }) as unknown as CapabilityDefinition<z.output<IS>, z.output<OS>>;
  DEFINED.add(frozen);
  return frozen;
}

/** Whether `value` is a definition made by this module's defineCapability (what a worker accepts from a plugin module). */
export function isCapabilityDefinition(value: unknown): value is CapabilityDefinition {
  return typeof value === 'object' && value !== null && DEFINED.has(value);
}

/** The routing spec a workflow schedules a definition with (the bundle-safe shape of shared/contract/capabilities). */
export function specOf(definition: CapabilityDefinition): CapabilitySpec {
  const { defaults } = definition;
  return {
    description: definition.description,
    startToCloseTimeoutSeconds: defaults.startToCloseTimeoutSeconds,
    heartbeatTimeoutSeconds: defaults.heartbeatTimeoutSeconds,
    ...(defaults.scheduleToStartTimeoutSeconds !== undefined ? { scheduleToStartTimeoutSeconds: defaults.scheduleToStartTimeoutSeconds } : {}),
    retry: { ...DEFAULT_RETRY, ...defaults.retry },
    ...(definition.fallback && definition.fallback.length > 0 ? { alternates: definition.fallback } : {}),
  };
}

/**
 * A built-in capability: defineCapability with its description, defaults and fallback taken from its registry entry
 * (shared/contract/capabilities.ts), the one place the workflow and the client read them from too.
 */
export function defineBuiltIn<IS extends z.ZodType, OS extends z.ZodType>(
  name: BuiltInCapability,
  definition: {
    version: string;
    input: IS;
    output: OS;
    handler: (input: z.output<IS>, ctx: CapabilityContext) => Promise<z.input<OS>>;
  },
): CapabilityDefinition<z.output<IS>, z.output<OS>> {
  const spec: CapabilitySpec = CAPABILITIES[name];
  return defineCapability({ name, description: spec.description, defaults: spec, ...(spec.alternates ? { fallback: spec.alternates } : {}), ...definition });
}
