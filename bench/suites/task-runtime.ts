/**
 * `npm run bench -- task-runtime`: a task runtime over 100,000 generated items in batches of 100 (the `batch`
 * capability, 4 at once, 1 ms of simulated work per item), on the in-process stack (dev server, benchmark database,
 * control and capability workers in this process). It reports:
 * - the events of each run in the chain (the largest against the 10,000 target) and how many runs it took;
 * - its throughput against the floor, bench/workflows/bare-batches.ts: the same items in the same batches, 4 at once,
 *   each batch an activity doing the same work per item (sleep, digest, heartbeat) but writing nothing: no fence, no
 *   effects, no checkpoints. The ratio is the floor's items/s over the runtime's (target ≤ 1.2);
 * - the RSS growth of this process (where the workers run) from the runtime's start to its end, each after a full
 *   garbage collection (target ≤ 50 MB);
 * - the replay time of the largest run's history (Worker.runReplayHistory with the workers' bundle);
 * - `ados runtime load` of a 1,000,000-line NDJSON file, as a child process: items/s and its peak RSS (VmHWM).
 * Nothing here asserts.
 */
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Context } from '@temporalio/activity';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { addToChecksum, itemDigest } from '../../activities/capabilities/batch';
import { prepareTaskRuntime, startTaskRuntime } from '../../client/task-runtime';
import type { TaskRuntimeResult } from '../../shared/contract/task-runtime/messages';
import { migrateToLatest, openDatabase } from '../../shared/node/db';
import { bundleWorkflows } from '../../test/helpers/stack';
import { chainRuns, writeWorkItems } from '../../test/helpers/task-runtime';
import type { BenchMetric, BenchReport, BenchSuite } from '../harness';
import { benchDatabase } from '../lib/database';
import { startInProcessStack } from '../lib/in-process-stack';
import { runAdosMeasured } from '../lib/measured-cli';
import type { BareBatchActivities, BareBatchesInput } from '../workflows/bare-batches';

const ITEMS = 100_000;
const BATCH = 100;
const PARALLEL = 4;
const ITEM_WORK_MS = 1;
/** Items per write of the batch capability (its default), and so per heartbeat of the bare batch too. */
const WRITE_EVERY = 50;
const LOAD_LINES = 1_000_000;
const TENANT = 'bench_runtime';
const MB = 1024 * 1024;

/** The bare batch: the `batch` capability's work per item (sleep, digest, heartbeat per write), nothing written. */
const bareActivities: BareBatchActivities = {
  async bareBatch({ items, itemWorkMs }) {
    let checksum = 0;
    for (let from = 0; from < items.length; from += WRITE_EVERY) {
      const chunk = items.slice(from, from + WRITE_EVERY);
      if (itemWorkMs > 0) await sleep(chunk.length * itemWorkMs);
      for (const item of chunk) checksum = addToChecksum(checksum, itemDigest(item));
      Context.current().heartbeat();
    }
    return { items: items.length, checksum: checksum.toString(16).padStart(8, '0') };
  },
};

/** This process's RSS after a full garbage collection (the flag set at run time, as the bench runs without it). */
function settledRss(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().rss;
}

/** `ados runtime load` of LOAD_LINES lines into a database of its own: seconds and peak RSS of the CLI process. */
async function measureLoad(): Promise<{ seconds: number; peakRssBytes: number; added: number; database: string }> {
  const file = writeWorkItems(LOAD_LINES);
  const database = await benchDatabase();
  try {
    const opened = await openDatabase(database.url, { poolSize: 1 });
    await migrateToLatest(opened.db);
    await opened.close();
    const run = await runAdosMeasured(['runtime', 'load', '--task', `load-${Date.now()}`, '--tenant', TENANT, '--file', file, '--json'], { DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
    const report = JSON.parse(run.stdout) as { added: number };
    return { seconds: run.seconds, peakRssBytes: run.peakRssBytes, added: report.added, database: database.kind };
  } finally {
    await database.stop();
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

export const suite: BenchSuite = {
  name: 'task-runtime',
  description: `a task runtime over ${ITEMS.toLocaleString('en')} items in batches of ${BATCH} (${PARALLEL} at once, ${ITEM_WORK_MS} ms of work per item) against a bare workflow running the same batches; replay; \`ados runtime load\` of ${LOAD_LINES.toLocaleString('en')} lines`,
  async run(): Promise<BenchReport> {
    const bareBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/bare-batches'), logger: new DefaultLogger('WARN') });
    const stack = await startInProcessStack({
      capabilities: ['batch'],
      maxConcurrent: PARALLEL,
      extraWorkers: async ({ env, prefix }) => [
        await Worker.create({
          connection: env.nativeConnection,
          namespace: 'default',
          taskQueue: `${prefix}.bare-batches`,
          workflowBundle: bareBundle,
          activities: bareActivities,
          maxConcurrentActivityTaskExecutions: PARALLEL,
          identity: `bench-bare@${hostname()}`,
        }),
      ],
    });
    let runtime: { seconds: number; rssStart: number; rssEnd: number; result: TaskRuntimeResult; events: number[]; replayMs: number };
    let bareSeconds: number;
    try {
      const bareInput: BareBatchesInput = { items: ITEMS, batchSize: BATCH, maxParallel: PARALLEL, taskQueue: `${stack.prefix}.bare-batches`, itemWorkMs: ITEM_WORK_MS };
      const bareStarted = Date.now();
      await stack.client.workflow.execute('bareBatches', { workflowId: `bench-bare-batches-${bareStarted}`, taskQueue: `${stack.prefix}.bare-batches`, args: [bareInput] });
      bareSeconds = (Date.now() - bareStarted) / 1000;

      const rssStart = settledRss();
      const started = Date.now();
      const input = prepareTaskRuntime(
        { tenantId: TENANT, taskId: `bench-${started}`, source: { kind: 'generator', items: ITEMS }, capability: 'batch', capabilityInput: { itemWorkMs: ITEM_WORK_MS }, batchSize: BATCH, maxParallel: PARALLEL, requestedBy: 'bench' },
        undefined,
      );
      const { workflowId, runId } = await startTaskRuntime(stack.client, stack.config, input);
      const result = (await stack.client.workflow.getHandle(workflowId).result()) as TaskRuntimeResult;
      const seconds = (Date.now() - started) / 1000;
      const rssEnd = settledRss();
      if (result.outcome !== 'completed' || result.done !== ITEMS) throw new Error(`the runtime ended ${result.outcome} with ${result.done} of ${ITEMS} items`);

      const runs = await chainRuns(stack.client, workflowId, runId);
      const largest = runs.reduce((a, b) => (b.events > a.events ? b : a));
      const history = await stack.client.workflow.getHandle(workflowId, largest.runId).fetchHistory();
      const workflowBundle = await bundleWorkflows();
      const replayStarted = process.hrtime.bigint();
      await Worker.runReplayHistory({ workflowBundle, replayName: 'bench-task-runtime' }, history, workflowId);
      const replayMs = Number(process.hrtime.bigint() - replayStarted) / 1e6;
      runtime = { seconds, rssStart, rssEnd, result, events: runs.map((r) => r.events), replayMs };
    } finally {
      await stack.stop();
    }
    const load = await measureLoad();

    const runtimeRate = ITEMS / runtime.seconds;
    const bareRate = ITEMS / bareSeconds;
    const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
    const metrics: BenchMetric[] = [
      { name: 'events_per_run_max', value: Math.max(...runtime.events), unit: 'events', target: { op: '<=', value: 10_000 } },
      { name: 'runs_in_chain', value: runtime.events.length, unit: 'runs' },
      { name: 'runtime_items_per_second', value: round(runtimeRate), unit: 'items/s' },
      { name: 'bare_items_per_second', value: round(bareRate), unit: 'items/s' },
      { name: 'throughput_ratio_bare_over_runtime', value: round(bareRate / runtimeRate, 3), unit: 'ratio', target: { op: '<=', value: 1.2 } },
      { name: 'worker_rss_growth', value: round((runtime.rssEnd - runtime.rssStart) / MB), unit: 'MB', target: { op: '<=', value: 50 } },
      { name: 'replay_largest_run', value: round(runtime.replayMs), unit: 'ms' },
      { name: 'load_items_per_second', value: Math.round(load.added / load.seconds), unit: 'items/s' },
      { name: 'load_peak_rss', value: round(load.peakRssBytes / MB), unit: 'MB' },
    ];
    return {
      benchmark: 'task-runtime',
      description: this.description,
      metrics,
      notes: [
        `The runtime: ${runtime.seconds.toFixed(1)} s, ${runtime.events.length} runs in the chain (events per run: ${runtime.events.join(', ')}; hand-over at the default 5000 events, or earlier when Temporal suggests it); the bare workflow: ${bareSeconds.toFixed(1)} s, run first, in the same process, on the same dev server. Database: ${stack.database}.`,
        `Worker RSS is this process's (the control, batch and bare workers all run in it): ${round(runtime.rssStart / MB)} MB at the runtime's start, ${round(runtime.rssEnd / MB)} MB at its end, each after a full garbage collection.`,
        `Replay: the largest run's ${Math.max(...runtime.events)} events, one Worker.runReplayHistory with the workers' bundle (bundling not counted).`,
        `Load: ${LOAD_LINES.toLocaleString('en')} lines (${load.added.toLocaleString('en')} added) by \`ados runtime load\` as a child process into ${load.database}, ${load.seconds.toFixed(1)} s including the validation pass and the CLI's start; peak RSS is the child's VmHWM, sampled every 100 ms.`,
      ],
    };
  },
};
