/**
 * Backpressure at admission against a real Temporal dev server: a backlog on a capability queue nobody serves
 * (the stack has no `build` worker), read through DescribeTaskQueue by admission (client side) and by the control
 * activity the tenant gate calls. At overload a new run is refused with the queue, its backlog, its age and a
 * retry-after, audited, and `ados run start` exits 6; below it the run is admitted with the reading.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createBackpressureActivities } from '../../activities/tenancy/backpressure';
import { exitCodeFor } from '../../client/exit-codes';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import { DEFAULT_BACKPRESSURE_THRESHOLDS, type BackpressureThresholds } from '../../shared/contract/tenancy/backpressure';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { EXIT } from '../../shared/node/command-line';
import { createLogger } from '../../shared/node/logger';
import { admitRun, BackpressureRefusedError, type AdmissionOptions } from '../../shared/node/tenancy/admission';
import { createTenant, tenantEvents } from '../../shared/node/tenancy/store';
import { bundleWorkflows, installQuietRuntime, keepPlannedParallelism, startStack, type AdosStack } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/toolchain';

const suffix = Math.random().toString(36).slice(2, 8);
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'client', 'bin', 'ados.cjs');
/** Age thresholds no task reaches during the test: only the backlog decides. */
const SLOW_AGES = { warning: 3600, critical: 7200, overload: 10_800 };
const CALM: BackpressureThresholds = { ...DEFAULT_BACKPRESSURE_THRESHOLDS, ageSeconds: SLOW_AGES };
/** Three waiting tasks are an overload. */
const OVERLOAD_AT_3: BackpressureThresholds = { ...CALM, backlog: { warning: 1, critical: 2, overload: 3 } };

let env: TestWorkflowEnvironment;
let stack: AdosStack;
let dir: string;

function plan(tenantId: string, tag: string, tasks: DeliveryRunInput['plan']['tasks']): DeliveryRunInput {
  return { tenantId, runId: `${tag}-${suffix}`, requestedBy: 'carol', goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 }, environments: ['dev'], maxParallel: 4, plan: { tasks } };
}
const build = (id: string) => ({ id, capability: 'build', input: { name: id, template: '{{name}}\n' } });

function admission(thresholds: BackpressureThresholds): AdmissionOptions {
  return {
    db: stack.db,
    logger: createLogger('backpressure-test', 'silent'),
    requireTenants: false,
    backpressure: { temporal: { workflowService: stack.client.workflowService, namespace: 'default' }, taskQueuePrefix: stack.taskQueuePrefix, thresholds },
  };
}

const request = (tenantId: string, tag: string) => ({ tenantId, kind: 'delivery', workflowId: `delivery-${tenantId}-${tag}`, maxCost: 1, requestedBy: 'carol', capabilities: ['build', 'analysis'] });

/** Waits until Temporal's (cached) stats count `count` tasks waiting on the build queue. */
async function buildBacklog(count: number): Promise<void> {
  const read = createBackpressureActivities({ workflowService: stack.client.workflowService, namespace: 'default' }, OVERLOAD_AT_3).readBackpressure;
  const deadline = Date.now() + 45_000;
  for (;;) {
    const reading = await read({ taskQueuePrefix: stack.taskQueuePrefix, capabilities: ['build'] });
    if (reading.backlog >= count) return;
    if (Date.now() > deadline) throw new Error(`build backlog: ${JSON.stringify(reading)}, ${count} tasks expected`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  installQuietRuntime();
  dir = mkdtempSync(join(tmpdir(), 'ados-backpressure-'));
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  stack = await startStack({ env, workflowBundle: await bundleWorkflows(), capabilities: ['analysis'] });
  // The flood's tenant may run three build tasks at once (the default per-agent quota is 2).
  await createTenant(stack.db, `bp_flood_${suffix}`, { limits: { maxConcurrentTasksPerAgent: 3 } }, 'backpressure test');
  // Its runs keep the plan's parallelism: a strategy arm that halves it would leave only two build tasks waiting.
  await keepPlannedParallelism(stack.db, `bp_flood_${suffix}`);
  await stack.startRun(plan(`bp_flood_${suffix}`, 'flood', [build('b1'), build('b2'), build('b3')]));
  await buildBacklog(3);
});

afterAll(async () => {
  await stack?.shutdown();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the control activity reads the level of the queues a run needs; with no Temporal it says it did not check', async () => {
  const reading = await createBackpressureActivities({ workflowService: stack.client.workflowService, namespace: 'default' }, OVERLOAD_AT_3).readBackpressure({
    taskQueuePrefix: stack.taskQueuePrefix,
    capabilities: ['analysis', 'build', 'build'],
  });
  expect(reading).toMatchObject({ level: 'overload', queue: `${stack.taskQueuePrefix}.cap.build`, capability: 'build', backlog: 3 });
  expect(reading.retryAfterSeconds).toBe(DEFAULT_BACKPRESSURE_THRESHOLDS.retryAfterSeconds);
  const unchecked = await createBackpressureActivities(undefined, OVERLOAD_AT_3).readBackpressure({ taskQueuePrefix: stack.taskQueuePrefix, capabilities: ['build'] });
  expect(unchecked).toMatchObject({ level: 'normal', reason: expect.stringContaining('not checked') });
});

it('at overload admission refuses with the queue, backlog, age and retry-after, audited; exit 6', async () => {
  const tenantId = `bp_refused_${suffix}`;
  const refused = await admitRun(admission(OVERLOAD_AT_3), request(tenantId, 'r1')).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BackpressureRefusedError);
  const error = refused as BackpressureRefusedError;
  expect(error.message).toMatch(
    new RegExp(`^backpressure overload on task queue ${stack.taskQueuePrefix}\\.cap\\.build \\(capability build\\): backlog 3, oldest task waiting \\d+ s; new runs of tenant ${tenantId} are refused until it drains: retry after 60 s$`),
  );
  expect(error.retryAfterSeconds).toBe(60);
  expect(exitCodeFor(error)).toBe(EXIT.tenantRefused);
  const events = await tenantEvents(stack.db, tenantId, { events: ['admission.refused'] });
  expect(events.map((e) => (e.detail as { reason: string }).reason)).toEqual([error.message]);
});

it('below overload the run is admitted, with the reading', async () => {
  const admitted = await admitRun(admission(CALM), request(`bp_ok_${suffix}`, 'r1'));
  expect(admitted.backpressure).toMatchObject({ level: 'normal', backlog: 3 });
  const critical = await admitRun(admission({ ...OVERLOAD_AT_3, backlog: { warning: 1, critical: 2, overload: 4 } }), request(`bp_ok_${suffix}`, 'r2'));
  expect(critical.backpressure).toMatchObject({ level: 'critical', reason: expect.stringMatching(/^backpressure critical: build backlog 3, oldest \d+ s$/) });
});

it('`ados run start` at overload: exit 6 and the refusal on stderr; nothing started', async () => {
  const tenantId = `bp_cli_${suffix}`;
  const file = join(dir, 'plan.json');
  writeFileSync(file, JSON.stringify(plan(tenantId, 'cli', [build('b1')])));
  const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [BIN, 'run', 'start', '--file', file],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: { ...process.env, TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: stack.taskQueuePrefix, DATABASE_URL: stack.databaseUrl, ADOS_TENANT: '', ADOS_BACKPRESSURE_BACKLOG: '1,2,3', ADOS_BACKPRESSURE_AGE_SECONDS: '3600,7200,10800' },
      },
      (error, _stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
  expect(result.code).toBe(EXIT.tenantRefused);
  expect(result.stderr).toContain(`ados: backpressure overload on task queue ${stack.taskQueuePrefix}.cap.build (capability build): backlog 3`);
  expect(result.stderr).toContain('retry after 60 s');
  const started = await stack.client.workflow.getHandle(`delivery-${tenantId}-cli-${suffix}`).describe().catch((e: Error) => e.name);
  expect(started).toBe('WorkflowNotFoundError');
});
