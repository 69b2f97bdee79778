/**
 * The extraction cache in PostgreSQL (`schema_cache`): lookups by key, and the plan that says, per
 * agent, whether it is reused or runs and why (which key part differs from the agent's last entry).
 * Used by the workflow's start activity and by `ados extract --plan`, so both say the same thing.
 */
import { sql } from 'kysely';
import { topologicalOrder } from '../../contract/graph';
import type { ArtifactRef, CacheKeyParts, CacheReason, CachedOutput, ExtractionPlan, NodePlan } from '../../contract/extraction/messages';
import type { AgentSchema } from '../../contract/extraction/schema';
import type { Db } from '../db';
import { GENERATOR_VERSIONS, type GeneratorVersions } from './generators/version';
import { cacheKey, schemaSha256 } from './hashing';

/** A `schema_cache` row. */
export interface CacheEntryRow {
  agent: string;
  cache_key: string;
  schema_sha256: string;
  extractor_version: string;
  glue_version: string;
  dependencies: unknown;
  output_sha256: string;
  artifacts: unknown;
  created_by: string;
}

const ENTRY_COLUMNS = ['agent', 'cache_key', 'schema_sha256', 'extractor_version', 'glue_version', 'dependencies', 'output_sha256', 'artifacts', 'created_by'] as const;

export const entryOutput = (row: CacheEntryRow): CachedOutput => ({
  cacheKey: row.cache_key,
  outputSha256: row.output_sha256,
  artifacts: row.artifacts as ArtifactRef[],
  createdBy: row.created_by,
});

export async function findCacheEntry(db: Db, tenantId: string, key: string): Promise<CacheEntryRow | undefined> {
  return db.selectFrom('schema_cache').select(ENTRY_COLUMNS).where('tenant_id', '=', tenantId).where('cache_key', '=', key).executeTakeFirst() as Promise<CacheEntryRow | undefined>;
}

/** Several lookups in one query; the results in the order asked (undefined for a miss). */
export async function findCacheEntries(db: Db, wanted: ReadonlyArray<{ tenantId: string; key: string }>): Promise<Array<CacheEntryRow | undefined>> {
  if (wanted.length === 0) return [];
  const rows = (await db
    .selectFrom('schema_cache')
    .select([...ENTRY_COLUMNS, 'tenant_id'])
    .where((eb) => eb(eb.refTuple('tenant_id', 'cache_key'), 'in', wanted.map((w) => eb.tuple(w.tenantId, w.key))))
    .execute()) as Array<CacheEntryRow & { tenant_id: string }>;
  const found = new Map(rows.map(({ tenant_id, ...row }) => [`${tenant_id}\u0000${row.cache_key}`, row as CacheEntryRow]));
  return wanted.map((w) => found.get(`${w.tenantId}\u0000${w.key}`));
}

const short = (hash: string) => hash.slice(0, 8);

/** How many recent entries of an agent a missing key is compared with to name the part that changed. */
const COMPARED_ENTRIES = 20;

/** Why a key differs from the agent's previous entry, part by part. */
export function keyDifferences(parts: Omit<CacheKeyParts, 'dependencies'> & { dependencies?: Record<string, string> }, previous: CacheEntryRow, unresolved: readonly string[] = []): CacheReason[] {
  const reasons: CacheReason[] = [];
  if (parts.schemaSha256 !== previous.schema_sha256) {
    reasons.push({ part: 'schema', message: `schema changed (sha256 ${short(previous.schema_sha256)} → ${short(parts.schemaSha256)})` });
  }
  if (parts.extractorVersion !== previous.extractor_version) {
    reasons.push({ part: 'extractor', message: `extractor version changed (${previous.extractor_version} → ${parts.extractorVersion})` });
  }
  if (parts.glueVersion !== previous.glue_version) {
    reasons.push({ part: 'glue', message: `template (glue) version changed (${previous.glue_version} → ${parts.glueVersion})` });
  }
  const before = (previous.dependencies ?? {}) as Record<string, string>;
  if (parts.dependencies) {
    const names = [...new Set([...Object.keys(before), ...Object.keys(parts.dependencies)])].sort();
    for (const name of names) {
      const a = before[name];
      const b = parts.dependencies[name];
      if (a === b) continue;
      reasons.push({
        part: 'dependencies',
        message: a === undefined ? `new dependency ${name}` : b === undefined ? `dependency ${name} removed` : `output of dependency ${name} changed (${short(a)} → ${short(b)})`,
      });
    }
  }
  if (unresolved.length > 0) reasons.push(upstreamReason(unresolved));
  return reasons;
}

/** A node whose dependencies are not reused cannot know its key before they run. */
export function upstreamReason(unresolved: readonly string[]): CacheReason {
  const one = unresolved.length === 1;
  return {
    part: 'dependencies',
    message: `upstream ${unresolved.join(', ')} ${one ? 'is' : 'are'} extracted first (${one ? 'its' : 'their'} output hash is part of this key)`,
  };
}

/**
 * Plans a set: walks the agents in dependency order and finds every cache hit that can be known
 * now (an agent whose dependencies are all hits). Two queries, whatever the size of the set.
 */
export async function planExtraction(
  db: Db,
  tenantId: string,
  schemas: readonly AgentSchema[],
  versions: GeneratorVersions = GENERATOR_VERSIONS,
): Promise<ExtractionPlan> {
  const byName = new Map(schemas.map((s) => [s.name, s]));
  const shas: Record<string, string> = {};
  for (const schema of schemas) shas[schema.name] = schemaSha256(schema);
  const names = schemas.map((s) => s.name);
  const shaList = [...new Set(Object.values(shas))];

  const candidates = (names.length === 0
    ? []
    : await db
        .selectFrom('schema_cache')
        .select(ENTRY_COLUMNS)
        .where('tenant_id', '=', tenantId)
        .where('agent', 'in', names)
        .where('schema_sha256', 'in', shaList)
        .where('extractor_version', '=', versions.extractorVersion)
        .where('glue_version', '=', versions.glueVersion)
        .execute()) as CacheEntryRow[];
  const byKey = new Map(candidates.map((row) => [`${row.agent}\u0000${row.cache_key}`, row]));

  const order = topologicalOrder(schemas.map((s) => ({ id: s.name, dependsOn: s.dependsOn })));
  const resolved = new Map<string, string>();
  const nodes: NodePlan[] = [];
  const misses: NodePlan[] = [];
  for (const name of order) {
    const schema = byName.get(name)!;
    const unresolved = schema.dependsOn.filter((d) => !resolved.has(d));
    if (unresolved.length > 0) {
      const plan: NodePlan = { name, decision: 'run', reasons: [] };
      nodes.push(plan);
      misses.push(plan);
      continue;
    }
    const keyParts: CacheKeyParts = {
      schemaSha256: shas[name],
      extractorVersion: versions.extractorVersion,
      glueVersion: versions.glueVersion,
      dependencies: Object.fromEntries([...schema.dependsOn].sort().map((d) => [d, resolved.get(d)!])),
    };
    const key = cacheKey(keyParts);
    const hit = byKey.get(`${name}\u0000${key}`);
    if (hit) {
      resolved.set(name, hit.output_sha256);
      nodes.push({ name, decision: 'reuse', cacheKey: key, keyParts, entry: entryOutput(hit), reasons: [{ part: 'hit', message: `cache hit (key ${short(key)}, extracted by ${hit.created_by})` }] });
    } else {
      const plan: NodePlan = { name, decision: 'run', cacheKey: key, keyParts, reasons: [] };
      nodes.push(plan);
      misses.push(plan);
    }
  }

  if (misses.length > 0) {
    // Recent entries of each missing agent; its key is compared with the closest one (fewest differing parts).
    const recent = (await db
      .with('ranked', (qb) =>
        qb
          .selectFrom('schema_cache')
          .select([...ENTRY_COLUMNS, sql<number>`row_number() over (partition by agent order by id desc)`.as('rank')])
          .where('tenant_id', '=', tenantId)
          .where('agent', 'in', misses.map((m) => m.name)),
      )
      .selectFrom('ranked')
      .select(ENTRY_COLUMNS)
      .where('rank', '<=', COMPARED_ENTRIES)
      .orderBy('agent')
      .orderBy('rank')
      .execute()) as CacheEntryRow[];
    for (const plan of misses) {
      const schema = byName.get(plan.name)!;
      const unresolved = schema.dependsOn.filter((d) => !resolved.has(d));
      const parts = { schemaSha256: shas[plan.name], ...versions, dependencies: plan.keyParts?.dependencies };
      const entries = recent.filter((row) => row.agent === plan.name);
      if (entries.length === 0) {
        plan.reasons = [{ part: 'new', message: `no earlier extraction of ${plan.name} for tenant ${tenantId}` }];
        if (unresolved.length > 0) plan.reasons.push(upstreamReason(unresolved));
        continue;
      }
      // Newest first, so a tie goes to the latest entry.
      const closest = entries.reduce((best, row) => (keyDifferences(parts, row).length < keyDifferences(parts, best).length ? row : best));
      plan.reasons = keyDifferences(parts, closest, unresolved);
      if (plan.reasons.length === 0) {
        // Same parts as an entry yet no hit: cannot happen with one key function; say so rather than nothing.
        plan.reasons = [{ part: 'dependencies', message: 'no entry for this combination of dependency outputs' }];
      }
    }
  }
  return { ...versions, nodes, schemaSha256: shas };
}
