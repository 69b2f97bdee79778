import { z } from 'zod';

/**
 * The agent schema: what ADOS knows about an agent, written as YAML or JSON. This is the current
 * format (CURRENT_SCHEMA_VERSION); older documents are migrated to it first (./migrations.ts).
 * Bundle-safe: the workflow validates with the same definitions as the client.
 */
export const CURRENT_SCHEMA_VERSION = '6.1.0';

export const AGENT_KINDS = ['core-service', 'orchestrator', 'domain-adapter', 'background-worker', 'governance-monitor'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export const GOVERNANCE_MODES = ['hybrid', 'autonomous', 'supervised'] as const;

/** Top-level keys every document must have (the structure layer checks them before the types layer). */
export const REQUIRED_SECTIONS = [
  'name',
  'version',
  'kind',
  'system',
  'integration',
  'governance',
  'memoryTopology',
  'communication',
  'reasoning',
  'learning',
  'deployment',
] as const;
/** Sections that must be mappings (objects) when present. */
export const OBJECT_SECTIONS = [
  'system',
  'integration',
  'governance',
  'memoryTopology',
  'communication',
  'reasoning',
  'learning',
  'deployment',
  'metadata',
] as const;

export const SEMVER_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/;
/** Agent names: a letter first, then letters, digits, spaces, "_", "." or "-" (e.g. "PlastOS Adapter"). */
export const AGENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9 _.-]{0,62}$/;
/** Retention and horizons: "30 days", "6 months", "1 year". */
export const RETENTION_PATTERN = /^([1-9]\d{0,5}) (day|days|month|months|year|years)$/;

const DAYS_PER_UNIT: Record<string, number> = { day: 1, days: 1, month: 30, months: 30, year: 365, years: 365 };

/** "30 days" → 30, "6 months" → 180, "1 year" → 365 (months count 30 days, years 365). */
export function retentionToDays(text: string): number {
  const match = RETENTION_PATTERN.exec(text);
  if (!match) throw new Error(`"${text}" is not a retention: write "<n> days", "<n> months" or "<n> years"`);
  return Number(match[1]) * DAYS_PER_UNIT[match[2]];
}

const retention = z.string().regex(RETENTION_PATTERN, 'must be "<n> days", "<n> months" or "<n> years", e.g. "30 days"');
const identifier = (what: string) =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, `${what} must be an identifier: a letter or "_", then letters, digits or "_"`);
const nonEmpty = (what: string) => z.string().trim().min(1, `${what} cannot be empty`);

export const memoryStoreSchema = z.object({
  store: nonEmpty('the store'),
  retention,
  /** Where the store lives relative to the agent; a remote store costs a network round trip per access. */
  location: z.enum(['local', 'remote']).default('local'),
});

export const escalationStepSchema = z.object({
  level: z.number().int('must be a whole number').min(1, 'must be at least 1'),
  notify: nonEmpty('notify (who is told)'),
  afterMinutes: z.number().int('must be a whole number of minutes').min(0, 'must be zero or more').default(0),
});

export const messageFieldSchema = z.object({
  name: identifier('the name'),
  type: z.enum(['string', 'number', 'boolean', 'object']),
  required: z.boolean().default(true),
  description: z.string().optional(),
});

export const endpointSchema = z.object({
  name: z.string().regex(/^[a-z]([a-z0-9-]{0,13}[a-z0-9])?$/, 'must be a port name: lowercase letters, digits and "-", at most 15'),
  port: z.number().int('must be a whole number').min(1, 'must be 1..65535').max(65535, 'must be 1..65535'),
  path: z.string().regex(/^\//, 'must start with "/"').default('/'),
});

export const agentSchema = z.object({
  name: z.string().regex(AGENT_NAME_PATTERN, 'must start with a letter; letters, digits, spaces, "_", "." and "-" (at most 63)'),
  version: z.string().regex(SEMVER_PATTERN, 'must be a semantic version such as "6.1.0"'),
  kind: z.enum(AGENT_KINDS),
  dependsOn: z.array(z.string()).default([]),
  system: z.object({
    description: nonEmpty('the description'),
    owner: nonEmpty('the owner'),
  }),
  integration: z.object({
    protocols: z.array(z.enum(['http', 'grpc', 'events'])).default([]),
    apis: z
      .array(
        z.object({
          name: identifier('the api name'),
          method: z.enum(['GET', 'POST', 'PUT', 'DELETE']),
          path: z.string().regex(/^\//, 'must start with "/"'),
        }),
      )
      .default([]),
  }),
  governance: z.object({
    mode: z.enum(GOVERNANCE_MODES),
    humanOverride: z.boolean(),
    escalationPolicy: z.array(escalationStepSchema).default([]),
  }),
  memoryTopology: z.object({
    working: memoryStoreSchema,
    episodic: memoryStoreSchema.optional(),
    semantic: memoryStoreSchema.optional(),
  }),
  communication: z.object({
    inputs: z.array(messageFieldSchema).default([]),
    outputs: z.array(messageFieldSchema).default([]),
  }),
  reasoning: z.object({
    primaryModel: nonEmpty('the primary model'),
    strategies: z.array(nonEmpty('a strategy')).min(1, 'list at least one strategy, e.g. [chain-of-thought]'),
    /** How far ahead the agent reasons; compared with working-memory retention by the consistency layer. */
    horizon: retention.default('1 days'),
    /** Latency budget of one decision; compared with the episodic store's location by the performance layer. */
    decisionLatencyMs: z.number().int('must be a whole number of milliseconds').positive('must be more than 0').default(1000),
    /** Deprecated since 6.1.0 (see the migration registry); accepted, warned about, ignored. */
    fallbackModel: z.string().optional(),
  }),
  learning: z.object({
    driftThreshold: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    feedback: z.enum(['none', 'batch', 'online']).default('batch'),
    evaluationWindow: retention.optional(),
  }),
  deployment: z.object({
    replicas: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100'),
    cpu: z.string().regex(/^(\d+m|\d+(\.\d+)?)$/, 'must be a Kubernetes CPU quantity such as "500m" or "2"'),
    memory: z.string().regex(/^\d+(Mi|Gi)$/, 'must be a Kubernetes memory quantity such as "512Mi" or "2Gi"'),
    endpoints: z.array(endpointSchema).min(1, 'list at least one endpoint (name, port)'),
    timeoutMs: z.number().int('must be a whole number of milliseconds').positive('must be more than 0'),
    apiMode: z.enum(['public', 'private']),
    authRequired: z.boolean(),
    image: z.string().min(1).optional(),
  }),
  metadata: z.record(z.string(), z.unknown()).default({}),
});

export type AgentSchemaInput = z.input<typeof agentSchema>;
export type AgentSchema = z.output<typeof agentSchema>;

/** Kebab-case name for files, Kubernetes objects and directories: "PlastOS Adapter" → "plastos-adapter". */
export function agentSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
}
