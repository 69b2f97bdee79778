import { PGlite } from '@electric-sql/pglite';
import { PGliteWireServer } from './pglite-server';

export interface EmbeddedPostgres {
  /** A postgres:// URL any process on this machine can use with pg. */
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Directory that holds the database; in memory when absent. */
  dataDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * pglite-socket accepts one connection by default, and a pg Pool with more clients then fails
   * with "Connection terminated unexpectedly". Transactions from different connections are
   * serialized by the server, so raising it keeps isolation.
   */
  maxConnections?: number;
}

/**
 * PGlite (PostgreSQL compiled to WASM) served over the PostgreSQL wire protocol, so that every
 * process uses the same pg + kysely path as with a real server.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const pglite = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
  await pglite.waitReady;
  const host = options.host ?? '127.0.0.1';
  // Not pglite-socket's PGLiteSocketServer: its queue lets concurrent connections' queries interleave (pglite-server.ts).
  const server = new PGliteWireServer({
    db: pglite,
    host,
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 64,
  });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    stop: async () => {
      await server.stop();
      await pglite.close();
    },
  };
}
