import { canonicalJson } from '../canonical';
import { migrateDocument, migrationGuide, SCHEMA_MIGRATIONS, type SchemaMigration } from './migrations';
import { parseSemver } from './semver';

/**
 * Field-level differences between two versions of a schema, each with the section it belongs to and
 * its impact. The same impact rule classifies manifest drift: a change to governance, memory or
 * deployment is critical; metadata is minor; anything else is major. Pure.
 */
export type ChangeImpact = 'minor' | 'major' | 'critical';

export const CRITICAL_SECTIONS = ['governance', 'memoryTopology', 'deployment'] as const;

export function sectionImpact(section: string): ChangeImpact {
  if ((CRITICAL_SECTIONS as readonly string[]).includes(section)) return 'critical';
  if (section === 'metadata' || section === 'formatting') return 'minor';
  return 'major';
}

export const IMPACT_ORDER: Record<ChangeImpact, number> = { minor: 0, major: 1, critical: 2 };

export function worstImpact(impacts: readonly ChangeImpact[]): ChangeImpact | undefined {
  return impacts.reduce<ChangeImpact | undefined>((worst, i) => (worst === undefined || IMPACT_ORDER[i] > IMPACT_ORDER[worst] ? i : worst), undefined);
}

export interface SchemaChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
  section: string;
  impact: ChangeImpact;
  /** Set when a registered migration step explains the change. */
  migration?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const keyed = (v: unknown): v is Array<{ name: string }> =>
  Array.isArray(v) && v.length > 0 && v.every((item) => isObject(item) && typeof item.name === 'string') && new Set(v.map((i) => (i as { name: string }).name)).size === v.length;

function join(path: string, segment: string | number): string {
  if (typeof segment === 'number') return `${path}[${segment}]`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) return `${path}[${JSON.stringify(segment)}]`;
  return path ? `${path}.${segment}` : segment;
}

/** Leaf-level differences between two JSON values; arrays of named items are matched by name. */
export function diffValues(before: unknown, after: unknown, path = ''): Array<Pick<SchemaChange, 'path' | 'kind' | 'before' | 'after'>> {
  if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
  if (before === undefined) return [{ path, kind: 'added', after }];
  if (after === undefined) return [{ path, kind: 'removed', before }];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffValues(before[key], after[key], join(path, key)));
  }
  if (keyed(before) && keyed(after)) {
    const names = [...new Set([...before.map((i) => i.name), ...after.map((i) => i.name)])];
    return names.flatMap((name) =>
      diffValues(
        before.find((i) => i.name === name),
        after.find((i) => i.name === name),
        `${path}[name=${name}]`,
      ),
    );
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, index) => diffValues(item, after[index], join(path, index)));
  }
  return [{ path, kind: 'changed', before, after }];
}

const sectionOf = (path: string): string => /^[A-Za-z_][A-Za-z0-9_]*/.exec(path)?.[0] ?? '(root)';

export interface SchemaDiff {
  fromVersion?: string;
  toVersion?: string;
  changes: SchemaChange[];
  impact?: ChangeImpact;
  /**
   * The changes left once the old document is migrated to the new one's version: what the author
   * changed, as opposed to what the migrations change. Absent when the old one cannot be migrated.
   */
  afterMigration?: SchemaChange[];
  /** The migration guide between the two versions (lines). */
  guide: string[];
  /** True when the major version goes up: extraction waits for an approval. */
  breaking: boolean;
}

export function diffSchemas(before: Record<string, unknown>, after: Record<string, unknown>, registry: readonly SchemaMigration[] = SCHEMA_MIGRATIONS): SchemaDiff {
  const fromVersion = typeof before.version === 'string' ? before.version : undefined;
  const toVersion = typeof after.version === 'string' ? after.version : undefined;
  const steps = registry.flatMap((m) => m.steps.map((s) => ({ m, s })));
  const classify = (change: Pick<SchemaChange, 'path' | 'kind' | 'before' | 'after'>, explain: boolean): SchemaChange => {
    const explained = explain
      ? steps.find(({ s }) =>
          s.op === 'rename'
            ? change.path === s.from || change.path.startsWith(`${s.from}.`) || change.path === s.to || change.path.startsWith(`${s.to}.`)
            : change.path === s.path,
        )
      : undefined;
    // A renamed section keeps the impact of its new name (memory → memoryTopology is a memory change).
    const renamed = explained?.s.op === 'rename' && (change.path === explained.s.from || change.path.startsWith(`${explained.s.from}.`)) ? explained.s.to : change.path;
    const section = sectionOf(renamed);
    let impact = sectionImpact(section);
    if (section === 'version') {
      const a = typeof change.before === 'string' ? parseSemver(change.before) : undefined;
      const b = typeof change.after === 'string' ? parseSemver(change.after) : undefined;
      impact = a && b && a.major !== b.major ? 'critical' : 'minor';
    }
    return {
      ...change,
      section,
      impact,
      ...(explained ? { migration: `${explained.m.id}: ${explained.s.op} ${explained.s.op === 'rename' ? `${explained.s.from} → ${explained.s.to}` : explained.s.path}` } : {}),
    };
  };
  const changes = diffValues(before, after).map((c) => classify(c, true));
  let afterMigration: SchemaChange[] | undefined;
  if (toVersion) {
    const migrated = migrateDocument(before, toVersion, registry);
    if (migrated.ok) afterMigration = diffValues(migrated.document, after).map((c) => classify(c, false)).filter((c) => c.path !== 'version');
  }
  const a = fromVersion ? parseSemver(fromVersion) : undefined;
  const b = toVersion ? parseSemver(toVersion) : undefined;
  return {
    fromVersion,
    toVersion,
    changes,
    impact: worstImpact(changes.map((c) => c.impact)),
    afterMigration,
    guide: fromVersion && toVersion ? migrationGuide(fromVersion, toVersion, registry) : ['both documents need a version to compare'],
    breaking: a !== undefined && b !== undefined && b.major > a.major,
  };
}
