import type { Db } from '../../shared/node/db';
import { coalesce } from '../../shared/node/coalesce';
import { findCacheEntries, findCacheEntry, type CacheEntryRow } from '../../shared/node/extraction/cache';
import { storeArtifacts, storeCacheEntries, type ArtifactBlob, type CacheEntryInput } from '../../shared/node/extraction/store';

/** How the extract activity reads and writes the cache. */
export interface ExtractionCacheAccess {
  find(tenantId: string, key: string): Promise<CacheEntryRow | undefined>;
  /** An extraction's artifacts, written while its work may still run (see storeArtifacts). */
  storeArtifacts(blobs: readonly ArtifactBlob[]): Promise<void>;
  /** The cache entry, once the work is done: the commit point. */
  commit(entry: CacheEntryInput): Promise<void>;
}

/** One statement per call: for a single extraction (the `extract` capability of a delivery plan). */
export const directCacheAccess = (db: Db): ExtractionCacheAccess => ({
  find: (tenantId, key) => findCacheEntry(db, tenantId, key),
  storeArtifacts: (blobs) => storeArtifacts(db, blobs),
  commit: (entry) => storeCacheEntries(db, [entry]),
});

/**
 * What one extract worker's activities share. A layer of the DAG starts, and later finishes its work, at nearly the
 * same moment: one statement per agent would queue them behind each other on the database (PGlite runs one statement
 * at a time, and each costs CPU the workflow and the workers need on a small machine), so the last agent of a layer,
 * and with it the next layer, would wait for all the others. Coalesced, a layer's lookups, its artifact writes and
 * its commits each take about two statements.
 */
export function batchedCacheAccess(db: Db): ExtractionCacheAccess {
  const find = coalesce((wanted: ReadonlyArray<{ tenantId: string; key: string }>) => findCacheEntries(db, wanted));
  const blobs = coalesce(async (batch: ReadonlyArray<readonly ArtifactBlob[]>) => {
    await storeArtifacts(db, batch.flat());
    return batch.map(() => undefined);
  });
  const commit = coalesce(async (batch: readonly CacheEntryInput[]) => {
    await storeCacheEntries(db, batch);
    return batch.map(() => undefined);
  });
  return { find: (tenantId, key) => find({ tenantId, key }), storeArtifacts: blobs, commit };
}
