import { CURRENT_SCHEMA_VERSION } from './schema';
import { compareSemver, formatSemver, minorLine, parseSemver } from './semver';

/**
 * The schema migration registry: each entry takes documents of one minor version (`from`, any
 * patch) to the next (`to`). Steps are data, so the same registry migrates documents, prints the
 * migration guide (`ados schema diff`) and tells the workflow whether a human must approve
 * (`breaking`: a major version change). Pure and bundle-safe.
 */
export type MigrationStep =
  | { op: 'rename'; from: string; to: string; why: string }
  | { op: 'add'; path: string; default: unknown; why: string }
  | { op: 'deprecate'; path: string; why: string; removeIn: string };

export interface SchemaMigration {
  id: string;
  from: string;
  to: string;
  /** A major version change: extraction waits for a human approval (the approval gate). */
  breaking: boolean;
  summary: string;
  steps: MigrationStep[];
}

export const SCHEMA_MIGRATIONS: readonly SchemaMigration[] = [
  {
    id: '5.9-to-6.0',
    from: '5.9.0',
    to: '6.0.0',
    breaking: true,
    summary: 'memory is now memoryTopology, deployment timeouts are in milliseconds by name, and auth is explicit',
    steps: [
      { op: 'rename', from: 'memory', to: 'memoryTopology', why: 'the section describes the memory topology (working, episodic, semantic stores)' },
      { op: 'rename', from: 'deployment.timeout', to: 'deployment.timeoutMs', why: 'the unit is part of the name' },
      { op: 'rename', from: 'reasoning.model', to: 'reasoning.primaryModel', why: 'a fallback model may be named beside it' },
      { op: 'add', path: 'deployment.authRequired', default: true, why: 'authentication is explicit; secure by default' },
    ],
  },
  {
    id: '6.0-to-6.1',
    from: '6.0.0',
    to: '6.1.0',
    breaking: false,
    summary: 'learning gets a drift threshold and the API mode is explicit; the fallback model is deprecated',
    steps: [
      { op: 'add', path: 'learning.driftThreshold', default: 0.1, why: 'drift monitoring needs a threshold' },
      { op: 'add', path: 'deployment.apiMode', default: 'private', why: 'the API mode is explicit; private by default' },
      {
        op: 'deprecate',
        path: 'reasoning.fallbackModel',
        why: 'fallbacks are expressed as reasoning.strategies; the extractor ignores this field',
        removeIn: '7.0.0',
      },
    ],
  },
];

export interface AppliedChange {
  op: MigrationStep['op'];
  path: string;
  /** For a rename, the new path. */
  to?: string;
  /** For an add, the value set. */
  value?: unknown;
  message: string;
}

export interface AppliedMigration {
  id: string;
  /** The document's version before this step (patch included). */
  from: string;
  to: string;
  breaking: boolean;
  changes: AppliedChange[];
  warnings: string[];
}

export type MigrationPlan = { ok: true; migrations: SchemaMigration[] } | { ok: false; message: string };

/** The chain of migrations from `fromVersion` to `targetVersion` (empty when already current). */
export function migrationPath(
  fromVersion: string,
  targetVersion: string = CURRENT_SCHEMA_VERSION,
  registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS,
): MigrationPlan {
  const from = parseSemver(fromVersion);
  const target = parseSemver(targetVersion);
  if (!from) return { ok: false, message: `"${fromVersion}" is not a semantic version such as "6.1.0"` };
  if (!target) return { ok: false, message: `"${targetVersion}" is not a semantic version` };
  const migrations: SchemaMigration[] = [];
  let current = from;
  while (minorLine(current) !== minorLine(target)) {
    if (compareSemver(current, target) > 0) {
      return {
        ok: false,
        message: `version ${fromVersion} is newer than this ADOS supports (${targetVersion}): upgrade ADOS or write the schema for ${targetVersion}`,
      };
    }
    const next = registry.find((m) => {
      const mFrom = parseSemver(m.from);
      return mFrom !== undefined && minorLine(mFrom) === minorLine(current);
    });
    if (!next) {
      const oldest = registry.map((m) => m.from).sort((a, b) => compareSemver(parseSemver(a)!, parseSemver(b)!))[0];
      return {
        ok: false,
        message: `no migration from ${formatSemver(current)} toward ${targetVersion}; migrations exist from ${registry.map((m) => m.from).join(', ')} (oldest supported: ${oldest ?? 'none'}): rewrite the schema for ${targetVersion}`,
      };
    }
    migrations.push(next);
    current = parseSemver(next.to)!;
    if (migrations.length > registry.length) return { ok: false, message: 'the migration registry loops' };
  }
  return { ok: true, migrations };
}

type Doc = Record<string, unknown>;

const isObject = (value: unknown): value is Doc => typeof value === 'object' && value !== null && !Array.isArray(value);

function parentOf(doc: Doc, path: string): { parent: Doc; key: string } | undefined {
  const parts = path.split('.');
  let node: Doc = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isObject(node[part])) return undefined;
    node = node[part] as Doc;
  }
  return { parent: node, key: parts[parts.length - 1] };
}

const has = (doc: Doc, path: string): boolean => {
  const at = parentOf(doc, path);
  return at !== undefined && Object.prototype.hasOwnProperty.call(at.parent, at.key);
};

/**
 * Applies one migration to a copy of a document. A field is only added where its section exists
 * (a missing section is the structure layer's error, with a better message than a half-made one).
 */
export function applyMigration(document: Doc, migration: SchemaMigration): { document: Doc; applied: AppliedMigration } {
  const doc = JSON.parse(JSON.stringify(document)) as Doc;
  const changes: AppliedChange[] = [];
  const warnings: string[] = [];
  for (const step of migration.steps) {
    if (step.op === 'rename') {
      if (!has(doc, step.from)) continue;
      const source = parentOf(doc, step.from)!;
      const target = parentOf(doc, step.to);
      if (!target) {
        warnings.push(`${step.from} could not move to ${step.to}: the section of ${step.to} is missing`);
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(target.parent, target.key)) {
        warnings.push(`${step.from} and ${step.to} are both present: kept ${step.to}, dropped ${step.from}; remove ${step.from}`);
      } else {
        target.parent[target.key] = source.parent[source.key];
        changes.push({ op: 'rename', path: step.from, to: step.to, message: `renamed ${step.from} → ${step.to} (${step.why})` });
      }
      delete source.parent[source.key];
    } else if (step.op === 'add') {
      const at = parentOf(doc, step.path);
      if (!at || Object.prototype.hasOwnProperty.call(at.parent, at.key)) continue;
      at.parent[at.key] = JSON.parse(JSON.stringify(step.default));
      changes.push({ op: 'add', path: step.path, value: step.default, message: `added ${step.path} = ${JSON.stringify(step.default)} (${step.why})` });
    } else if (has(doc, step.path)) {
      const message = `${step.path} is deprecated since ${migration.to} and will be removed in ${step.removeIn}: ${step.why}; remove it`;
      changes.push({ op: 'deprecate', path: step.path, message });
      warnings.push(message);
    }
  }
  const fromVersion = typeof doc.version === 'string' ? doc.version : migration.from;
  doc.version = migration.to;
  return { document: doc, applied: { id: migration.id, from: fromVersion, to: migration.to, breaking: migration.breaking, changes, warnings } };
}

export type MigrationOutcome =
  | { ok: true; document: Doc; applied: AppliedMigration[] }
  | { ok: false; message: string };

/** Migrates a document (with a semver `version`) to the target version through the registry. */
export function migrateDocument(
  document: Doc,
  targetVersion: string = CURRENT_SCHEMA_VERSION,
  registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS,
): MigrationOutcome {
  const version = typeof document.version === 'string' ? document.version : '';
  const plan = migrationPath(version, targetVersion, registry);
  if (!plan.ok) return plan;
  let current = document;
  const applied: AppliedMigration[] = [];
  for (const migration of plan.migrations) {
    const step = applyMigration(current, migration);
    current = step.document;
    applied.push(step.applied);
  }
  return { ok: true, document: current, applied };
}

/** Fields deprecated by some migration up to the target version, with the reason. */
export function deprecatedFields(registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS): Array<{ path: string; since: string; removeIn: string; why: string }> {
  return registry.flatMap((m) =>
    m.steps.flatMap((s) => (s.op === 'deprecate' ? [{ path: s.path, since: m.to, removeIn: s.removeIn, why: s.why }] : [])),
  );
}

/** The human-readable guide from one version to another: what changes, and whether approval is needed. */
export function migrationGuide(fromVersion: string, toVersion: string, registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS): string[] {
  const from = parseSemver(fromVersion);
  const to = parseSemver(toVersion);
  if (!from || !to) return [`cannot compare versions "${fromVersion}" and "${toVersion}": both must be semantic versions`];
  if (minorLine(from) === minorLine(to)) return [`${fromVersion} → ${toVersion}: same format version; no migration needed`];
  if (compareSemver(from, to) > 0) {
    return [`${fromVersion} → ${toVersion} is a downgrade: migrations only go forward; keep ${fromVersion} or rewrite the schema by hand`];
  }
  const plan = migrationPath(fromVersion, toVersion, registry);
  if (!plan.ok) return [plan.message];
  const lines: string[] = [];
  for (const m of plan.migrations) {
    lines.push(`${m.from} → ${m.to} (${m.id})${m.breaking ? ' BREAKING: extraction waits for a human approval' : ''}: ${m.summary}`);
    for (const s of m.steps) {
      if (s.op === 'rename') lines.push(`  - rename ${s.from} → ${s.to}: ${s.why}`);
      else if (s.op === 'add') lines.push(`  - add ${s.path} (default ${JSON.stringify(s.default)}): ${s.why}`);
      else lines.push(`  - deprecate ${s.path} (removed in ${s.removeIn}): ${s.why}`);
    }
  }
  lines.push('ADOS applies these automatically before extraction and records each one.');
  return lines;
}
