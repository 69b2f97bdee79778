import type { ArtifactRef, CacheKeyParts } from '../../contract/extraction/messages';
import type { Db } from '../db';
import type { GeneratedArtifact } from './generators';

const json = (value: unknown): string => JSON.stringify(value ?? null);

/** A generated artifact, content-addressed. */
export interface ArtifactBlob {
  sha256: string;
  content: string;
  bytes: number;
}

/** A cache entry: the key's parts and what the extraction produced (the artifacts by hash). */
export interface CacheEntryInput {
  tenantId: string;
  agent: string;
  cacheKey: string;
  parts: CacheKeyParts;
  outputSha256: string;
  refs: ArtifactRef[];
  createdBy: string;
}

export const artifactBlobs = (artifacts: readonly GeneratedArtifact[], refs: readonly ArtifactRef[]): ArtifactBlob[] =>
  artifacts.map((a, i) => ({ sha256: refs[i].sha256, content: a.content, bytes: refs[i].bytes }));

/**
 * An extraction is written in two steps, blobs first and the entry last, like objects before a ref: the artifacts
 * (content-addressed, so writing one twice, or one nobody points at yet, is harmless) may go as soon as they are
 * generated, while the cache entry, the commit point, is written once the node's work is done. An entry never
 * exists without its artifacts. Both steps are idempotent: a retried attempt or a concurrent run with the same key
 * writes nothing twice, and duplicates within a batch are written once.
 */
export async function storeArtifacts(db: Db, blobs: readonly ArtifactBlob[]): Promise<void> {
  const unique = [...new Map(blobs.map((b) => [b.sha256, b])).values()];
  if (unique.length === 0) return;
  await db
    .insertInto('extraction_artifacts')
    .values(unique.map((b) => ({ sha256: b.sha256, content: b.content, bytes: b.bytes })))
    .onConflict((oc) => oc.column('sha256').doNothing())
    .execute();
}

/** The commit point of one or more extractions (see storeArtifacts, which must have run for their artifacts). */
export async function storeCacheEntries(db: Db, entries: readonly CacheEntryInput[]): Promise<void> {
  const unique = [...new Map(entries.map((e) => [`${e.tenantId}\u0000${e.cacheKey}`, e])).values()];
  if (unique.length === 0) return;
  await db
    .insertInto('schema_cache')
    .values(
      unique.map((e) => ({
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
      })),
    )
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
