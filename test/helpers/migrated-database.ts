/** PGlite over the wire (on a worker thread), migrated to the latest schema: for tests of the store and the CLI process. */
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from './embedded-postgres-thread';
import { cleanEnv, runAdosCli, type CliResult } from './processes';

export interface MigratedDatabase {
  /** The postgres:// URL other processes (the CLI) connect with. */
  url: string;
  database: DatabaseHandle;
  /** Runs one `ados` command against this database, as tenant `tenant`, with nothing else of the environment's ADOS settings. */
  ados(args: string[], tenant?: string): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startMigratedDatabase(poolSize = 2): Promise<MigratedDatabase> {
  const server = await startEmbeddedPostgresThread();
  const database = await openDatabase(server.url, { poolSize });
  await migrateToLatest(database.db);
  return {
    url: server.url,
    database,
    ados: (args, tenant = 'acme') => runAdosCli(args, cleanEnv({ DATABASE_URL: server.url, ADOS_TENANT: tenant }), 60_000),
    async stop() {
      await database.close();
      await server.stop();
    },
  };
}
