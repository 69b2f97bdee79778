/**
 * `ados run why` against a real Temporal dev server (priority and fairness on) and the whole worker stack in this
 * process, with no worker for `build`: a run whose build tasks nobody takes (no worker, backpressure from their
 * backlog), a run awaiting approval, a run waiting for its tenant's only run slot, a finished run; and the CLI
 * itself, scoped to a tenant.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { explainRun, formatWhy, type RunWhy } from '../../client/run-why';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import { DEFAULT_BACKPRESSURE_THRESHOLDS, type BackpressureThresholds } from '../../shared/contract/tenancy/backpressure';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { createTenant } from '../../shared/node/tenancy/store';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/toolchain';

const suffix = Math.random().toString(36).slice(2, 8);
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'client', 'bin', 'ados.cjs');
/** Age thresholds no task reaches during the test: only the backlog decides. */
const CALM: BackpressureThresholds = { ...DEFAULT_BACKPRESSURE_THRESHOLDS, ageSeconds: { warning: 3600, critical: 7200, overload: 10_800 } };
/** Two waiting tasks make `critical`. */
const LOW_THRESHOLDS: BackpressureThresholds = { ...CALM, backlog: { warning: 1, critical: 2, overload: 50 } };

let env: TestWorkflowEnvironment;
let stack: AdosStack;

function plan(tenantId: string, tag: string, tasks: DeliveryRunInput['plan']['tasks'], extra: Partial<DeliveryRunInput> = {}): DeliveryRunInput {
  return {
    tenantId,
    runId: `${tag}-${suffix}`,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    maxParallel: 4,
    plan: { tasks },
    ...extra,
  };
}

const analysis = (id: string) => ({ id, capability: 'analysis', input: { series: [1, 2, 3] } });
const build = (id: string) => ({ id, capability: 'build', input: { name: id, template: '{{name}}\n' } });

/** Asks `explainRun` until `until` holds (Temporal's queue stats are cached for a few seconds). */
async function whyUntil(workflowId: string, until: (why: RunWhy) => boolean, thresholds = DEFAULT_BACKPRESSURE_THRESHOLDS, timeoutMs = 45_000): Promise<RunWhy> {
  const deadline = Date.now() + timeoutMs;
  let last: RunWhy | undefined;
  for (;;) {
    last = await explainRun(stack.client, stack.config, workflowId, { thresholds }).catch(() => undefined);
    if (last && until(last)) return last;
    if (Date.now() > deadline) throw new Error(`ados run why ${workflowId}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function ados(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: stack.taskQueuePrefix, ADOS_TENANT: '' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code as number | null) : 0;
        done({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  installQuietRuntime();
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  stack = await startStack({ env, workflowBundle: await bundleWorkflows(), capabilities: ['analysis'] });
});

afterAll(async () => {
  await stack?.shutdown();
  await env?.teardown();
});

it('a run whose build tasks nobody takes: "capability build has no worker" and the backpressure of their backlog', async () => {
  const { workflowId } = await stack.startRun(plan(`why_nw_${suffix}`, 'noworker', [build('b1'), build('b2'), analysis('a1')]));
  const queue = `${stack.taskQueuePrefix}.cap.build`;
  const why = await whyUntil(workflowId, (w) => w.backpressure?.level === 'critical', LOW_THRESHOLDS);
  expect(why.capabilities).toEqual(['build']);
  expect(why.reasons).toEqual(
    expect.arrayContaining([
      { source: 'worker', line: `capability build has no worker (task queue ${queue})` },
      { source: 'backpressure', line: expect.stringMatching(/^backpressure critical: build backlog 2, oldest \d+ s$/) },
    ]),
  );
  expect(why.backpressure).toMatchObject({ level: 'critical', queue, capability: 'build', backlog: 2 });
  // With the default backlog thresholds two waiting tasks are no backpressure: only the missing worker is a reason.
  const calm = await explainRun(stack.client, stack.config, workflowId, { thresholds: CALM });
  expect(calm.reasons.filter((r) => r.source === 'backpressure')).toEqual([]);
  expect(calm.reasons.filter((r) => r.source === 'worker')).toHaveLength(1);
  await stack.client.workflow.getHandle(workflowId).terminate('test done');
});

it('a run at the approval gate: "awaiting approval by 1 of [alice, bob]", also from the CLI (--json, tenant-scoped)', async () => {
  const tenantId = `why_ap_${suffix}`;
  const { workflowId } = await stack.startRun(
    plan(tenantId, 'approval', [analysis('a1')], { environments: ['dev', 'prod'], approval: { approvers: ['alice', 'bob'], quorum: 1, timeout: '1h' } }),
  );
  const why = await whyUntil(workflowId, (w) => w.stage === 'awaiting_approval');
  expect(why.reasons).toEqual([{ source: 'approval', line: 'awaiting approval by 1 of [alice, bob]' }]);
  expect(formatWhy(why)).toBe('awaiting approval by 1 of [alice, bob]');

  const cli = await ados(['run', 'why', workflowId, '--tenant', tenantId, '--json']);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect((JSON.parse(cli.stdout) as RunWhy).reasons).toEqual([{ source: 'approval', line: 'awaiting approval by 1 of [alice, bob]' }]);
  const text = await ados(['run', 'why', workflowId, '--tenant', tenantId]);
  expect(text.stdout.trim()).toBe('awaiting approval by 1 of [alice, bob]');
  // Another tenant's scope is refused before anything is read (exit 6).
  const other = await ados(['run', 'why', workflowId, '--tenant', `other_${suffix}`]);
  expect(other.code).toBe(6);
  expect(other.stderr).toContain(`belongs to tenant ${tenantId}, not to other_${suffix}`);
  await stack.client.workflow.getHandle(workflowId).terminate('test done');
});

it('a run waiting for its tenant\'s only run slot: "tenant … at 1/1 concurrent runs, position 1 in queue"', async () => {
  const tenantId = `why_gt_${suffix}`;
  await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'run-why test');
  const holder = await stack.startRun(plan(tenantId, 'holder', [analysis('a1')], { environments: ['dev', 'prod'], approval: { approvers: ['alice'], quorum: 1, timeout: '1h' } }));
  await stack.waitForStatus(holder.workflowId, (s) => s.stage === 'awaiting_approval', 45_000);
  const { workflowId } = await stack.startRun(plan(tenantId, 'queued', [analysis('a1')]));
  const why = await whyUntil(workflowId, (w) => w.reasons.some((r) => r.source === 'gate'));
  expect(why.reasons.filter((r) => r.source === 'gate')).toEqual([{ source: 'gate', line: `tenant ${tenantId} at 1/1 concurrent runs, position 1 in queue` }]);
  // Waiting at the gate, its queues are not looked at: it has scheduled nothing yet.
  expect(why.capabilities).toEqual([]);
  await stack.client.workflow.getHandle(holder.workflowId).terminate('test done');
  // The holder's end frees the slot: the queued run starts, runs and finishes.
  const done = await whyUntil(workflowId, (w) => w.stage === 'finished', DEFAULT_BACKPRESSURE_THRESHOLDS, 60_000);
  expect(done).toMatchObject({ outcome: 'succeeded', reasons: [] });
  expect(formatWhy(done)).toBe(`${workflowId} is finished (succeeded): it waits for nothing`);
});
