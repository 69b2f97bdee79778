/**
 * `npm run bench -- worker-startup`: how long a control worker takes from spawn to polling (`ados worker --role
 * control` logging "worker polling"), bundling the workflows at start (webpack + swc) against loading the bundle
 * prebuilt by `npm run build:workflows` (ADOS_WORKFLOW_BUNDLE, deploy/build-bundle.ts). The same Temporal dev server
 * and database for both; sides alternate, ADOS_BENCH_REPEATS times each (at most 5: each side takes seconds). The
 * figures are medians and their ratio; the issue sets no target. Nothing here asserts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildWorkflowBundle } from '../../deploy/build-bundle';
import { loadBenchConfig } from '../../shared/node/config';
import { migrateToLatest, openDatabase } from '../../shared/node/db';
import { cleanEnv, ManagedProcess } from '../../test/helpers/processes';
import { startTemporalServer } from '../../test/helpers/temporal-server';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { benchDatabase } from '../lib/database';
import { waitReady } from '../lib/process-stack';

const REPEATS = Math.min(5, loadBenchConfig().repeats);

export const suite: BenchSuite = {
  name: 'worker-startup',
  description: 'control worker start-up (spawn to polling), bundling workflows at start against the prebuilt bundle',
  async run(): Promise<BenchReport> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-bench-startup-'));
    const bundle = path.join(dir, 'workflow-bundle.js');
    const buildStarted = performance.now();
    const bundleBytes = await buildWorkflowBundle(bundle);
    const buildMs = performance.now() - buildStarted;
    const temporal = await startTemporalServer({ dbFile: path.join(dir, 'temporal.db') });
    const database = await benchDatabase();
    try {
      const handle = await openDatabase(database.url, { poolSize: 1 });
      await migrateToLatest(handle.db);
      await handle.close();
      const env = cleanEnv({ TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: database.url, ADOS_TASK_QUEUE_PREFIX: 'bench-startup', LOG_LEVEL: 'info' });
      const startOnce = async (extra: Record<string, string>): Promise<number> => {
        const started = performance.now();
        const worker = new ManagedProcess('control', ['worker', '--role', 'control'], { ...env, ...extra });
        try {
          await waitReady(worker);
          return performance.now() - started;
        } finally {
          await worker.stop('SIGTERM', 15_000);
        }
      };
      const samples: Record<string, number[]> = { bundlingMs: [], prebuiltMs: [] };
      for (let i = 0; i < REPEATS; i++) {
        samples.bundlingMs.push(await startOnce({}));
        samples.prebuiltMs.push(await startOnce({ ADOS_WORKFLOW_BUNDLE: bundle }));
      }
      const bundling = median(samples.bundlingMs);
      const prebuilt = median(samples.prebuiltMs);
      return {
        benchmark: 'worker-startup',
        description: this.description,
        metrics: [
          { name: 'start-up, bundling at start (median)', value: Math.round(bundling), unit: 'ms' },
          { name: 'start-up, prebuilt bundle (median)', value: Math.round(prebuilt), unit: 'ms' },
          { name: 'prebuilt / bundling', value: prebuilt / bundling, unit: 'ratio' },
          { name: 'build:workflows (once, at build time)', value: Math.round(buildMs), unit: 'ms' },
        ],
        notes: [
          `${REPEATS} start-ups per side, alternating, on ${database.kind}; the bundle is ${(bundleBytes / 1024).toFixed(0)} KiB.`,
          'Start-up includes Node and tsx loading the worker, connecting, the migration check and search-attribute registration on both sides.',
        ],
        samples,
      };
    } finally {
      await database.stop();
      await temporal.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
