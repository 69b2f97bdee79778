/**
 * The capability registry: every capability a plan may name, with the queue it is routed to and
 * the activity options the workflow schedules it with. Bundle-safe (workflows read it), so handlers
 * live elsewhere: activities/capabilities/<name>.ts. Adding a capability is one handler file plus
 * one entry here (see README, "Plugging in a capability").
 */
export interface CapabilityRetry {
  maximumAttempts: number;
  initialIntervalSeconds: number;
  backoffCoefficient: number;
  maximumIntervalSeconds: number;
}

export interface CapabilitySpec {
  description: string;
  /** How long one attempt may run. */
  startToCloseTimeoutSeconds: number;
  /** A worker that stops heartbeating for this long is presumed dead; the attempt is retried elsewhere. */
  heartbeatTimeoutSeconds: number;
  /**
   * How long a task may wait on its queue for a worker to pick it up (default
   * DEFAULT_SCHEDULE_TO_START_TIMEOUT_SECONDS). When it fires the run checks who polls the queue, reports
   * "no worker polls capability X (task queue Y)" and escalates (README, "The escalation ladder").
   */
  scheduleToStartTimeoutSeconds?: number;
  retry: CapabilityRetry;
  /**
   * Variants served by other pools, tried in order by the escalation ladder's "agent swap" rung when
   * this capability fails past its retry policy. Each is a capability of its own in this registry.
   */
  alternates?: readonly string[];
}

/** Long enough for a busy pool's backlog, short enough that an unserved capability does not hang a run. */
export const DEFAULT_SCHEDULE_TO_START_TIMEOUT_SECONDS = 300;

/** The retry policy of a capability that names none. */
export const DEFAULT_RETRY: CapabilityRetry = {
  maximumAttempts: 3,
  initialIntervalSeconds: 1,
  backoffCoefficient: 2,
  maximumIntervalSeconds: 30,
};

export const CAPABILITIES = {
  build: {
    description: 'Render an artifact from a template and content-hash it',
    startToCloseTimeoutSeconds: 300,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  deploy: {
    description: 'Record a release of an artifact for an environment (idempotent on run + environment)',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  verify: {
    description: 'Check the recorded release and, when given, an HTTP health endpoint on loopback',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  analysis: {
    description: 'Descriptive statistics and z-score outliers over a numeric series',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  generation: {
    description: 'Deterministic text generation from a prompt template (primary model); swaps to generation.fallback',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    scheduleToStartTimeoutSeconds: 120,
    retry: DEFAULT_RETRY,
    alternates: ['generation.fallback'],
  },
  'generation.fallback': {
    description: 'Extractive fallback for generation: the rendered prompt, trimmed to maxWords (served by another pool)',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    scheduleToStartTimeoutSeconds: 120,
    retry: DEFAULT_RETRY,
  },
  noop: {
    description: 'Does nothing and returns { ok: true }: smoke tests and the routing-overhead benchmark',
    startToCloseTimeoutSeconds: 30,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  extract: {
    description: 'Validate an agent schema and generate its module, test, manifest and README (content-hash cached)',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  batch: {
    description: 'Process input.items in checkpointed chunks: one exactly-once effect per item, fenced by attempt, resumed from the last checkpoint',
    startToCloseTimeoutSeconds: 3600,
    heartbeatTimeoutSeconds: 10,
    // A crashed worker is not the task's fault: retry soon and often (each retry resumes from the last checkpoint and
    // rewrites nothing). Failover ≈ heartbeat timeout (from the last heartbeat) + ~1.9 s of server processing
    // (bench/suites/failover-latency.ts).
    retry: { maximumAttempts: 10, initialIntervalSeconds: 0.5, backoffCoefficient: 1.5, maximumIntervalSeconds: 10 },
  },
} as const satisfies Record<string, CapabilitySpec>;

export type BuiltInCapability = keyof typeof CAPABILITIES;

export const KNOWN_CAPABILITIES: readonly string[] = Object.keys(CAPABILITIES);

export function capabilitySpec(name: string): CapabilitySpec | undefined {
  return Object.prototype.hasOwnProperty.call(CAPABILITIES, name)
    ? (CAPABILITIES as Record<string, CapabilitySpec>)[name]
    : undefined;
}

/** A capability's schedule-to-start timeout, with the registry default filled in. */
export function scheduleToStartTimeoutSeconds(spec: CapabilitySpec): number {
  return spec.scheduleToStartTimeoutSeconds ?? DEFAULT_SCHEDULE_TO_START_TIMEOUT_SECONDS;
}

/** The alternate variants of a capability, in the order the agent-swap rung tries them. */
export function capabilityAlternates(name: string): readonly string[] {
  return capabilitySpec(name)?.alternates ?? [];
}

/**
 * Registry consistency (unit-tested, and checked by workers at start): every alternate is a registered capability,
 * not the capability itself, listed once.
 */
export function registryIssues(registry: Record<string, CapabilitySpec> = CAPABILITIES): string[] {
  const issues: string[] = [];
  for (const [name, spec] of Object.entries(registry)) {
    const alternates = spec.alternates ?? [];
    alternates.forEach((alternate, index) => {
      if (alternate === name) issues.push(`${name}.alternates[${index}]: a capability cannot be its own alternate`);
      else if (!Object.prototype.hasOwnProperty.call(registry, alternate)) {
        issues.push(`${name}.alternates[${index}]: unknown capability "${alternate}"`);
      }
      if (alternates.indexOf(alternate) !== index) issues.push(`${name}.alternates[${index}]: "${alternate}" is listed twice`);
    });
    const s2s = spec.scheduleToStartTimeoutSeconds;
    if (s2s !== undefined && !(Number.isInteger(s2s) && s2s > 0)) {
      issues.push(`${name}.scheduleToStartTimeoutSeconds: must be a positive whole number of seconds (got ${s2s})`);
    }
  }
  return issues;
}
