import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Paths the bootstrap (deploy/bootstrap.mjs) recorded in .ados/toolchain.json. */
export interface Toolchain {
  temporalCli: string;
  testServer: string;
  pgBinDir?: string;
}

export const PROJECT_ROOT = join(__dirname, '..');

export function readToolchain(root = PROJECT_ROOT): Toolchain {
  const file = join(root, '.ados', 'toolchain.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run bootstrap\` (npm start and npm test run it for you)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Toolchain;
}
