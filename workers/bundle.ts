import { existsSync } from 'node:fs';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { ConfigError } from '../shared/node/config';

/**
 * The control worker's prebuilt workflow bundle (ADOS_WORKFLOW_BUNDLE, written by `npm run build:workflows`,
 * deploy/build-bundle.ts), so start-up does not run webpack; unset: undefined (the worker bundles workflows/ at start).
 * A path that names no file is refused: a production worker must not quietly fall back to bundling.
 */
export function prebuiltWorkflowBundle(path: string | undefined): WorkflowBundleOption | undefined {
  if (path === undefined) return undefined;
  if (!existsSync(path)) {
    throw new ConfigError([`ADOS_WORKFLOW_BUNDLE=${JSON.stringify(path)}: no such file; run \`npm run build:workflows\` to write it, or unset the variable to bundle at start`]);
  }
  return { codePath: path };
}
