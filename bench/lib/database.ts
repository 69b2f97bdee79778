/**
 * The database a benchmark runs on. `ADOS_BENCH_DATABASE=pglite|postgres` chooses; by default PostgreSQL (what
 * production runs) when DATABASE_URL points at one or the toolchain has Debian's server (node deploy/bootstrap.mjs
 * --postgres), else PGlite (the embedded default of `npm start`).
 */
import { readToolchain } from '../../deploy/toolchain';
import { loadBenchConfig, loadConfig } from '../../shared/node/config';

export interface BenchDatabase {
  url: string;
  kind: 'PGlite' | 'PostgreSQL' | 'PostgreSQL (DATABASE_URL)';
  /** PGlite runs one statement at a time: one connection; a server gets a pool. */
  poolSize: number;
  stop(): Promise<void>;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  const wanted = loadBenchConfig().database;
  if (wanted !== 'pglite') {
    const { databaseUrl } = loadConfig();
    if (databaseUrl?.startsWith('postgres')) {
      return { url: databaseUrl, kind: 'PostgreSQL (DATABASE_URL)', poolSize: 10, stop: async () => undefined };
    }
    let pgBinDir: string | null = null;
    try {
      pgBinDir = readToolchain().pgBinDir;
    } catch {
      // No toolchain file: PGlite below, unless PostgreSQL was asked for.
    }
    if (pgBinDir) {
      const { startPostgresServer } = await import('../../test/helpers/postgres-server');
      const server = await startPostgresServer({ database: 'ados_bench' });
      return { url: server.url, kind: 'PostgreSQL', poolSize: 10, stop: () => server.stop() };
    }
    if (wanted === 'postgres') {
      throw new Error('ADOS_BENCH_DATABASE=postgres, but no PostgreSQL: set DATABASE_URL or run node deploy/bootstrap.mjs --postgres');
    }
  }
  const { startEmbeddedPostgresThread } = await import('../../test/helpers/embedded-postgres-thread');
  const embedded = await startEmbeddedPostgresThread();
  return { url: embedded.url, kind: 'PGlite', poolSize: 1, stop: () => embedded.stop() };
}
