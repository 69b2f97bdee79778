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
  retry: CapabilityRetry;
}

const DEFAULT_RETRY: CapabilityRetry = {
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
} as const satisfies Record<string, CapabilitySpec>;

export type BuiltInCapability = keyof typeof CAPABILITIES;

export const KNOWN_CAPABILITIES: readonly string[] = Object.keys(CAPABILITIES);

export function capabilitySpec(name: string): CapabilitySpec | undefined {
  return Object.prototype.hasOwnProperty.call(CAPABILITIES, name)
    ? (CAPABILITIES as Record<string, CapabilitySpec>)[name]
    : undefined;
}
