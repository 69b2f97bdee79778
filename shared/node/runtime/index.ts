/** The process runtime (deploy.process, `ados release`, npm start's Ctrl-C): see process-runtime.ts. */
import path from 'node:path';
import type { AdosConfig } from '../config';
import { ProcessRuntime } from './process-runtime';

export * from './process-runtime';
export { hashArtifactDirectory } from './artifact';

/** The runtime under the configured data directory: `<ADOS_DATA_DIR>/runtime`. */
export function processRuntime(config: Pick<AdosConfig, 'dataDir'>): ProcessRuntime {
  return new ProcessRuntime(path.resolve(config.dataDir, 'runtime'));
}
