import { createHash } from 'node:crypto';
import { canonicalJson } from '../../contract/canonical';
import type { ArtifactRef, CacheKeyParts } from '../../contract/extraction/messages';
import type { AgentSchema } from '../../contract/extraction/schema';
import type { GeneratedArtifact } from './generators';

/** Hashing of schemas, artifacts and cache keys: sha256 over canonical JSON, computed only in activities and the client. */
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of the canonical (migrated, typed) schema: the first cache key part. */
export const schemaSha256 = (schema: AgentSchema): string => sha256(canonicalJson(schema));

export function artifactRefs(artifacts: readonly GeneratedArtifact[]): ArtifactRef[] {
  return artifacts.map((a) => ({ path: a.path, kind: a.kind, sha256: sha256(a.content), bytes: Buffer.byteLength(a.content, 'utf8') }));
}

/** One hash for all of a node's artifacts (path + content hash each): what its dependents' keys include. */
export const outputSha256 = (refs: readonly ArtifactRef[]): string =>
  sha256(canonicalJson([...refs].sort((a, b) => (a.path < b.path ? -1 : 1)).map((r) => ({ path: r.path, sha256: r.sha256 }))));

/** The cache key: sha256 of the canonical key parts (schema hash, extractor and glue versions, dependency output hashes). */
export const cacheKey = (parts: CacheKeyParts): string => sha256(canonicalJson(parts));

/** The workflow ID's hash8: the set's documents (by file), canonical. */
export const setHash8 = (documents: ReadonlyArray<{ file: string; document: unknown }>): string =>
  sha256(canonicalJson([...documents].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)).map((d) => [d.file, d.document ?? null]))).slice(0, 8);
