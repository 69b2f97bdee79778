/**
 * The input of a task runtime (`taskRuntime`, ID `runtime-<tenant>-<task>`): what to process (a work source), with
 * which capability, how many items per batch and how many batches at once, how fast, for how long, and what to do
 * with a batch that keeps failing. Validated by the client before it starts and by the workflow at entry, with the
 * same schema and the same messages. Bundle-safe.
 */
import { z } from 'zod';
import { capabilitySpec } from '../capabilities';
import { CAPABILITY_NAME, CAPABILITY_NAME_HINT, capabilitySpecSchema } from '../capability-spec';
import { durationSchema, durationToMs } from '../duration';
import { tenantIdSchema } from '../tenancy/profile';
import { didYouMean, issuesFromZod, type Validated } from '../validation';

/** Task ids: what `runtime-<tenant>-<task>` and the work-item table are keyed by. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const TASK_ID_RULE = 'letters, digits, "_", "." and "-" (up to 128), starting with a letter or digit';
export const taskIdSchema = z.string().regex(TASK_ID_PATTERN, TASK_ID_RULE);

/** The most batches a runtime runs at once (the input's maxParallel and the setParallelism update). */
export const MAX_PARALLEL_BATCHES = 64;
/** The most items a batch may hold: its items travel in the batch activity's input (one payload, under 2 MB). */
export const MAX_BATCH_SIZE = 1000;
/** The longest a runtime's budget may be, in total with its extensions. */
export const MAX_BUDGET_MS = 30 * 86_400_000;
export const DEFAULT_BUDGET = '24h';
/** Events per run of the chain before it hands over (continue-as-new): well under Temporal's 10,000 warning. */
export const DEFAULT_HAND_OVER_EVENTS = 5000;

/** Items loaded with `ados runtime load` into the task's work-item table, claimed by cursor. */
const tableSource = z.object({ kind: z.literal('table') }).strict();
/** N generated items (seq 1 … N, no payload): tests and benchmarks. */
const generatorSource = z
  .object({
    kind: z.literal('generator'),
    items: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100_000_000, 'at most 100,000,000'),
  })
  .strict();

export const workSourceSchema = z.discriminatedUnion('kind', [tableSource, generatorSource], {
  error: 'must be { "kind": "table" } (items loaded with `ados runtime load`) or { "kind": "generator", "items": N }',
});
export type WorkSource = z.output<typeof workSourceSchema>;

export const onFailureSchema = z
  .object({
    /** Retries of a failing batch before the policy applies (the batch activity gets retries + 1 attempts). */
    retries: z.number().int('must be a whole number').min(0, 'must be zero or more').max(100, 'at most 100').default(3),
    /**
     * `dead-letter`: the failed batch is split until the items that fail are found; each of them, once it has failed
     * past its own retries, goes to the dead letters, the other items are processed, and the runtime goes on.
     * `stop`: the runtime stops as failed.
     */
    then: z.enum(['dead-letter', 'stop'], 'must be "dead-letter" or "stop"').default('dead-letter'),
  })
  .strict();

const taskRuntimeShape = z
  .object({
    tenantId: tenantIdSchema,
    taskId: taskIdSchema,
    source: workSourceSchema,
    /** The capability that processes a batch (built-in or plugin); its activity runs on `<prefix>.cap.<capability>`. */
    capability: z.string().regex(CAPABILITY_NAME, CAPABILITY_NAME_HINT),
    /** A plugin capability's routing spec (the client fills it from the registrations); built-ins need none. */
    capabilitySpec: capabilitySpecSchema.optional(),
    /** Fields added to every batch's capability input (besides `items` and `checkpointEvery`). */
    capabilityInput: z.record(z.string(), z.unknown()).default({}),
    batchSize: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_BATCH_SIZE, `at most ${MAX_BATCH_SIZE}`).default(100),
    maxParallel: z.number().int('must be a whole number').min(1, 'must be at least 1').max(MAX_PARALLEL_BATCHES, `at most ${MAX_PARALLEL_BATCHES}`).default(4),
    /** Items between a batch's heartbeated checkpoints, and between the runtime's checkpoints in PostgreSQL. */
    checkpointEvery: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000).default(500),
    /** The runtime's budget of running time (paused time does not count), e.g. "24h". */
    budget: durationSchema.default(DEFAULT_BUDGET),
    /** The least time between the starts of two batches (a rate limit), e.g. "30s". */
    pacing: durationSchema.optional(),
    onFailure: onFailureSchema.default({ retries: 3, then: 'dead-letter' }),
    /** Events in one run of the chain at which it hands over to the next (continue-as-new). */
    handOverAtEvents: z.number().int('must be a whole number').min(200, 'at least 200').max(40_000, 'at most 40,000').default(DEFAULT_HAND_OVER_EVENTS),
    requestedBy: z.string().min(1, 'say who starts the runtime').max(128).default('unknown'),
    /** Continue from the task's last checkpoint in PostgreSQL (`ados runtime resume` of a runtime that ended). */
    resume: z.boolean().default(false),
  })
  .strict();

export type TaskRuntimeRequest = z.input<typeof taskRuntimeShape>;
export type TaskRuntimeInput = z.output<typeof taskRuntimeShape>;

/** Validates a task runtime request; every issue names its field (`source.items: must be at least 1`). */
export function validateTaskRuntimeInput(raw: unknown, known?: readonly string[]): Validated<TaskRuntimeInput> {
  const parsed = taskRuntimeShape.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const input = parsed.data;
  if (!capabilitySpec(input.capability) && !input.capabilitySpec) {
    const hint = known ? `; known: ${known.join(', ')}${didYouMean(input.capability, known)}` : '';
    return { ok: false, issues: [{ path: 'capability', message: `unknown capability "${input.capability}" (a plugin needs its capabilitySpec, which \`ados runtime start\` reads from the registrations)${hint}` }] };
  }
  if (durationToMs(input.budget) > MAX_BUDGET_MS) return { ok: false, issues: [{ path: 'budget', message: 'at most 30d' }] };
  return { ok: true, value: input };
}

/** The routing spec a batch is scheduled with: the built-in's registry entry, else the plugin's spec. */
export function batchCapabilitySpec(input: Pick<TaskRuntimeInput, 'capability' | 'capabilitySpec'>) {
  const spec = capabilitySpec(input.capability) ?? input.capabilitySpec;
  if (!spec) throw new Error(`no spec for capability "${input.capability}"`);
  return spec;
}

/** The longest a work item's payload may be as JSON: a batch of 1000 stays under Temporal's 2 MB payload limit. */
export const MAX_ITEM_PAYLOAD_CHARS = 1500;

/** One line of an NDJSON work-item file: `{"key": "...", "payload": …}` (payload optional, any JSON). */
export const workItemLineSchema = z
  .object({
    key: z.string().min(1, 'must not be empty').max(256, 'at most 256 characters'),
    payload: z.unknown().optional(),
  })
  .strict()
  .refine((line) => (JSON.stringify(line.payload ?? null) ?? '').length <= MAX_ITEM_PAYLOAD_CHARS, {
    path: ['payload'],
    message: `at most ${MAX_ITEM_PAYLOAD_CHARS} characters as JSON (keep large data elsewhere and put its address here)`,
  });
export type WorkItemLine = z.output<typeof workItemLineSchema>;
