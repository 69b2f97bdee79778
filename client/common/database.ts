import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { InputValidationError } from '../../shared/contract/validation';

/** Opens the database for a CLI command that reads or writes PostgreSQL; `why` names the command in the error. */
export async function openCliDatabase(cfg: AdosConfig, why: string): Promise<DatabaseHandle> {
  if (!cfg.databaseUrl) {
    throw new InputValidationError('configuration', [
      { path: 'DATABASE_URL', message: `not set: ${why} reads PostgreSQL; give the postgres:// URL \`npm start\` prints` },
    ]);
  }
  return openDatabase(cfg.databaseUrl, { poolSize: 2 });
}

/** Runs `fn` on the database of the CLI's configuration (DATABASE_URL), closed after it; `why` names the command. */
export async function withCliDatabase<T>(why: string, fn: (db: Db) => Promise<T>, cfg: AdosConfig = loadConfig()): Promise<T> {
  const database = await openCliDatabase(cfg, why);
  try {
    return await fn(database.db);
  } finally {
    await database.close();
  }
}
