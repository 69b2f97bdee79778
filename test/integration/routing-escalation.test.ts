/**
 * Capability routing and the escalation ladder end to end, with nothing mocked: the pinned Temporal dev server,
 * workers as separate processes (`ados worker`, as deployed), the `ados` CLI as child processes, PGlite served over the
 * wire protocol.
 *
 * - Routing: two capability pools in two processes (pool A: build, demo.text; pool B: analysis, demo.text.fallback
 *   with a queue rate limit); every activity lands only on a worker that serves its queue, asserted from the worker
 *   identity recorded with each result and from Temporal's own history; `ados workers --json` shows the pollers.
 * - Agent swap across pools: demo.text fails on pool A past its retries and is rerouted to demo.text.fallback on B.
 * - No worker for a capability: the run reports "no worker polls capability noop (task queue …)" before the task's
 *   schedule-to-start timeout (status and audit), escalates when it fires, is listed by `ados pending`; once a worker
 *   for it is started, `ados resolve --action retry` finishes the run.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { PendingRun } from '../../client/common/pending';
import { getDeliveryResult, getDeliveryStatus, startDeliveryRun } from '../../client/delivery';
import type { WorkersReport } from '../../client/workers';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/toolchain';
import { eventually, sleep } from '../helpers/eventually';

const suffix = Math.random().toString(36).slice(2, 8);
const prefix = `rt-${suffix}`;
const tenantId = `route_${suffix}`;
const POOL_A = `pool-a-${suffix}`;
const POOL_B = `pool-b-${suffix}`;
const POOL_C = `pool-c-${suffix}`;
/** Short enough for the test, long enough that a loaded machine sees the report before the timeout fires. */
const SCHEDULE_TO_START_SECONDS = 15;
const QUICK_RETRY = { maximumAttempts: 2, initialIntervalSeconds: 1, backoffCoefficient: 1, maximumIntervalSeconds: 1 };


let env: TestWorkflowEnvironment;
let database: { url: string; stop(): Promise<void> } | undefined;
let handle: DatabaseHandle | undefined;
let config: AdosConfig;
let cliEnv: NodeJS.ProcessEnv;
let workerEnv: NodeJS.ProcessEnv;
const workers: Record<string, ManagedProcess> = {};
const timings: Record<string, number> = {};
const suiteStart = Date.now();

const reports = () => Object.values(workers).map((w) => w.report()).join('\n');

/** A test that prints every worker's output when it fails. */
const step = (name: string, fn: () => Promise<void>, timeoutMs = 90_000) =>
  test(
    name,
    async () => {
      const started = Date.now();
      try {
        await fn();
      } catch (error) {
        console.error(`[routing-escalation] "${name}" failed; worker output follows\n${reports()}`);
        throw error;
      } finally {
        timings[name.slice(0, 40)] = Date.now() - started;
      }
    },
    timeoutMs,
  );

async function ados<T>(args: string[]): Promise<T> {
  const cli = await runAdosCli(args, cliEnv, 60_000);
  if (cli.code !== 0) throw new Error(`ados ${args.join(' ')} exited ${cli.code}\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
  return JSON.parse(cli.stdout) as T;
}

function startWorker(name: string, args: string[]): ManagedProcess {
  workers[name] = new ManagedProcess(name, ['worker', ...args], workerEnv);
  return workers[name];
}

beforeAll(async () => {
  let t = Date.now();
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  timings['dev server'] = Date.now() - t;
  t = Date.now();
  database = await startEmbeddedPostgresThread();
  handle = await openDatabase(database.url, { poolSize: 2 });
  timings.database = Date.now() - t;
  config = loadConfig({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix });
  cliEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
  // Workers log at info: readiness is their "worker polling" line.
  workerEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: database.url, ADOS_TASK_QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', ADOS_WORKER_SHUTDOWN_GRACE: '5s' });
  t = Date.now();
  startWorker('control', ['--role', 'control']);
  startWorker('pool A', ['--capabilities', 'build,demo.text', '--identity', POOL_A]);
  startWorker('pool B', ['--capabilities', 'analysis,demo.text.fallback', '--identity', POOL_B, '--rate-limit', '50', '--max-concurrent', '4']);
  try {
    await Promise.all(Object.values(workers).map((w) => w.waitForOutput('"msg":"worker polling"', 90_000)));
  } catch (error) {
    console.error(`[routing-escalation] workers did not start\n${reports()}`);
    throw error;
  }
  timings['workers ready'] = Date.now() - t;
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(workers).map((w) => w.stop('SIGTERM', 15_000)));
  await handle?.close();
  await database?.stop();
  await env?.teardown();
  timings.total = Date.now() - suiteStart;
  process.stdout.write(`[routing-escalation] timings (ms): ${JSON.stringify(timings)}\n`);
}, 60_000);

function run(tasks: DeliveryRunInput['plan']['tasks'], tag: string): DeliveryRunInput {
  return {
    tenantId,
    runId: `${tag}-${suffix}`,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    maxParallel: 4,
    plan: { tasks },
  };
}

step('`ados workers --json` shows, per capability, the pollers Temporal sees, with pool B\'s queue rate limit', async () => {
  // Temporal lists a poller once it has polled: wait for both pools (this also keeps the routing run below from
  // racing the pools' first poll).
  const report = await eventually('both pools polling', 30_000, async () => {
    const current = await ados<WorkersReport>(['workers', '--json']);
    const byName = Object.fromEntries(current.capabilities.map((c) => [c.capability, c]));
    const ready = ['build', 'demo.text', 'analysis', 'demo.text.fallback'].every((c) => byName[c].livePollers > 0) && current.control.livePollers > 0;
    return ready ? current : undefined;
  });
  const byName = Object.fromEntries(report.capabilities.map((c) => [c.capability, c]));
  const identities = (c: string) => byName[c].pollers.filter((p) => p.live).map((p) => p.identity);
  expect(identities('build')).toEqual([POOL_A]);
  expect(identities('demo.text')).toEqual([POOL_A]);
  expect(identities('analysis')).toEqual([POOL_B]);
  expect(identities('demo.text.fallback')).toEqual([POOL_B]);
  for (const unserved of ['deploy', 'verify', 'noop']) expect({ unserved, live: byName[unserved].livePollers }).toEqual({ unserved, live: 0 });
  expect(byName['demo.text.fallback']).toMatchObject({ taskQueue: `${prefix}.cap.demo.text.fallback`, alternates: [], rateLimit: { perSecond: 50, source: 'worker' } });
  expect(byName['demo.text.fallback'].pollers[0].ratePerSecond).toBe(50);
  expect(byName['demo.text'].alternates).toEqual(['demo.text.fallback']);
  expect(byName.build.backlog).toEqual(expect.objectContaining({ approximateCount: expect.any(Number) }));
  expect(report.control).toMatchObject({ taskQueue: `${prefix}.control`, checked: true });
  // The text form says who serves nothing.
  const text = await runAdosCli(['workers', '--capabilities', 'demo.text,noop'], cliEnv);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(new RegExp(`demo.text +${prefix}\\.cap\\.demo\\.text +1 `));
  expect(text.stdout).toContain('no worker polls: noop');
});

step('routing: each task lands only on a pool that serves its capability; demo.text is swapped to its fallback on the other pool', async () => {
  const input = run(
    [
      { id: 'build-api', capability: 'build', input: { name: 'api', template: '{{name}} for {{environment}}\n' } },
      { id: 'notes', capability: 'demo.text', input: { prompt: 'Notes for {{tenant}}: faster builds', simulateOutage: ['demo.text'] }, retry: QUICK_RETRY },
      { id: 'summary', capability: 'demo.text', input: { prompt: 'Summary of {{tenant}} in {{environment}}' }, dependsOn: ['build-api'] },
      { id: 'stats', capability: 'analysis', input: { series: [3, 1, 2] } },
    ],
    'routing',
  );
  const { workflowId } = await startDeliveryRun(env.client, config, input);
  const result = await getDeliveryResult(env.client, workflowId);
  expect(result).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev'] });
  expect(result.outputs.notes).toMatchObject({ variant: 'demo.text.fallback', method: 'extractive' });
  expect(result.outputs.summary).toMatchObject({ variant: 'demo.text', method: 'seeded-words' });

  // The worker identity recorded with each result (PostgreSQL tasks rows) is the pool serving the capability that ran it.
  const rows = await handle!.db.selectFrom('tasks').select(['task_id', 'capability', 'state', 'worker']).where('workflow_id', '=', workflowId).orderBy('task_id').execute();
  expect(rows).toEqual([
    { task_id: 'build-api', capability: 'build', state: 'succeeded', worker: POOL_A },
    { task_id: 'notes', capability: 'demo.text', state: 'succeeded', worker: POOL_B },
    { task_id: 'stats', capability: 'analysis', state: 'succeeded', worker: POOL_B },
    { task_id: 'summary', capability: 'demo.text', state: 'succeeded', worker: POOL_A },
  ]);
  const status = await getDeliveryStatus(env.client, workflowId);
  expect(status.tasks.dev?.notes).toMatchObject({ variant: 'demo.text.fallback', rung: 'swap', worker: POOL_B });

  // Temporal's own record: every activity attempt was started by a worker polling that activity's queue.
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const queueOf = new Map<string, string>();
  const startedOn: Array<{ queue: string; type: string; identity: string }> = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) queueOf.set(String(event.eventId), `${scheduled.taskQueue?.name} ${scheduled.activityType?.name}`);
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const [queue, type] = queueOf.get(String(started.scheduledEventId))!.split(' ');
      startedOn.push({ queue, type, identity: started.identity ?? '' });
    }
    // Failed attempts (the outage) are reported with the failing worker's identity too.
    const failed = event.activityTaskFailedEventAttributes;
    if (failed) {
      const [queue, type] = queueOf.get(String(failed.scheduledEventId))!.split(' ');
      startedOn.push({ queue, type, identity: failed.identity ?? '' });
    }
  }
  const servedBy: Record<string, string> = {
    [`${prefix}.cap.build`]: POOL_A,
    [`${prefix}.cap.demo.text`]: POOL_A,
    [`${prefix}.cap.analysis`]: POOL_B,
    [`${prefix}.cap.demo.text.fallback`]: POOL_B,
  };
  const capabilityActivities = startedOn.filter((s) => s.queue !== `${prefix}.control`);
  expect(capabilityActivities.length).toBeGreaterThanOrEqual(6);
  for (const s of capabilityActivities) expect(s).toEqual({ ...s, identity: servedBy[s.queue] });
  expect(new Set(capabilityActivities.map((s) => s.type))).toEqual(new Set(['build', 'demo.text', 'demo.text.fallback', 'analysis']));
  // The control writes are local activities of the control worker (the one running the workflow): markers in the
  // history, never tasks on a queue a pool could take.
  expect(startedOn.filter((s) => !s.queue.startsWith(`${prefix}.cap.`))).toEqual([]);
  expect((history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length).toBeGreaterThanOrEqual(4);

  // The audit tells the swap with its reasons.
  const audit = await handle!.db
    .selectFrom('audit_log')
    .select(['event', 'detail'])
    .where('workflow_id', '=', workflowId)
    .where('event', 'like', 'escalation.%')
    .orderBy('event_key')
    .execute();
  expect(audit.map((a) => `${a.event} ${(a.detail as { step: string }).step}`)).toEqual(['escalation.retry exhausted', 'escalation.swap taken']);
  expect((audit[1].detail as { reason: string }).reason).toBe('demo.text failed; rerouting task "notes" to alternate variant demo.text.fallback');
  const unserved = await handle!.db.selectFrom('audit_log').select('event').where('workflow_id', '=', workflowId).where('event', '=', 'capability.unserved').execute();
  expect(unserved).toEqual([]);
});

step('no worker for a capability: reported before the schedule-to-start timeout, escalated when it fires; a new worker and `ados resolve --action retry` finish the run', async () => {
  const startedAt = Date.now();
  const input = run(
    [
      { id: 'ship', capability: 'noop', scheduleToStartTimeoutSeconds: SCHEDULE_TO_START_SECONDS },
      { id: 'stats', capability: 'analysis', input: { series: [1, 2, 3] } },
    ],
    'unserved',
  );
  const { workflowId } = await startDeliveryRun(env.client, config, input);
  const message = `no worker polls capability noop (task queue ${prefix}.cap.noop)`;

  // Reported while the task still waits for a worker: the status query (notice, waitingFor) and the audit.
  const early: DeliveryStatus = await eventually('the notice', SCHEDULE_TO_START_SECONDS * 1000, async () => {
    const status = await getDeliveryStatus(env.client, workflowId);
    return status.notices?.length ? status : undefined;
  });
  timings['notice after (ms)'] = Date.now() - startedAt;
  expect(Date.now() - startedAt).toBeLessThan(SCHEDULE_TO_START_SECONDS * 1000);
  expect(early.escalations).toBeUndefined();
  expect(early.notices).toEqual([message]);
  expect(early.waitingFor).toBe(`a worker: ${message}`);
  expect(early.tasks.dev?.ship).toMatchObject({ state: 'running', notice: message });
  const firstReport = await eventually('the audit entry', 10_000, async () => {
    const rows = await handle!.db.selectFrom('audit_log').select('detail').where('workflow_id', '=', workflowId).where('event', '=', 'capability.unserved').execute();
    return rows.length > 0 ? rows[0].detail : undefined;
  });
  expect(firstReport).toMatchObject({ environment: 'dev', capability: 'noop', taskQueue: `${prefix}.cap.noop`, when: 'before scheduling', message, pollers: [] });

  // The timeout fires: the queue is checked again and the ladder runs (no alternate, lower parallelism cannot help).
  const escalated = await eventually('the human rung', (SCHEDULE_TO_START_SECONDS + 30) * 1000, async () => {
    const status = await getDeliveryStatus(env.client, workflowId);
    if (status.stage === 'finished') throw new Error(`finished early: ${JSON.stringify(status)}`);
    return status.escalations?.length ? status : undefined;
  }, 500);
  const steps = escalated.escalations![0].steps.map((s) => [s.rung, s.step, s.reason]);
  expect(steps).toEqual([
    ['retry', 'exhausted', `${message} (the task was not started within ${SCHEDULE_TO_START_SECONDS}s)`],
    ['swap', 'skipped', 'capability noop has no alternate variant in the registry'],
    ['mutate', 'skipped', `lower parallelism cannot help: ${message} (the task was not started within ${SCHEDULE_TO_START_SECONDS}s)`],
    ['human', 'taken', `${message} (the task was not started within ${SCHEDULE_TO_START_SECONDS}s)`],
  ]);
  expect(escalated.tasks.dev?.stats).toMatchObject({ state: 'succeeded', worker: POOL_B });
  const reports = await handle!.db.selectFrom('audit_log').select('detail').where('workflow_id', '=', workflowId).where('event', '=', 'capability.unserved').orderBy('event_key').execute();
  expect(reports.map((r) => (r.detail as { when: string }).when)).toEqual(['before scheduling', 'schedule-to-start timeout']);

  // `ados pending` lists the escalated run (AdosAwaitingApproval), with what it waits for.
  const listed = await eventually('listed by ados pending', 20_000, async () => {
    const pending = await ados<PendingRun[]>(['pending', '--tenant', tenantId, '--json']);
    return pending.find((p) => p.workflowId === workflowId);
  }, 500);
  expect(listed).toMatchObject({ workflowId, kind: 'delivery', escalatedTasks: ['ship'] });
  expect(listed.waitingFor).toContain(`ados resolve ${workflowId} --task ship --action retry|skip|abort --as <user>`);

  // A resolution for a task that is not escalated is refused at once: exit 4, the reason on stderr.
  const refused = await runAdosCli(['resolve', workflowId, '--task', 'stats', '--action', 'skip', '--as', 'alice', '--tenant', tenantId], cliEnv);
  expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 4, stdout: '' });
  expect(refused.stderr).toContain('task "stats" does not await a resolution; awaiting: ship (dev)');

  // Someone starts a worker for noop, then asks for a retry.
  const poolC = startWorker('pool C', ['--capabilities', 'noop', '--identity', POOL_C]);
  await poolC.waitForOutput('"msg":"worker polling"', 90_000);
  const resolved = await ados<Record<string, string>>(['resolve', workflowId, '--task', 'ship', '--action', 'retry', '--as', 'alice', '--comment', 'noop pool is up', '--tenant', tenantId, '--json']);
  expect(resolved).toEqual({ workflowId, environment: 'dev', taskId: 'ship', action: 'retry', by: 'alice' });

  const result = await getDeliveryResult(env.client, workflowId);
  expect(result).toMatchObject({ outcome: 'succeeded', outputs: { ship: { ok: true } } });
  const done = await getDeliveryStatus(env.client, workflowId);
  expect(done.notices).toBeUndefined();
  expect(done.tasks.dev?.ship).toMatchObject({ state: 'succeeded', worker: POOL_C });
  const resolution = await handle!.db.selectFrom('audit_log').select('detail').where('workflow_id', '=', workflowId).where('event', '=', 'escalation.resolved').execute();
  expect(resolution.map((r) => r.detail)).toEqual([expect.objectContaining({ taskId: 'ship', action: 'retry', by: 'alice', comment: 'noop pool is up', via: 'update' })]);
  // No longer waiting for a human.
  const after = await ados<PendingRun[]>(['pending', '--tenant', tenantId, '--json']);
  expect(after.find((p) => p.workflowId === workflowId)).toBeUndefined();
}, 180_000);

step('the worker processes shut down gracefully on SIGTERM (exit code 0)', async () => {
  const stopped = await Promise.all(Object.entries(workers).map(async ([name, w]) => ({ name, ...(await w.stop('SIGTERM', 40_000)) })));
  expect(stopped).toEqual(Object.keys(workers).map((name) => ({ name, code: 0, signal: null, timedOut: false })));
});
