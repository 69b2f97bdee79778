/**
 * A tenant's profile (README, "Tenants"): its budget, its concurrency limits and priority, its policy space and its
 * opt-ins. One zod schema for the whole profile, with the defaults a tenant gets when nobody set anything, and one
 * for a change to it (every field optional), so that the CLI, the store and admission agree on what is valid.
 */
import { z } from 'zod';
import { tenantApprovalsSchema } from '../approval';
import { issuesFromZod, type Validated } from '../validation';
import { TENANT_ID_PATTERN } from '../workflow-ids';

/** How a bad tenant id is explained, wherever one is read. */
export const TENANT_ID_RULE = 'must be lowercase letters, digits and "_", starting with a letter or digit, at most 63 (no dash: workflow IDs parse back)';

export const tenantIdSchema = z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE);

/** The unit costs are reported in (`ctx.reportCost(amount, unit)`): the same rule as run-capability.ts enforces. */
export const COST_UNIT_PATTERN = /^[a-z][a-z0-9_]{0,31}$/i;

const wholeNumber = (min: number, max: number) =>
  z.number(`must be a whole number from ${min} to ${max}`).int(`must be a whole number from ${min} to ${max}`).min(min, `must be a whole number from ${min} to ${max}`).max(max, `must be a whole number from ${min} to ${max}`);

/** A budget per window, in the budget's unit; null is no limit. */
const budgetAmount = z.number('must be an amount ≥ 0, or none for no limit').nonnegative('must be an amount ≥ 0, or none for no limit').finite('must be an amount ≥ 0, or none for no limit').nullable();

/** A policy of the policy space: an object of settings the planner, tools, agents or generation read. */
const policy = z.record(z.string(), z.unknown(), 'must be a JSON object of policy settings');

export const budgetSchema = z.object({
  perDay: budgetAmount.default(null),
  perMonth: budgetAmount.default(null),
  unit: z.string('must be a cost unit such as usd').regex(COST_UNIT_PATTERN, 'must be a cost unit such as usd or tokens (a letter, then letters, digits or "_")').default('usd'),
});

export const limitsSchema = z.object({
  maxConcurrentRuns: wholeNumber(1, 1000).default(5),
  maxConcurrentTasksPerAgent: wholeNumber(1, 1000).default(2),
  priority: wholeNumber(1, 10).default(5),
  fairnessWeight: z.number('must be a number above 0, at most 1000').positive('must be a number above 0, at most 1000').max(1000, 'must be a number above 0, at most 1000').default(1),
  /** Token bucket of run starts (the tenant gate's `runs` grants): sustained rate and largest burst. */
  runStartsPerMinute: wholeNumber(1, 1_000_000).default(600),
  runStartBurst: wholeNumber(1, 1_000_000).default(100),
  /** Token bucket of task starts per agent (each `agent:<name>` grant). */
  agentTaskStartsPerMinute: wholeNumber(1, 1_000_000).default(6000),
  agentTaskStartBurst: wholeNumber(1, 1_000_000).default(1000),
});

export const policiesSchema = z.object({
  planner: policy.default({}),
  tool: policy.default({}),
  agent: policy.default({}),
  generation: policy.default({}),
});

export const POLICY_NAMES = ['planner', 'tool', 'agent', 'generation'] as const;

/** How a bad webhook URL is explained (the CLI names the flag, `--notify-url`, in front of it). */
export const WEBHOOK_URL_RULE =
  'must be an http:// or https:// URL without a user or password, such as https://hooks.example.com/ados (its host allowed by the control worker\'s ADOS_HTTP_ALLOWED_HOSTS), or none for the log channel only';

/**
 * Where known anomalies are POSTed. No user or password in it: the URL is shown by `ados tenant show` and stored with
 * each notification (a token in the path or query is the receiver's business).
 */
const webhookUrl = z
  .string(WEBHOOK_URL_RULE)
  .trim()
  .max(2048, 'must be at most 2048 characters')
  .refine((text) => {
    // Bundle-safe: URL is a global in Node and in the workflow sandbox; nothing here runs in a workflow anyway.
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '' && url.password === '';
  }, WEBHOOK_URL_RULE);

export const notificationsSchema = z.object({
  /** Known anomalies are POSTed here as JSON (and logged); null: the log channel only (the control worker's warn line). */
  webhookUrl: webhookUrl.nullable().default(null),
});

export const tenantProfileSchema = z.object({
  /** Shown by `ados tenant show|list`; null: the id. */
  displayName: z.string('must be text').trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters').nullable().default(null),
  /** A deactivated tenant's new runs are refused at admission. */
  active: z.boolean('must be true or false').default(true),
  budget: budgetSchema.default(() => budgetSchema.parse({})),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  policies: policiesSchema.default(() => policiesSchema.parse({})),
  /** Whether the tenant's runs may feed (and receive) cross-tenant meta-learning. */
  metaLearning: z.boolean('must be true or false').default(false),
  /** Approver roles and the prod gate's policy (README, "Approver policy"); none: each plan's `approval` decides. */
  approvals: tenantApprovalsSchema.default(() => tenantApprovalsSchema.parse({})),
  /** How the tenant hears of known anomalies (README, "Anomaly monitor"). */
  notifications: notificationsSchema.default(() => notificationsSchema.parse({})),
});

export type TenantProfile = z.output<typeof tenantProfileSchema>;

/** A change to a profile: any field, at any depth, may be left out; what is given replaces what was there. */
export const tenantProfilePatchSchema = z.object({
  displayName: tenantProfileSchema.shape.displayName.unwrap().optional(),
  active: z.boolean('must be true or false').optional(),
  budget: z.object({ perDay: budgetAmount.optional(), perMonth: budgetAmount.optional(), unit: budgetSchema.shape.unit.unwrap().optional() }).optional(),
  limits: z
    .object({
      maxConcurrentRuns: limitsSchema.shape.maxConcurrentRuns.unwrap().optional(),
      maxConcurrentTasksPerAgent: limitsSchema.shape.maxConcurrentTasksPerAgent.unwrap().optional(),
      priority: limitsSchema.shape.priority.unwrap().optional(),
      fairnessWeight: limitsSchema.shape.fairnessWeight.unwrap().optional(),
      runStartsPerMinute: limitsSchema.shape.runStartsPerMinute.unwrap().optional(),
      runStartBurst: limitsSchema.shape.runStartBurst.unwrap().optional(),
      agentTaskStartsPerMinute: limitsSchema.shape.agentTaskStartsPerMinute.unwrap().optional(),
      agentTaskStartBurst: limitsSchema.shape.agentTaskStartBurst.unwrap().optional(),
    })
    .optional(),
  policies: z.object({ planner: policy.optional(), tool: policy.optional(), agent: policy.optional(), generation: policy.optional() }).optional(),
  metaLearning: z.boolean('must be true or false').optional(),
  approvals: z.object({ roles: tenantApprovalsSchema.shape.roles.unwrap().optional(), prod: tenantApprovalsSchema.shape.prod.unwrap().optional() }).optional(),
  // Strict: a misspelt key (`webhook`) would otherwise leave the tenant without the notifications it asked for.
  notifications: z.object({ webhookUrl: webhookUrl.nullable().optional() }).strict().optional(),
});

export type TenantProfilePatch = z.input<typeof tenantProfilePatchSchema>;

/** The profile a tenant has when nobody set anything (also what admission creates for an unknown tenant). */
export function defaultProfile(): TenantProfile {
  return tenantProfileSchema.parse({});
}

/** `profile` with `patch` applied, validated; issues name the field by its path (`limits.priority`). */
export function applyProfilePatch(profile: TenantProfile, patch: unknown): Validated<TenantProfile> {
  const parsed = tenantProfilePatchSchema.strict().safeParse(patch);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error) };
  const p = parsed.data;
  const merged = {
    ...profile,
    ...(p.displayName !== undefined ? { displayName: p.displayName } : {}),
    ...(p.active !== undefined ? { active: p.active } : {}),
    ...(p.metaLearning !== undefined ? { metaLearning: p.metaLearning } : {}),
    budget: { ...profile.budget, ...definedOnly(p.budget) },
    limits: { ...profile.limits, ...definedOnly(p.limits) },
    policies: { ...profile.policies, ...definedOnly(p.policies) },
    approvals: { ...profile.approvals, ...definedOnly(p.approvals) },
    notifications: { ...profile.notifications, ...definedOnly(p.notifications) },
  };
  const checked = tenantProfileSchema.safeParse(merged);
  return checked.success ? { ok: true, value: checked.data } : { ok: false, issues: issuesFromZod(checked.error) };
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A profile as `path → value`, one level into each group (`budget.perDay`, `policies.tool`). */
function flattenProfile(profile: TenantProfile): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(profile)) {
    if (typeof value === 'object' && value !== null) for (const [inner, v] of Object.entries(value)) flat[`${key}.${inner}`] = v;
    else flat[key] = value;
  }
  return flat;
}

/** The fields that differ between two profiles, by path (`budget.perDay`), for the audit of a change. */
export function profileChanges(before: TenantProfile, after: TenantProfile): Record<string, { before: unknown; after: unknown }> {
  const a = flattenProfile(before);
  const b = flattenProfile(after);
  const changes: Record<string, { before: unknown; after: unknown }> = {};
  for (const path of Object.keys(b)) if (JSON.stringify(a[path]) !== JSON.stringify(b[path])) changes[path] = { before: a[path] ?? null, after: b[path] };
  return changes;
}

/** The workflow ID a tenant's own audit entries are filed under (profile changes, budget alerts, refusals). */
export function tenantAuditId(tenantId: string): string {
  return `tenant-${tenantId}`;
}
