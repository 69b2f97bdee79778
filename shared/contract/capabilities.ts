/**
 * The capability registry: every capability a plan may name, with the queue it is routed to and
 * the activity options the workflow schedules it with. Bundle-safe (workflows read it), so handlers
 * live elsewhere: activities/capabilities/<name>.ts, whose definitions take their defaults from the entry here.
 * A team's own capabilities are plugins instead (README, "Capabilities"): their specs reach a run in its input.
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
  'demo.text': {
    description: 'Deterministic demo text from a prompt template (seeded words of the prompt, no model); swaps to demo.text.fallback',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    scheduleToStartTimeoutSeconds: 120,
    retry: DEFAULT_RETRY,
    alternates: ['demo.text.fallback'],
  },
  'demo.text.fallback': {
    description: 'Extractive fallback for demo.text: the rendered prompt, trimmed to maxWords (served by another pool)',
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
  exec: {
    description: 'Run a command (argv, no shell unless asked) in the attempt workspace: log, exit code, output hashes; its process group is killed on timeout or cancellation',
    // Builds and test suites take minutes; a plan task's timeoutSeconds shortens or lengthens it.
    startToCloseTimeoutSeconds: 3600,
    heartbeatTimeoutSeconds: 10,
    // A non-zero exit is retried like any failure (flaky tests pass on a second try; a broken build fails three
    // times): a plan task gives `retry: { maximumAttempts: 1 }` for a command that must not run twice.
    retry: DEFAULT_RETRY,
  },
  'deploy.process': {
    description: 'Deploy an artifact directory as a supervised loopback process per environment, blue/green behind an ADOS proxy on the environment port; a failed health check rolls back',
    // The health wait is bounded by input.health.timeoutSeconds (default 30 s); the drain of the old release by
    // stopGraceSeconds (default 10 s). A retry after a crashed worker finds the switch done or not, never half.
    startToCloseTimeoutSeconds: 300,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  'verify.http': {
    description: "Smoke checks against an environment's deployed service: status, body substring, JSON value, latency budget; the failure names each check",
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  'deploy.kubernetes': {
    description: 'Render a Deployment + Service and kubectl apply them, then wait for the rollout; refused unless ADOS_KUBE_CONTEXT is set',
    startToCloseTimeoutSeconds: 900,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
  },
  http: {
    description: 'Call an HTTP endpoint on an allowed host (ADOS_HTTP_ALLOWED_HOSTS) with an Idempotency-Key stable across retries; the response is recorded, body capped',
    startToCloseTimeoutSeconds: 120,
    heartbeatTimeoutSeconds: 10,
    retry: DEFAULT_RETRY,
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
