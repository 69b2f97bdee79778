/**
 * The whole ADOS worker stack in this process, for workflow tests: the control worker (every workflow plus the
 * database activities) and one capability worker per built-in capability, on a TestWorkflowEnvironment's
 * connection (time-skipping test server or dev server), against a database that is migrated to the latest schema.
 *
 *   const workflowBundle = await bundleWorkflows();             // once per test file
 *   const env = await createTimeSkippingEnv();
 *   const stack = await startStack({ env, workflowBundle });     // PGlite in memory by default
 *   const { workflowId, handle } = await stack.startRun(input);  // validated by client/delivery.ts
 *   ...
 *   await stack.shutdown();
 *   await env.teardown();
 *
 * Each stack polls its own task queues (`<prefix>.control`, `<prefix>.cap.<capability>`, a fresh prefix per stack),
 * so stacks of several test files or cases on one server never take each other's tasks.
 */
import { hostname } from 'node:os';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { startDeliveryRun, type StartedRun } from '../../client/delivery';
import { BUILT_INS } from '../../activities';
import { deliveryStatusQuery, type DeliveryResult, type DeliveryStatus } from '../../shared/contract/delivery/status';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import { saveSettings } from '../../shared/node/learning/strategy/store';
import { createLogger } from '../../shared/node/logger';
import { createCapabilityWorkers } from '../../workers/capability-worker';
import { createControlWorker } from '../../workers/control-worker';
import { ensureSearchAttributes } from '../../workers/search-attributes';
import { startEmbeddedPostgresThread } from './embedded-postgres-thread';
import { createTimeSkippingEnv } from './toolchain';

/** Bundles workflows/index.ts (webpack + swc, a few seconds): do it once per test file and pass it to every stack. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger });
}

const quietBundlerLogger = new DefaultLogger('WARN');

/** gRPC status codes (from the gRPC spec; @grpc/grpc-js is not a direct dependency). */
const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNIMPLEMENTED = 12;

type RuntimeLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/**
 * Installs a Temporal Runtime that logs at ERROR (the default logs every worker state change at INFO, and every
 * failed activity attempt, which these tests cause on purpose, at WARN with its stack). ADOS_TEST_TEMPORAL_LOG=WARN
 * (or DEBUG, ...) shows more. Call it before creating the test environment; it does nothing when a Runtime exists.
 */
export function installQuietRuntime(level: RuntimeLogLevel = (process.env.ADOS_TEST_TEMPORAL_LOG as RuntimeLogLevel) || 'ERROR'): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(level),
      // Core (Rust) logs go to the same logger, filtered at the same level.
      telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
    });
  } catch {
    // Already installed (or instantiated by an environment): keep it.
  }
}

/**
 * Registers AdosTenant/AdosKind/AdosStage (Keyword) and AdosAwaitingApproval (Bool) on the server, idempotently.
 *
 * The dev server implements the whole OperatorService (workers/search-attributes.ts lists, then adds the missing
 * ones). The Java time-skipping test server (1.38.0) implements OperatorService.AddSearchAttributes and
 * RemoveSearchAttributes, but not ListSearchAttributes (UNIMPLEMENTED), and answers ALREADY_EXISTS for a name it
 * knows. It does not accept arbitrary attributes: StartWorkflowExecution with an unregistered one is refused
 * (INVALID_ARGUMENT "search attribute AdosTenant is not defined"), and an UpsertWorkflowSearchAttributes command
 * naming one fails the workflow task (BadSearchAttributes), so registering is required there too. Its registry is
 * per server process, for every namespace. Returns the names added.
 */
export async function registerSearchAttributes(env: TestWorkflowEnvironment): Promise<string[]> {
  const operatorService = env.connection.operatorService;
  const namespace = env.namespace ?? 'default';
  try {
    return await ensureSearchAttributes(operatorService, namespace);
  } catch (error) {
    if ((error as { code?: number }).code !== GRPC_UNIMPLEMENTED) throw error;
  }
  // The test server: add each one on its own, so that one already registered does not refuse the others.
  const added: string[] = [];
  for (const key of ADOS_SEARCH_ATTRIBUTES) {
    try {
      await operatorService.addSearchAttributes({
        namespace,
        searchAttributes: { [key.name]: encodeSearchAttributeIndexedValueType(key.type) as temporal.api.enums.v1.IndexedValueType },
      });
      added.push(key.name);
    } catch (error) {
      if ((error as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw error;
    }
  }
  return added;
}

/**
 * Pins `tenantId`'s runs to the `as-planned` strategy arm and returns the id: a test that counts what runs at once
 * must not depend on the bandit picking an arm that halves the plan's parallelism.
 */
export async function keepPlannedParallelism(db: Db, tenantId: string): Promise<string> {
  await saveSettings(db, tenantId, { arms: ['as-planned'], alpha: 1, epsilon: 0 });
  return tenantId;
}

export interface StackOptions {
  env: TestWorkflowEnvironment;
  /** From bundleWorkflows(), built once per test file. */
  workflowBundle: WorkflowBundle;
  /** postgres://… or pglite:[dir]; default `pglite:` (PGlite in memory). */
  databaseUrl?: string;
  /** Default: a fresh `t<random>` per stack. */
  taskQueuePrefix?: string;
  /** Default: every capability with a handler (activities/capabilities: build, deploy, verify, analysis, ...). */
  capabilities?: string[];
  /** Capability worker identity (shows in task results as `worker`). */
  identity?: string;
  /** pino level for the capability workers' logger; default LOG_LEVEL or "warn". */
  logLevel?: string;
}

export interface StartedTestRun extends StartedRun {
  handle: WorkflowHandle;
}

export interface AdosStack {
  env: TestWorkflowEnvironment;
  client: Client;
  config: AdosConfig;
  taskQueuePrefix: string;
  db: Db;
  /** The postgres:// URL of the stack's database (the embedded server's when it is PGlite). */
  databaseUrl: string;
  /** Identity of the capability workers. */
  capabilityIdentity: string;
  /** How long each start-up step took (ms): searchAttributes, database, migrate, workers. */
  startup: Record<string, number>;
  /** Starts a delivery run through client/delivery.ts startDeliveryRun (validation, search attributes, queue). */
  startRun(input: unknown): Promise<StartedTestRun>;
  status(workflowId: string): Promise<DeliveryStatus>;
  /** Polls the status query (real time) until `until` holds; fails if the run finishes first or the time runs out. */
  waitForStatus(workflowId: string, until: (status: DeliveryStatus) => boolean, timeoutMs?: number): Promise<DeliveryStatus>;
  /** Awaits the result (on the time-skipping server this lets time skip). */
  result(workflowId: string): Promise<DeliveryResult>;
  /** Stops the workers (waiting for them to finish), closes and stops the database. Idempotent. */
  shutdown(): Promise<void>;
}

const randomSuffix = () => Math.random().toString(36).slice(2, 8);

async function openStackDatabase(url: string): Promise<{ handle: DatabaseHandle; stop: () => Promise<void> }> {
  if (!url.startsWith('pglite:')) return { handle: await openDatabase(url), stop: async () => undefined };
  // PGlite cannot load inside jest's module sandbox (its dynamic import() needs --experimental-vm-modules), so it is
  // served from a worker thread of this process; outside jest this works the same.
  const embedded = await startEmbeddedPostgresThread({ dataDir: url.slice('pglite:'.length) || undefined });
  try {
    return { handle: await openDatabase(embedded.url, { poolSize: 4 }), stop: embedded.stop };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

export async function startStack(options: StackOptions): Promise<AdosStack> {
  const { env, workflowBundle } = options;
  const namespace = env.namespace ?? 'default';
  const taskQueuePrefix = options.taskQueuePrefix ?? `t${randomSuffix()}`;
  const capabilities = options.capabilities ?? BUILT_INS.map((definition) => definition.name);
  const capabilityIdentity = options.identity ?? `cap[${capabilities.join(',')}]-${process.pid}@${hostname()}`;
  const config = loadConfig({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: namespace, ADOS_TASK_QUEUE_PREFIX: taskQueuePrefix });

  const startup: Record<string, number> = {};
  let mark = Date.now();
  const step = (name: string) => {
    startup[name] = Date.now() - mark;
    mark = Date.now();
  };
  await registerSearchAttributes(env);
  step('searchAttributes');
  const database = await openStackDatabase(options.databaseUrl ?? 'pglite:');
  const { db } = database.handle;
  step('database');

  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  const stopDatabase = async () => {
    await database.handle.close();
    await database.stop();
  };
  try {
    await migrateToLatest(db);
    step('migrate');
    workers.push(
      await createControlWorker({
        connection: env.nativeConnection,
        namespace,
        taskQueuePrefix,
        db,
        identity: `control-${process.pid}@${hostname()}`,
        workflowBundle,
        shutdownGraceTime: '2s',
      }),
      ...(await createCapabilityWorkers({
        connection: env.nativeConnection,
        namespace,
        taskQueuePrefix,
        capabilities,
        db,
        logger: createLogger('test-capability-worker', options.logLevel ?? (process.env.LOG_LEVEL || 'warn')),
        identity: capabilityIdentity,
        shutdownGraceTime: '2s',
      })),
    );
  } catch (error) {
    // Workers created but not run hold no poller; shutting them down releases their native handles.
    await Promise.allSettled(workers.map((w) => w.shutdown()));
    await stopDatabase();
    throw error;
  }
  for (const worker of workers) running.push(worker.run());
  step('workers');

  let stopped: Promise<void> | undefined;
  const shutdown = () =>
    (stopped ??= (async () => {
      for (const worker of workers) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
      const outcomes = await Promise.allSettled(running);
      await stopDatabase();
      const failures = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failures.length > 0) {
        throw new Error(`worker(s) failed: ${failures.map((f) => (f.reason as Error)?.stack ?? String(f.reason)).join('\n')}`);
      }
    })());

  const status = (workflowId: string) => env.client.workflow.getHandle(workflowId).query(deliveryStatusQuery);

  return {
    env,
    client: env.client,
    config,
    taskQueuePrefix,
    db,
    databaseUrl: database.handle.url,
    capabilityIdentity,
    startup,
    async startRun(input) {
      const started = await startDeliveryRun(env.client, config, input);
      return { ...started, handle: env.client.workflow.getHandle(started.workflowId) };
    },
    status,
    async waitForStatus(workflowId, until, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: DeliveryStatus | undefined;
      let lastError: unknown;
      for (;;) {
        try {
          last = await status(workflowId);
          if (until(last)) return last;
          if (last.stage === 'finished') throw new Error(`run finished before the awaited state: ${JSON.stringify(last)}`);
        } catch (error) {
          if ((error as Error).message?.startsWith('run finished')) throw error;
          lastError = error;
        }
        if (Date.now() > deadline) {
          throw new Error(
            `status of ${workflowId} did not reach the awaited state within ${timeoutMs} ms; last: ${
              last ? JSON.stringify(last) : String((lastError as Error)?.message ?? lastError)
            }`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    result: (workflowId) => env.client.workflow.getHandle(workflowId).result() as Promise<DeliveryResult>,
    shutdown,
  };
}

export interface TimeSkippingStack {
  env: TestWorkflowEnvironment;
  workflowBundle: WorkflowBundle;
  stack: AdosStack;
}

/**
 * The usual setup of a workflow test file: a quiet Runtime, the bundle, a time-skipping server and
 * a stack on it, torn down after the file. `onReady` receives them; `timings` collects set-up and
 * test figures, printed with `label` at the end.
 */
export function useTimeSkippingStack(label: string, onReady: (ready: TimeSkippingStack) => void): Record<string, number> {
  const timings: Record<string, number> = {};
  let ready: TimeSkippingStack | undefined;
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    installQuietRuntime();
    let t = Date.now();
    const workflowBundle = await bundleWorkflows();
    timings.bundle = Date.now() - t;
    t = Date.now();
    env = await createTimeSkippingEnv();
    timings.timeSkippingEnvStart = Date.now() - t;
    t = Date.now();
    const stack = await startStack({ env, workflowBundle });
    timings.stackStart = Date.now() - t;
    Object.assign(timings, Object.fromEntries(Object.entries(stack.startup).map(([k, v]) => [`stack.${k}`, v])));
    ready = { env, workflowBundle, stack };
    onReady(ready);
  }, 120_000);
  afterAll(async () => {
    await ready?.stack.shutdown();
    await env?.teardown();
    process.stdout.write(`[${label}] timings (ms): ${JSON.stringify(timings)}\n`);
  });
  return timings;
}
