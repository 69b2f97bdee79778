import type { z } from 'zod';
import { findCycle, formatCycle } from '../graph';
import { didYouMean, jsonPath, listNames } from '../validation';
import { deprecatedFields, migrateDocument, type AppliedMigration, type SchemaMigration, SCHEMA_MIGRATIONS } from './migrations';
import {
  agentSchema,
  agentSlug,
  CURRENT_SCHEMA_VERSION,
  OBJECT_SECTIONS,
  REQUIRED_SECTIONS,
  retentionToDays,
  SEMVER_PATTERN,
  type AgentSchema,
} from './schema';

/**
 * The seven validation layers, each a pure function, in the order they run:
 *   syntax (YAML/JSON parses: ./syntax.ts, at the client), structure (required sections), types (zod),
 *   dependencies (resolvable, acyclic, private API needs auth), governance (human override needs an
 *   escalation policy), consistency and performance (warnings).
 * Every issue names its file and the JSON path in the document. A document that fails a layer is
 * not checked by the later per-document layers (their messages would only repeat the cause).
 */
export const VALIDATION_LAYERS = ['syntax', 'structure', 'types', 'dependencies', 'governance', 'consistency', 'performance'] as const;
export type ValidationLayer = (typeof VALIDATION_LAYERS)[number];

export type IssueSeverity = 'error' | 'warning';

export interface SchemaIssue {
  layer: ValidationLayer;
  severity: IssueSeverity;
  /** The file (or label) the document came from. */
  file: string;
  /** JSON path inside the document, e.g. `governance.escalationPolicy`; `(root)` for the document itself. */
  path: string;
  message: string;
  agent?: string;
}

/** A parsed document and where it came from. */
export interface SchemaSource {
  file: string;
  document: unknown;
}

export interface AnalyzedSchema {
  file: string;
  name?: string;
  /** The version written in the file, before migration. */
  originalVersion?: string;
  /** Migrations applied, in order (empty when the document was current). */
  migrations: AppliedMigration[];
  /** The migrated, typed document (with defaults), when it passed the types layer. */
  schema?: AgentSchema;
}

export interface SchemaSetReport {
  /** No errors, and with `strict` no warnings either. */
  ok: boolean;
  strict: boolean;
  errors: number;
  warnings: number;
  issues: SchemaIssue[];
  schemas: AnalyzedSchema[];
}

export interface ValidateOptions {
  /** Reject on warnings too. */
  strict?: boolean;
  /** Issues from the syntax layer, found while reading the files (their documents are absent from `sources`). */
  syntaxIssues?: SchemaIssue[];
  registry?: readonly SchemaMigration[];
  targetVersion?: string;
}

type Doc = Record<string, unknown>;
const isObject = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Structure, before migration: a mapping with a semantic `version` (migrations are chosen by it). */
export function checkEnvelope(file: string, document: unknown): SchemaIssue[] {
  const issue = (path: string, message: string): SchemaIssue => ({ layer: 'structure', severity: 'error', file, path, message });
  if (!isObject(document)) {
    return [issue('(root)', `a schema must be a mapping of sections (name, version, kind, ...), got ${Array.isArray(document) ? 'a list' : typeof document}`)];
  }
  if (document.version === undefined) return [issue('version', `required: write the schema version, e.g. version: "${CURRENT_SCHEMA_VERSION}"`)];
  if (typeof document.version !== 'string' || !SEMVER_PATTERN.test(document.version)) {
    return [issue('version', `must be a semantic version such as "${CURRENT_SCHEMA_VERSION}" (quote it in YAML), got ${JSON.stringify(document.version)}`)];
  }
  return [];
}

/** Structure, after migration: every required section is there, sections are mappings, no unknown sections. */
export function checkStructure(file: string, document: Doc): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const section of REQUIRED_SECTIONS) {
    if (document[section] === undefined || document[section] === null) {
      issues.push({ layer: 'structure', severity: 'error', file, path: section, message: `required section "${section}" is missing` });
    }
  }
  for (const section of OBJECT_SECTIONS) {
    const value = document[section];
    if (value !== undefined && value !== null && !isObject(value)) {
      issues.push({ layer: 'structure', severity: 'error', file, path: section, message: `must be a mapping of fields, got ${Array.isArray(value) ? 'a list' : typeof value}` });
    }
  }
  const known = new Set<string>([...REQUIRED_SECTIONS, 'dependsOn', 'metadata']);
  for (const key of Object.keys(document)) {
    if (!known.has(key)) {
      issues.push({
        layer: 'structure',
        severity: 'warning',
        file,
        path: key,
        message: `unknown section "${key}" is ignored; known sections: ${[...known].join(', ')}`,
      });
    }
  }
  return issues;
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike; element?: ZodLike; shape?: Record<string, ZodLike> };
  shape?: Record<string, ZodLike>;
}

/** Keys that the zod schema does not know (they would be dropped silently), as warnings. */
function unknownKeys(schema: ZodLike, value: unknown, path: (string | number)[], out: (string | number)[][]): void {
  let s = schema;
  while (s.def.type === 'optional' || s.def.type === 'default' || s.def.type === 'nullable') s = s.def.innerType!;
  if (s.def.type === 'object' && isObject(value)) {
    const shape = s.shape ?? s.def.shape ?? {};
    for (const [key, child] of Object.entries(value)) {
      if (!(key in shape)) out.push([...path, key]);
      else unknownKeys(shape[key], child, [...path, key], out);
    }
  } else if (s.def.type === 'array' && Array.isArray(value)) {
    value.forEach((item, index) => unknownKeys(s.def.element!, item, [...path, index], out));
  }
}

function getPath(doc: Doc, dotted: string): unknown {
  let node: unknown = doc;
  for (const part of dotted.split('.')) {
    if (!isObject(node)) return undefined;
    node = node[part];
  }
  return node;
}

/** Types: zod over the whole (migrated) document; unknown and deprecated fields are warnings. */
export function checkTypes(file: string, document: Doc, registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS): { schema?: AgentSchema; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = [];
  const parsed = agentSchema.safeParse(document);
  if (!parsed.success) {
    for (const issue of parsed.error.issues as z.core.$ZodIssue[]) {
      issues.push({ layer: 'types', severity: 'error', file, path: jsonPath(issue.path), message: typeMessage(issue) });
    }
  }
  const unknown: (string | number)[][] = [];
  unknownKeys(agentSchema as unknown as ZodLike, document, [], unknown);
  for (const path of unknown) {
    if (path.length < 2 || path[0] === 'metadata') continue; // top-level keys: the structure layer; metadata is free-form
    issues.push({ layer: 'types', severity: 'warning', file, path: jsonPath(path), message: 'unknown field is ignored: check its spelling' });
  }
  for (const deprecated of deprecatedFields(registry)) {
    if (getPath(document, deprecated.path) !== undefined) {
      issues.push({
        layer: 'types',
        severity: 'warning',
        file,
        path: deprecated.path,
        message: `deprecated since ${deprecated.since}, removed in ${deprecated.removeIn}: ${deprecated.why}; remove it`,
      });
    }
  }
  return { schema: parsed.success ? parsed.data : undefined, issues };
}

function typeMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    const expected = (issue as { expected?: string }).expected;
    if (issue.message.includes('received undefined')) return `required: expected ${expected === 'int' ? 'a whole number' : `a ${expected}`}`;
    return expected === 'int' ? 'must be a whole number' : issue.message.replace(/^Invalid input: /, 'must be ').replace('expected ', 'a ').replace(', received', ', got');
  }
  return issue.message;
}

/** A document of the set that failed an earlier layer, with its agent name when that could be read. */
export interface FailedDocument {
  file: string;
  name?: string;
}

/**
 * Dependencies, across the set: unique names, every dependsOn resolvable, no cycle; a private API requires auth.
 * A dependency on a `failed` document is reported as such rather than as unknown, so one broken agent does not
 * turn into an "unknown agent" error at each of its dependents.
 */
export function checkDependencies(schemas: ReadonlyArray<{ file: string; schema: AgentSchema }>, failed: readonly FailedDocument[] = []): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const issue = (file: string, agent: string, path: string, message: string): SchemaIssue => ({ layer: 'dependencies', severity: 'error', file, agent, path, message });
  const byName = new Map<string, string>();
  const bySlug = new Map<string, string>();
  for (const { file, schema } of schemas) {
    const other = byName.get(schema.name);
    if (other !== undefined) issues.push(issue(file, schema.name, 'name', `duplicate agent name "${schema.name}" (also in ${other})`));
    else byName.set(schema.name, file);
    const slug = agentSlug(schema.name);
    const slugOwner = bySlug.get(slug);
    if (slugOwner !== undefined && slugOwner !== schema.name) {
      issues.push(issue(file, schema.name, 'name', `"${schema.name}" and "${slugOwner}" both become "${slug}" in file and Kubernetes names: rename one`));
    } else bySlug.set(slug, schema.name);
  }
  const names = [...byName.keys()];
  const failedByName = new Map(failed.filter((f) => f.name !== undefined).map((f) => [f.name!, f.file]));
  const unnamedFiles = failed.filter((f) => f.name === undefined).map((f) => f.file);
  const unnamedHint = unnamedFiles.length === 0 ? '' : `; no agent name could be read from ${listNames(unnamedFiles)} (see ${unnamedFiles.length === 1 ? 'its' : 'their'} errors): it may be there`;
  for (const { file, schema } of schemas) {
    const seen = new Set<string>();
    schema.dependsOn.forEach((dependency, index) => {
      const path = `dependsOn[${index}]`;
      if (dependency === schema.name) issues.push(issue(file, schema.name, path, `"${schema.name}" cannot depend on itself`));
      else if (!byName.has(dependency)) {
        const failedFile = failedByName.get(dependency);
        const message =
          failedFile !== undefined
            ? `depends on "${dependency}", which is invalid (see the errors in ${failedFile})`
            : `unknown agent "${dependency}"${didYouMean(dependency, names)}; agents in this set: ${listNames(names)}${unnamedHint}`;
        issues.push(issue(file, schema.name, path, message));
      }
      if (seen.has(dependency)) issues.push(issue(file, schema.name, path, `"${dependency}" is listed twice`));
      seen.add(dependency);
    });
    if (schema.deployment.apiMode === 'private' && !schema.deployment.authRequired) {
      issues.push(issue(file, schema.name, 'deployment.authRequired', 'a private API (deployment.apiMode: private) must require authentication: set authRequired: true'));
    }
  }
  const cycle = findCycle(schemas.map(({ schema }) => ({ id: schema.name, dependsOn: schema.dependsOn.filter((d) => d !== schema.name) })));
  if (cycle) {
    const first = schemas.find(({ schema }) => schema.name === cycle[0])!;
    issues.push(issue(first.file, first.schema.name, 'dependsOn', `dependency cycle: ${formatCycle(cycle)} (each depends on the next); break it by removing one of these dependsOn entries`));
  }
  return issues;
}

/** Governance: a human override needs somewhere to escalate to. */
export function checkGovernance(file: string, schema: AgentSchema): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const { governance } = schema;
  if (governance.humanOverride && governance.escalationPolicy.length === 0) {
    issues.push({
      layer: 'governance',
      severity: 'error',
      file,
      agent: schema.name,
      path: 'governance.escalationPolicy',
      message: 'humanOverride is on, so the escalation policy cannot be empty: add a step such as { level: 1, notify: on-call, afterMinutes: 0 }',
    });
  }
  governance.escalationPolicy.forEach((step, index) => {
    const previous = governance.escalationPolicy[index - 1];
    if (previous && step.level <= previous.level) {
      issues.push({
        layer: 'governance',
        severity: 'warning',
        file,
        agent: schema.name,
        path: `governance.escalationPolicy[${index}].level`,
        message: `levels should increase (level ${step.level} follows level ${previous.level})`,
      });
    }
  });
  return issues;
}

/** Consistency (warnings): working memory must outlive what the agent reasons about. */
export function checkConsistency(file: string, schema: AgentSchema): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const working = retentionToDays(schema.memoryTopology.working.retention);
  const horizon = retentionToDays(schema.reasoning.horizon);
  if (working < horizon) {
    issues.push({
      layer: 'consistency',
      severity: 'warning',
      file,
      agent: schema.name,
      path: 'memoryTopology.working.retention',
      message: `working memory keeps "${schema.memoryTopology.working.retention}" but the reasoning horizon is "${schema.reasoning.horizon}": the agent forgets context it still reasons about; lengthen the retention or shorten reasoning.horizon`,
    });
  }
  if (schema.deployment.timeoutMs < schema.reasoning.decisionLatencyMs) {
    issues.push({
      layer: 'consistency',
      severity: 'warning',
      file,
      agent: schema.name,
      path: 'deployment.timeoutMs',
      message: `requests time out after ${schema.deployment.timeoutMs} ms but a decision may take ${schema.reasoning.decisionLatencyMs} ms (reasoning.decisionLatencyMs)`,
    });
  }
  return issues;
}

/** Performance (warnings): a tight decision budget cannot afford a remote episodic store. */
export function checkPerformance(file: string, schema: AgentSchema): SchemaIssue[] {
  const episodic = schema.memoryTopology.episodic;
  if (episodic?.location === 'remote' && schema.reasoning.decisionLatencyMs < 100) {
    return [
      {
        layer: 'performance',
        severity: 'warning',
        file,
        agent: schema.name,
        path: 'reasoning.decisionLatencyMs',
        message: `a decision budget of ${schema.reasoning.decisionLatencyMs} ms (< 100 ms) with a remote episodic store (memoryTopology.episodic.location: remote) leaves no time for the round trip; use a local store or raise the budget`,
      },
    ];
  }
  return [];
}

/**
 * Validates a set of documents through every layer and migrates the outdated ones (recording each
 * applied migration). The client runs it before anything starts; the workflow runs it again.
 */
export function validateSchemaSet(sources: readonly SchemaSource[], options: ValidateOptions = {}): SchemaSetReport {
  const registry = options.registry ?? SCHEMA_MIGRATIONS;
  const target = options.targetVersion ?? CURRENT_SCHEMA_VERSION;
  const issues: SchemaIssue[] = [...(options.syntaxIssues ?? [])];
  const analyzed: AnalyzedSchema[] = [];
  const typed: Array<{ file: string; schema: AgentSchema }> = [];
  const fileCounts = new Map<string, number>();
  for (const { file } of sources) fileCounts.set(file, (fileCounts.get(file) ?? 0) + 1);

  for (const { file, document } of sources) {
    const entry: AnalyzedSchema = { file, migrations: [] };
    analyzed.push(entry);
    if ((fileCounts.get(file) ?? 0) > 1) {
      issues.push({ layer: 'structure', severity: 'error', file, path: '(root)', message: 'the same file is given twice' });
      fileCounts.set(file, 0);
    }
    const envelope = checkEnvelope(file, document);
    if (isObject(document) && typeof document.name === 'string') entry.name = document.name;
    if (envelope.length > 0) {
      issues.push(...envelope);
      continue;
    }
    const doc = document as Doc;
    entry.originalVersion = doc.version as string;
    const migrated = migrateDocument(doc, target, registry);
    if (!migrated.ok) {
      issues.push({ layer: 'types', severity: 'error', file, agent: entry.name, path: 'version', message: migrated.message });
      continue;
    }
    entry.migrations = migrated.applied;
    for (const m of migrated.applied) {
      for (const warning of m.warnings) {
        // Deprecations are reported by the types layer below (for current documents too); the rest here.
        if (m.changes.some((c) => c.op === 'deprecate' && c.message === warning)) continue;
        issues.push({ layer: 'structure', severity: 'warning', file, agent: entry.name, path: '(root)', message: `migration ${m.id}: ${warning}` });
      }
    }
    const structure = checkStructure(file, migrated.document);
    issues.push(...structure.map((i) => ({ ...i, agent: entry.name })));
    if (structure.some((i) => i.severity === 'error')) continue;
    const types = checkTypes(file, migrated.document, registry);
    issues.push(...types.issues.map((i) => ({ ...i, agent: entry.name })));
    if (!types.schema) continue;
    entry.schema = types.schema;
    typed.push({ file, schema: types.schema });
  }

  const syntaxFailed = new Set((options.syntaxIssues ?? []).filter((i) => i.severity === 'error').map((i) => i.file));
  const failed: FailedDocument[] = [
    ...[...syntaxFailed].map((file) => ({ file })),
    ...analyzed.filter((entry) => entry.schema === undefined).map(({ file, name }) => ({ file, name })),
  ];
  issues.push(...checkDependencies(typed, failed));
  for (const { file, schema } of typed) {
    issues.push(...checkGovernance(file, schema), ...checkConsistency(file, schema), ...checkPerformance(file, schema));
  }

  const order = new Map(VALIDATION_LAYERS.map((layer, index) => [layer, index]));
  const fileOrder = new Map([...(options.syntaxIssues ?? []).map((i) => i.file), ...sources.map((s) => s.file)].map((f, i) => [f, i]));
  issues.sort(
    (a, b) => (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) || order.get(a.layer)! - order.get(b.layer)!,
  );
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  const strict = options.strict ?? false;
  return { ok: errors === 0 && (!strict || warnings === 0), strict, errors, warnings, issues, schemas: analyzed };
}

export function formatSchemaIssue(issue: SchemaIssue): string {
  return `${issue.file}: ${issue.path}: ${issue.severity} [${issue.layer}] ${issue.message}`;
}

export function formatSchemaIssues(issues: readonly SchemaIssue[]): string {
  return issues.map(formatSchemaIssue).join('\n');
}
