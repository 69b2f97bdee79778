import type { ArtifactRef, CacheKeyParts } from '../../shared/contract/extraction/messages';
import type { Db } from '../../shared/node/db';
import type { GeneratedArtifact } from './generators';

const json = (value: unknown): string => JSON.stringify(value ?? null);

export interface StoredExtraction {
  tenantId: string;
  agent: string;
  cacheKey: string;
  parts: CacheKeyParts;
  outputSha256: string;
  refs: ArtifactRef[];
  artifacts: readonly GeneratedArtifact[];
  createdBy: string;
}

/**
 * Writes a node's artifacts (content-addressed) and its cache entry in one statement, so an entry
 * never exists without its artifacts. Idempotent: a retried attempt or a concurrent run with the
 * same key writes nothing twice.
 */
export async function storeExtraction(db: Db, e: StoredExtraction): Promise<void> {
  // One statement (atomic without an explicit transaction, and one round trip): the artifacts, then the entry.
  await db
    .with('stored', (qb) =>
      qb
        .insertInto('extraction_artifacts')
        .values(e.artifacts.map((a, i) => ({ sha256: e.refs[i].sha256, content: a.content, bytes: e.refs[i].bytes })))
        .onConflict((oc) => oc.column('sha256').doNothing())
        .returning('sha256'),
    )
    .insertInto('schema_cache')
    .values({
      tenant_id: e.tenantId,
      agent: e.agent,
      cache_key: e.cacheKey,
      schema_sha256: e.parts.schemaSha256,
      extractor_version: e.parts.extractorVersion,
      glue_version: e.parts.glueVersion,
      dependencies: json(e.parts.dependencies),
      output_sha256: e.outputSha256,
      artifacts: json(e.refs),
      created_by: e.createdBy,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'cache_key']).doNothing())
    .execute();
}

/** Artifact contents by sha256; throws naming the hashes that are missing. */
export async function loadArtifactContents(db: Db, hashes: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(hashes)];
  if (wanted.length === 0) return new Map();
  const rows = await db.selectFrom('extraction_artifacts').select(['sha256', 'content']).where('sha256', 'in', wanted).execute();
  const found = new Map(rows.map((r) => [r.sha256, r.content]));
  const missing = wanted.filter((h) => !found.has(h));
  if (missing.length > 0) throw new Error(`artifact content missing from extraction_artifacts: ${missing.join(', ')}`);
  return found;
}
