/**
 * Schema sets for the extraction tests and benchmarks: the seed set (examples/schemas) and synthetic layered DAGs,
 * plus checks over recorded start/end times (dependency order, concurrency).
 */
import path from 'node:path';
import { readSchemaDir } from '../../client/extraction';
import type { ExtractionResult } from '../../shared/contract/extraction/messages';
import type { AgentSchemaInput } from '../../shared/contract/extraction/schema';
import { PROJECT_ROOT } from './toolchain';

export const SEED_DIR = path.join(PROJECT_ROOT, 'examples', 'schemas');
export const INVALID_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'schemas');
export const SEED_AGENTS = ['TensorAIOS', 'Main', 'PlastOS Adapter', 'Trainer', 'Auditor'] as const;

export type Documents = Array<{ file: string; document: Record<string, unknown> }>;

/** The seed set, parsed (a fresh copy on every call, so a test may change it). */
export function seedDocuments(): Documents {
  const { sources, syntaxIssues } = readSchemaDir(SEED_DIR);
  if (syntaxIssues.length > 0) throw new Error(`examples/schemas does not parse: ${JSON.stringify(syntaxIssues)}`);
  return sources.map((s) => ({ file: s.file, document: JSON.parse(JSON.stringify(s.document)) as Record<string, unknown> }));
}

export function documentOf(documents: Documents, name: string): Record<string, unknown> {
  const found = documents.find((d) => d.document.name === name);
  if (!found) throw new Error(`no document named ${name}`);
  return found.document;
}

/** A valid, current agent schema; `overrides` replace top-level sections. */
export function agentDocument(name: string, dependsOn: string[], overrides: Partial<AgentSchemaInput> = {}): Record<string, unknown> {
  return {
    name,
    version: '6.1.0',
    kind: dependsOn.length === 0 ? 'core-service' : 'background-worker',
    dependsOn,
    system: { description: `synthetic agent ${name}`, owner: 'bench' },
    integration: { protocols: ['http'], apis: [] },
    governance: { mode: 'hybrid', humanOverride: true, escalationPolicy: [{ level: 1, notify: 'oncall', afterMinutes: 0 }] },
    memoryTopology: { working: { store: 'redis', retention: '7 days' } },
    communication: { inputs: [{ name: 'request', type: 'object' }], outputs: [{ name: 'answer', type: 'string' }] },
    reasoning: { primaryModel: 'm', strategies: ['direct'], horizon: '1 days', decisionLatencyMs: 200 },
    learning: { driftThreshold: 0.1 },
    deployment: { replicas: 1, cpu: '100m', memory: '128Mi', endpoints: [{ name: 'http', port: 8080 }], timeoutMs: 1000, apiMode: 'private', authRequired: true },
    metadata: {},
    ...overrides,
  };
}

/**
 * `depth` layers of `width` agents; every agent of layer k > 0 depends on `fanIn` agents of layer k-1 (its own
 * column and the next ones, wrapping), so the critical path has `depth` agents.
 */
export function layeredDocuments(width: number, depth: number, fanIn = 2, prefix = 'L'): Documents {
  const name = (layer: number, column: number) => `${prefix}${layer}n${column}`;
  const documents: Documents = [];
  for (let layer = 0; layer < depth; layer++) {
    for (let column = 0; column < width; column++) {
      const dependsOn = layer === 0 ? [] : [...new Set(Array.from({ length: Math.min(fanIn, width) }, (_, i) => name(layer - 1, (column + i) % width)))];
      documents.push({ file: `${name(layer, column)}.yaml`, document: agentDocument(name(layer, column), dependsOn) });
    }
  }
  return documents;
}

export interface Interval {
  name: string;
  start: number;
  end: number;
}

/** The extract activities' recorded start/end times of the agents that ran (done). */
export function recordedIntervals(result: ExtractionResult): Interval[] {
  return Object.entries(result.nodes)
    .filter(([, n]) => n.state === 'done' && n.startedAt && n.finishedAt)
    .map(([name, n]) => ({ name, start: Date.parse(n.startedAt!), end: Date.parse(n.finishedAt!) }));
}

/** The most intervals open at one instant (an interval is [start, end); an end before a start at the same ms). */
export function maxConcurrency(intervals: readonly Interval[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let open = 0;
  let max = 0;
  for (const e of events) {
    open += e.d;
    max = Math.max(max, open);
  }
  return max;
}

/** Agents that started before one of their dependencies had finished. */
export function orderViolations(result: ExtractionResult, dependsOn: Record<string, readonly string[]>): string[] {
  const byName = new Map(recordedIntervals(result).map((i) => [i.name, i]));
  const violations: string[] = [];
  for (const [name, interval] of byName) {
    for (const dependency of dependsOn[name] ?? []) {
      const dep = byName.get(dependency);
      if (dep && interval.start < dep.end) violations.push(`${name} started at ${interval.start} before ${dependency} ended at ${dep.end}`);
    }
  }
  return violations;
}

export const dependencyMap = (documents: Documents): Record<string, string[]> =>
  Object.fromEntries(documents.map((d) => [d.document.name as string, (d.document.dependsOn as string[]) ?? []]));
