/**
 * A plugin capability end to end, nothing mocked: the Temporal dev server, PostgreSQL (PGlite over the wire
 * protocol), and `ados worker --capability-module examples/plugin/src/index.ts` as a process beside the control
 * worker. The worker refuses modules it cannot serve (exit 2, the flag named) before connecting; once running it has
 * registered the plugin, `ados capabilities` lists it with that worker, the client refuses a plan whose task input
 * breaks the plugin's schema (exit 2, the JSON path), and a plan using it runs to success, its cost recorded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { CapabilitiesReport } from '../../client/capabilities';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/toolchain';

const PLUGIN = 'examples/plugin/src/index.ts';
const suffix = () => Math.random().toString(36).slice(2, 8);
const prefix = `it-plugin-${suffix()}`;
const tenantId = `plugin_${suffix()}`;
const identity = `plugin-worker-${suffix()}`;

let env: TestWorkflowEnvironment;
let database: { url: string; stop(): Promise<void> };
let handle: DatabaseHandle;
let planDir: string;
let workerEnv: NodeJS.ProcessEnv;
let cliEnv: NodeJS.ProcessEnv;
const workers: ManagedProcess[] = [];

/** A dev-only plan of one word-count task with this input, written to a file for `ados run start`. */
function planFile(name: string, input: Record<string, unknown>): string {
  const file = path.join(planDir, `${name}.json`);
  const plan = {
    tenantId,
    runId: `${name}-${suffix()}`,
    requestedBy: 'carol',
    goal: { type: 'analyze', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    plan: { tasks: [{ id: 'count', capability: 'example.word-count', input }] },
  };
  fs.writeFileSync(file, JSON.stringify(plan));
  return file;
}

beforeAll(async () => {
  planDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-plugin-it-'));
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  database = await startEmbeddedPostgresThread();
  handle = await openDatabase(database.url, { poolSize: 2 });
  const common = { TEMPORAL_ADDRESS: env.address, DATABASE_URL: database.url, ADOS_TASK_QUEUE_PREFIX: prefix };
  workerEnv = cleanEnv({ ...common, LOG_LEVEL: 'info', ADOS_WORKER_SHUTDOWN_GRACE: '5s', ADOS_WORKSPACE_DIR: path.join(planDir, 'workspaces') });
  cliEnv = cleanEnv({ ...common, LOG_LEVEL: 'warn' });
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGKILL', 5_000)));
  await handle?.close();
  await database?.stop();
  await env?.teardown();
  fs.rmSync(planDir, { recursive: true, force: true });
}, 60_000);

describe('ados worker refuses capability modules it cannot serve, naming the flag (exit 2)', () => {
  test.each([
    ['a missing file', 'examples/plugin/src/missing.ts', /--capability-module: examples\/plugin\/src\/missing\.ts: no such file/],
    ['a module exporting no definition', 'test/fixtures/plugins/not-a-capability.ts', /--capability-module: .*not-a-capability\.ts: exports no capability definition/],
    ['a name clashing with a built-in', 'test/fixtures/plugins/clashing-build.ts', /--capability-module: .*clashing-build\.ts: capability "build" is built into ADOS/],
  ])('%s', async (_case, module, message) => {
    const cli = await runAdosCli(['worker', '--capability-module', module], workerEnv);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
  });

  test('ADOS_CAPABILITY_MODULES is named when a module it lists is missing', async () => {
    const cli = await runAdosCli(['worker'], { ...workerEnv, ADOS_CAPABILITY_MODULES: 'nowhere/caps.ts' });
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/ADOS_CAPABILITY_MODULES: nowhere\/caps\.ts: no such file/) });
  });
});

describe('a worker serving the example plugin', () => {
  beforeAll(async () => {
    workers.push(
      new ManagedProcess('worker --role control', ['worker', '--role', 'control'], workerEnv),
      new ManagedProcess('worker --capability-module', ['worker', '--capability-module', PLUGIN, '--identity', identity], workerEnv),
    );
    await Promise.all(workers.map((w) => w.waitForOutput('"msg":"worker polling"', 60_000)));
    // Written once the control worker has migrated the database.
    await workers[1].waitForOutput('"msg":"capabilities registered"', 30_000);
  }, 90_000);

  test('`ados capabilities --json` lists the plugin with the worker that registered it, and its input schema', async () => {
    const cli = await runAdosCli(['capabilities', '--json'], cliEnv);
    expect(cli).toMatchObject({ code: 0 });
    const report = JSON.parse(cli.stdout) as CapabilitiesReport;
    expect(report.registrationsRead).toBe(true);
    const plugin = report.capabilities.find((c) => c.name === 'example.word-count');
    expect(plugin).toMatchObject({
      builtIn: false,
      description: 'Counts the words of input.text and names the most frequent ones',
      taskQueue: `${prefix}.cap.example.word-count`,
      servedBy: [{ worker: identity, version: '1.0.0', source: PLUGIN, stale: false }],
    });
    expect(plugin!.inputSchema).toMatchObject({ type: 'object', required: ['text'], properties: { text: { type: 'string', minLength: 1 } } });
    expect(report.capabilities.find((c) => c.name === 'build')).toMatchObject({ builtIn: true, servedBy: [] });
  });

  test('without DATABASE_URL it lists the built-ins and says registrations need it', async () => {
    const { DATABASE_URL: _unset, ...withoutDatabase } = cliEnv;
    const cli = await runAdosCli(['capabilities'], withoutDatabase);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^build {2}\(built-in, queue /m);
    expect(cli.stdout).not.toContain('example.word-count');
    expect(cli.stdout).toContain('note: registrations not read: set DATABASE_URL');
    const run = await runAdosCli(['run', 'start', '--file', planFile('no-db', { text: 'a b' })], withoutDatabase);
    expect({ code: run.code, stderr: run.stderr }).toEqual({
      code: 2,
      stderr: expect.stringContaining(`plan.tasks[0].capability: unknown capability "example.word-count"; known: build, `),
    });
    expect(run.stderr).toContain("plugin capabilities are known from their workers' registrations: set DATABASE_URL");
  });

  test('a plan whose task input breaks the plugin schema is refused before it starts, with the JSON path', async () => {
    const cli = await runAdosCli(['run', 'start', '--file', planFile('bad-input', { text: 42, top: 0 })], cliEnv);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/plan\.tasks\[0\]\.input\.text: .*expected string.* \(capability example\.word-count\)/);
    expect(cli.stderr).toMatch(/plan\.tasks\[0\]\.input\.top: .*>=1.* \(capability example\.word-count\)/);
    const started = await handle.db.selectFrom('runs').select('workflow_id').where('tenant_id', '=', tenantId).execute();
    expect(started).toEqual([]);
  });

  test('a plan using the plugin runs to success on the plugin worker, and its reported cost is recorded', async () => {
    const cli = await runAdosCli(['run', 'start', '--file', planFile('good', { text: 'to be or not to be', top: 2 }), '--wait', '--json'], cliEnv, 60_000);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({ code: 0, stderr: '' });
    // With --wait, the start is announced as text and the result follows as JSON.
    expect(cli.stdout).toMatch(/^started delivery-/);
    const result = JSON.parse(cli.stdout.slice(cli.stdout.indexOf('\n{') + 1)) as DeliveryResult;
    expect(result).toMatchObject({
      outcome: 'succeeded',
      completedEnvironments: ['dev'],
      outputs: { count: { words: 6, distinct: 4, top: [{ word: 'to', count: 2 }, { word: 'be', count: 2 }] } },
    });
    const tasks = await handle.db.selectFrom('tasks').select(['task_id', 'state', 'worker']).where('workflow_id', '=', result.workflowId).execute();
    expect(tasks).toEqual([{ task_id: 'count', state: 'succeeded', worker: identity }]);
    const costs = await handle.db.selectFrom('task_costs').select(['task_id', 'capability', 'amount', 'unit']).where('workflow_id', '=', result.workflowId).execute();
    expect(costs).toEqual([{ task_id: 'count', capability: 'example.word-count', amount: 6, unit: 'words' }]);
  }, 90_000);

  test('the workers stop cleanly on SIGTERM', async () => {
    const stopped = await Promise.all(workers.map((w) => w.stop('SIGTERM', 30_000)));
    expect(stopped.map((s) => ({ code: s.code, timedOut: s.timedOut }))).toEqual(workers.map(() => ({ code: 0, timedOut: false })));
  }, 60_000);
});
