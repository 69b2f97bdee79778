import { Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import { startEmbeddedPostgres } from './embedded';
import type { Database } from './schema';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  /** The postgres:// URL other processes can use (the embedded server's when url was pglite:). */
  url: string;
  close(): Promise<void>;
}

/**
 * Opens the database named by a URL: postgres://… for a server, or pglite:<dir> (pglite: alone for
 * memory) for an embedded PGlite served on a loopback port by this process.
 */
export async function openDatabase(url: string, options: { poolSize?: number } = {}): Promise<DatabaseHandle> {
  let serverUrl = url;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (url.startsWith('pglite:')) {
    const dataDir = url.slice('pglite:'.length) || undefined;
    const embedded = await startEmbeddedPostgres({ dataDir });
    serverUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }
  const pool = new Pool({ connectionString: serverUrl, max: options.poolSize ?? 10 });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    url: serverUrl,
    close: async () => {
      await db.destroy();
      await stopEmbedded?.();
    },
  };
}
