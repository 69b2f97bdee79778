/**
 * `npm run build:workflows`: prebuilds the workflow code (workflows/index.ts) with bundleWorkflowCode, once at build
 * time, into dist/workflow-bundle.js (or the path given: `npm run build:workflows -- <file>`). A control worker
 * started with ADOS_WORKFLOW_BUNDLE=<that file> loads it (workers/bundle.ts) instead of running webpack at start-up;
 * bench/suites/worker-startup.ts measures the difference. Rebuild it with every change to workflows/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export const DEFAULT_BUNDLE_PATH = join(__dirname, '..', 'dist', 'workflow-bundle.js');

/** Bundles workflows/ into `file`; returns its size in bytes. */
export async function buildWorkflowBundle(file: string = DEFAULT_BUNDLE_PATH): Promise<number> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  return Buffer.byteLength(code);
}

if (require.main === module) {
  const file = resolve(process.argv[2] ?? DEFAULT_BUNDLE_PATH);
  const started = Date.now();
  buildWorkflowBundle(file).then(
    (bytes) => {
      process.stdout.write(`wrote ${relative(process.cwd(), file) || file} (${(bytes / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`start the control worker with ADOS_WORKFLOW_BUNDLE=${file}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`build:workflows failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
