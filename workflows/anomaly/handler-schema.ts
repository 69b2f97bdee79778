/**
 * The handler agent's schema, generated from one template (README, "Anomaly pipeline"): named
 * `<Metric>_<RootCause>_Handler_v1`, parameterised by the anomaly type, the affected metrics, when it was first
 * observed, its severity and the detector configuration that caught it, in the agent-schema format schema extraction
 * accepts (shared/contract/extraction/schema.ts). Pure and deterministic: the same anomaly gives the same document,
 * hence the same extraction ID and cache key.
 */
import type { AnomalySeverity, AnomalyType } from '../../shared/contract/anomaly/pipeline';
import type { EnsembleConfigInput } from '../../shared/contract/anomaly/detection';
import { canonicalJson } from '../../shared/contract/canonical';
import { durationToMs } from '../../shared/contract/duration';
import { CURRENT_SCHEMA_VERSION } from '../../shared/contract/extraction/schema';
import { sha256Hex } from '../common/signature';

/** What the template is filled with. */
export interface HandlerParameters {
  tenantId: string;
  metric: string;
  anomalyType: AnomalyType;
  affectedMetrics: readonly string[];
  /** The anomaly's first sample (ISO-8601). */
  firstObserved: string;
  severity: AnomalySeverity;
  /** As the starter gave it (the handler fills in the defaults when it starts). */
  detection: EnsembleConfigInput;
  /** The span, peak and detectors of the anomaly the handler is for. */
  anomaly: { start: string; end: string; peakTs: string; peakScore: number; detectors: readonly string[] };
  /** Who approves it first (the escalation policy's level 1), and for how long before it escalates (level 2). */
  approvers: readonly string[];
  approvalTimeout: string;
}

/** The `handler` section of the schema's metadata: the parameters, as the deployed handler reads them. */
export interface HandlerMetadata {
  metric: string;
  anomalyType: AnomalyType;
  affectedMetrics: string[];
  firstObserved: string;
  severity: AnomalySeverity;
  detection: EnsembleConfigInput;
  anomaly: HandlerParameters['anomaly'];
}

export interface GeneratedHandlerSchema {
  /** `<Metric>_<RootCause>_Handler_v1`, the agent's name. */
  name: string;
  /** The name as a process-runtime service and extraction set: lowercase, "-" separated. */
  slug: string;
  /** The schema document's file name in the extraction set. */
  file: string;
  document: Record<string, unknown>;
}

/** Agent names have at most 63 characters (AGENT_NAME_PATTERN); the metric part is cut to fit. */
const MAX_NAME = 63;

/** `ec2_cpu_utilization_825cc2` → `Ec2CpuUtilization825cc2`; `level_shift` → `LevelShift`. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}

/** `<Metric>_<RootCause>_Handler_v1`, within the agent-name limit. */
export function handlerName(metric: string, anomalyType: AnomalyType): string {
  const tail = `_${pascalCase(anomalyType)}_Handler_v1`;
  const head = pascalCase(metric) || 'Metric';
  // An agent name starts with a letter.
  const lead = /^[A-Za-z]/.test(head) ? head : `M${head}`;
  return `${lead.slice(0, MAX_NAME - tail.length)}${tail}`;
}

/** The name as the process runtime's service (and the extraction set's) name: `ec2-cpu-utilization825cc2-spike-handler-v1`. */
export function handlerSlug(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .toLowerCase()
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

/** Fills the template. */
export function generateHandlerSchema(p: HandlerParameters): GeneratedHandlerSchema {
  const name = handlerName(p.metric, p.anomalyType);
  const slug = handlerSlug(name);
  const affected = [...new Set([p.metric, ...p.affectedMetrics])];
  const detectors = [...new Set(p.anomaly.detectors)].sort();
  const handler: HandlerMetadata = {
    metric: p.metric,
    anomalyType: p.anomalyType,
    affectedMetrics: affected,
    firstObserved: p.firstObserved,
    severity: p.severity,
    detection: p.detection,
    anomaly: { ...p.anomaly, detectors },
  };
  const document = {
    name,
    version: CURRENT_SCHEMA_VERSION,
    kind: 'background-worker',
    dependsOn: [],
    system: {
      description: `Watches ${p.metric} for ${p.anomalyType.replace('_', ' ')} anomalies like the one first observed at ${p.firstObserved} (severity ${p.severity}), scoring every sample with the detectors that caught it`,
      owner: `${p.tenantId}-operations`,
    },
    integration: {
      protocols: ['http'],
      apis: [
        { name: 'score', method: 'POST', path: '/score' },
        { name: 'health', method: 'GET', path: '/health' },
      ],
    },
    governance: {
      mode: 'supervised',
      humanOverride: true,
      escalationPolicy: [
        { level: 1, notify: p.approvers.join(', '), afterMinutes: 0 },
        { level: 2, notify: `${p.tenantId} governance approvers`, afterMinutes: Math.ceil(durationToMs(p.approvalTimeout) / 60_000) },
      ],
    },
    memoryTopology: { working: { store: 'in-process', retention: '1 days' } },
    // What the extracted module's agent class checks each request against, and types its answer as: the handler
    // host (shared/node/anomaly/pipeline/handler-service.ts) sends every POST /score through it as { batch }.
    communication: {
      inputs: [{ name: 'batch', type: 'object', description: 'the metric samples to score, in time order: { samples: [{ ts, value }] }' }],
      outputs: [
        { name: 'scored', type: 'number', description: 'how many samples were scored' },
        { name: 'flagged', type: 'object', description: 'the timestamps of the samples the ensemble found anomalous' },
        { name: 'peakScore', type: 'number', description: 'the highest ensemble score among them' },
      ],
    },
    reasoning: {
      primaryModel: 'ados-detector-ensemble',
      strategies: detectors,
      horizon: '1 days',
      decisionLatencyMs: 1000,
    },
    learning: { driftThreshold: 0.05, feedback: 'online' },
    deployment: {
      replicas: 1,
      cpu: '250m',
      memory: '256Mi',
      endpoints: [{ name: 'http', port: 8080, path: '/' }],
      // The agent class's limit per request: a stage test scores up to 10,000 samples on a busy machine.
      timeoutMs: 30000,
      apiMode: 'public',
      authRequired: false,
    },
    metadata: { generatedBy: 'anomalyPipeline', tenant: p.tenantId, handler },
  };
  return { name, slug, file: `${slug}.yaml`, document };
}

/**
 * The hash8 of the extraction ID `extraction-<tenant>-<set>-<hash8>` for one document: what setHash8
 * (shared/node/extraction/hashing.ts) computes for a set of it, in workflow code (a unit test holds them equal).
 */
export function singleDocumentHash8(file: string, document: unknown): string {
  return sha256Hex(canonicalJson([[file, document ?? null]])).slice(0, 8);
}
