import type { AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle } from '../../shared/node/db';
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
