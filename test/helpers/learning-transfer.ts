/**
 * What the transfer-learning tests share: a control worker serving the cycle workflow with the real transfer
 * activities (optionally failing the first attempts of some, to show retries write once), and the pairs they run.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { createTransferActivities, type TransferActivities } from '../../activities/learning/transfer/transfer-activities';
import { SYNTHETIC_FEATURE_MAP, type TransferPairRequest } from '../../shared/contract/learning/transfer/input';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import type { Db } from '../../shared/node/db';

export const RELATED_PAIR: TransferPairRequest = { source: 'synthetic-base', target: 'synthetic-related', pattern: 'weights', method: 'prior', featureMap: { ...SYNTHETIC_FEATURE_MAP } };
export const UNRELATED_PAIR: TransferPairRequest = { source: 'synthetic-base', target: 'synthetic-unrelated', pattern: 'weights', method: 'prior', featureMap: { ...SYNTHETIC_FEATURE_MAP } };
export const REAL_DATA_PAIR: TransferPairRequest = { source: 'nab-ec2-cpu', target: 'nab-other-aws', pattern: 'weights', method: 'prior' };

/** How many attempts of each activity to fail, and whether before or after it did its work. */
export type FailurePlan = Partial<Record<keyof TransferActivities, { attempts: number; after: boolean }>>;

export interface TransferWorker {
  worker: Worker;
  running: Promise<void>;
  taskQueue: string;
  /** Failures the next attempts meet (set per test; counted down as they happen). */
  failures: FailurePlan;
  /** Attempts made per activity. */
  attempts: Record<string, number>;
  stop(): Promise<void>;
}

export async function startTransferWorker(env: TestWorkflowEnvironment, db: Db, workflowBundle: WorkflowBundle, prefix: string): Promise<TransferWorker> {
  const real = createTransferActivities(db);
  const failures: FailurePlan = {};
  const attempts: Record<string, number> = {};
  const activities = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        attempts[name] = (attempts[name] ?? 0) + 1;
        const plan = failures[name as keyof TransferActivities];
        const fail = plan && plan.attempts > 0 ? plan : undefined;
        if (fail) fail.attempts--;
        if (fail && !fail.after) throw new Error(`injected failure of ${name} before its work`);
        const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        if (fail) throw new Error(`injected failure of ${name} after its work`);
        return result;
      },
    ]),
  );
  const taskQueue = controlTaskQueue(prefix);
  const worker = await Worker.create({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', taskQueue, workflowBundle, activities, shutdownGraceTime: '2s' });
  const running = worker.run();
  return {
    worker,
    running,
    taskQueue,
    failures,
    attempts,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

export interface InProcessCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `ados <args>` in this process (client/cli.ts) with `env` over process.env, capturing stdout and stderr: the
 * same program as the binary without a process start per call (seconds each on a busy machine).
 */
export async function runCliInProcess(args: string[], env: Record<string, string>): Promise<InProcessCliResult> {
  const { runCli } = await import('../../client/cli');
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const code = await runCli(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.exitCode = 0;
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
