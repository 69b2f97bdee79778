/**
 * A delivery run end to end with nothing mocked: the pinned Temporal dev server, workers as separate
 * processes (`ados worker`, exactly as deployed), the typed client API and the `ados` CLI as child
 * processes, and PostgreSQL, once as a real server and once as PGlite served over the wire protocol.
 *
 * One dev server serves both cases; each case has its own database, task queue prefix and tenant,
 * so the cases cannot see each other's work.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decide } from '../../client/common/approval';
import type { PendingRun } from '../../client/common/pending';
import { DecisionRefusedError } from '../../client/common/run-errors';
import { getDeliveryResult, getDeliveryStatus, startDeliveryRun } from '../../client/delivery';
import { readInputFile } from '../../client/plan-file';
import type { ApprovalGateSnapshot } from '../../shared/contract/approval';
import type { DeliveryResult, DeliveryStatus } from '../../shared/contract/delivery/status';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { loadConfig, type AdosConfig } from '../../shared/node/config';
import { openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { startPostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli } from '../helpers/processes';
import { createDevServerEnv, PROJECT_ROOT } from '../helpers/toolchain';
import { eventually, sleep } from '../helpers/eventually';

const ENVIRONMENTS = ['dev', 'stage', 'prod'] as const;
const TASKS = [
  { id: 'build-api', capability: 'build' },
  { id: 'deploy-api', capability: 'deploy' },
  { id: 'verify-api', capability: 'verify' },
  { id: 'latency-report', capability: 'analysis' },
] as const;
const REQUESTER = 'carol';

const suffix = () => Math.random().toString(36).slice(2, 8);


// ---------------------------------------------------------------------------------------------
// Shared by both cases: the dev server (with the ADOS search attributes) and a loopback health endpoint.

let env: TestWorkflowEnvironment;
let healthServer: http.Server;
let healthBase: string;
const healthHits: string[] = [];

beforeAll(async () => {
  healthServer = http.createServer((req, res) => {
    healthHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => healthServer.listen(0, '127.0.0.1', resolve));
  healthBase = `http://127.0.0.1:${(healthServer.address() as AddressInfo).port}/health`;
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
}, 60_000);

afterAll(async () => {
  await env?.teardown();
  await new Promise((resolve) => healthServer?.close(resolve));
});

// ---------------------------------------------------------------------------------------------

interface Scenario {
  name: string;
  tag: string;
  /** Starts a database; returns the postgres:// URL child processes connect to, and how to stop it. */
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'a real PostgreSQL server',
    tag: 'pg',
    start: async () => {
      const server = await startPostgresServer({ database: 'ados_it' });
      return { url: server.url, stop: () => server.stop() };
    },
  },
  {
    name: 'PGlite served over the wire protocol',
    tag: 'pglite',
    // startEmbeddedPostgres, served by this (test) process on a worker thread (PGlite cannot load inside jest's
    // module sandbox); the worker processes reach it with a postgres:// URL.
    start: () => startEmbeddedPostgresThread(),
  },
];

describe.each(SCENARIOS)('delivery run end to end, workers as processes, on $name', (scenario) => {
  const prefix = `it-${scenario.tag}-${suffix()}`;
  const tenantId = `acme_${scenario.tag}_${suffix()}`;
  const runId = `it-${suffix()}`;
  const workflowId = `delivery-${tenantId}-${runId}`;

  let database: { url: string; stop(): Promise<void> } | undefined;
  let handle: DatabaseHandle | undefined;
  let config: AdosConfig;
  let healthUrl: string;
  let cliEnv: NodeJS.ProcessEnv;
  const workers: Record<'control' | 'buildDeploy' | 'verifyAnalysis', ManagedProcess | undefined> = {
    control: undefined,
    buildDeploy: undefined,
    verifyAnalysis: undefined,
  };
  const timings: Record<string, number> = {};
  let caseStart = 0;

  const reports = () => Object.values(workers).filter((w): w is ManagedProcess => !!w).map((w) => w.report()).join('\n');
  /** Runs a step; on failure prints every worker's output before failing. */
  const step = (name: string, fn: () => Promise<void>, timeoutMs = 60_000) =>
    test(
      name,
      async () => {
        const started = Date.now();
        try {
          await fn();
        } catch (error) {
          console.error(`[${scenario.tag}] step "${name}" failed; worker output follows\n${reports()}`);
          throw error;
        } finally {
          timings[name] = Date.now() - started;
        }
      },
      timeoutMs,
    );

  beforeAll(async () => {
    const started = Date.now();
    caseStart = started;
    database = await scenario.start();
    timings['database start'] = Date.now() - started;
    handle = await openDatabase(database.url, { poolSize: 2 });
    healthUrl = `${healthBase}/${scenario.tag}`;
    config = loadConfig({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix });
    cliEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' });
    // Workers run at info: readiness is their "worker polling" line, which LOG_LEVEL=warn would hide.
    const workerEnv = cleanEnv({
      TEMPORAL_ADDRESS: env.address,
      DATABASE_URL: database.url,
      ADOS_TASK_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ADOS_WORKER_SHUTDOWN_GRACE: '10s',
    });
    const spawnStarted = Date.now();
    workers.control = new ManagedProcess(`${scenario.tag} worker --role control`, ['worker', '--role', 'control'], workerEnv);
    workers.buildDeploy = new ManagedProcess(`${scenario.tag} worker build,deploy`, ['worker', '--capabilities', 'build,deploy'], workerEnv);
    workers.verifyAnalysis = new ManagedProcess(`${scenario.tag} worker verify,analysis`, ['worker', '--capabilities', 'verify,analysis'], workerEnv);
    try {
      await Promise.all(Object.values(workers).map((w) => w!.waitForOutput('"msg":"worker polling"', 60_000)));
    } catch (error) {
      console.error(`[${scenario.tag}] workers did not start\n${reports()}`);
      throw error;
    }
    timings['workers ready'] = Date.now() - spawnStarted;
    // The control worker has migrated the schema. Make the write of approval.requested slow, so that the moment
    // between "the run says it awaits approval" and "the gate takes decisions" would be wide open if there were one.
    await sql`
      CREATE FUNCTION it_slow_approval_requested() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_sleep(1);
        RETURN NEW;
      END
      $$`.execute(handle.db);
    await sql`
      CREATE TRIGGER it_slow_approval_requested BEFORE INSERT ON audit_log
      FOR EACH ROW WHEN (NEW.event = 'approval.requested') EXECUTE FUNCTION it_slow_approval_requested()`.execute(handle.db);
  }, 120_000);

  afterAll(async () => {
    // Normally stopped (and checked) by the last step; this only cleans up after a failure.
    await Promise.all(Object.values(workers).map((w) => w?.stop('SIGKILL', 5_000)));
    await handle?.close();
    await database?.stop();
    timings['case total'] = Date.now() - caseStart;
    process.stdout.write(`[delivery-run ${scenario.tag}] timings (ms): ${JSON.stringify(timings)}\n`);
  }, 60_000);

  step('starts a run with the typed client and reaches the approval gate after dev and stage', async () => {
    const plan = readInputFile(path.join(PROJECT_ROOT, 'test', 'fixtures', 'plans', 'template-plan.yaml')) as {
      approval: { approvers: string[] };
      plan: { tasks: { id: string; input?: Record<string, unknown> }[] };
    };
    // The requester is a listed approver too, so that refusing their own approval is the requester rule at work.
    plan.approval.approvers = [...plan.approval.approvers, REQUESTER];
    const verifyTask = plan.plan.tasks.find((t) => t.id === 'verify-api')!;
    verifyTask.input = { ...verifyTask.input, healthUrl };
    const started = await startDeliveryRun(env.client, config, { ...plan, tenantId, runId, requestedBy: REQUESTER });
    expect(started.workflowId).toBe(workflowId);

    const status: DeliveryStatus = await eventually('stage awaiting_approval', 45_000, async () => {
      const current = await getDeliveryStatus(env.client, workflowId);
      if (current.stage === 'finished') throw new Error(`run finished early: ${JSON.stringify(current)}`);
      return current.stage === 'awaiting_approval' ? current : undefined;
    });
    expect(status.completedEnvironments).toEqual(['dev', 'stage']);
    expect(status.waitingFor).toMatch(/^approval by 1 of alice, bob, carol/);
    for (const environment of ['dev', 'stage'] as const) {
      for (const task of TASKS) expect(status.tasks[environment]?.[task.id]).toMatchObject({ state: 'succeeded', capability: task.capability });
    }
    expect(status.tasks.prod).toBeUndefined();

    // Once the run says it awaits approval, the request is audited and the gate judges decisions on their merits
    // (here: the requester cannot approve), never "approval has not been requested yet".
    const requested = await handle!.db
      .selectFrom('audit_log')
      .select('event_key')
      .where('workflow_id', '=', workflowId)
      .where('event', '=', 'approval.requested')
      .execute();
    expect(requested).toHaveLength(1);
    await expect(decide(env.client, workflowId, { decision: 'approve', approver: REQUESTER })).rejects.toThrow(
      new DecisionRefusedError(`"${REQUESTER}" requested this run and cannot approve it`),
    );
  });

  step('`ados pending --json` lists the run waiting for approval', async () => {
    const listed = await eventually('run listed by ados pending', 15_000, async () => {
      const cli = await runAdosCli(['pending', '--tenant', tenantId, '--json'], cliEnv);
      if (cli.code !== 0) throw new Error(`ados pending exited ${cli.code}: ${cli.stderr}`);
      const pending = JSON.parse(cli.stdout) as PendingRun[];
      return pending.find((p) => p.workflowId === workflowId);
    }, 500);
    expect(listed).toMatchObject({ workflowId, tenantId, kind: 'delivery', stage: 'awaiting_approval' });
    expect(listed.webUrl).toContain(encodeURIComponent(workflowId));
  });

  step('the requester approving with the CLI is refused: exit 4, the reason on stderr', async () => {
    const cli = await runAdosCli(['approve', workflowId, '--as', REQUESTER, '--comment', 'mine', '--tenant', tenantId, '--json'], cliEnv);
    expect({ code: cli.code, stdout: cli.stdout }).toEqual({ code: 4, stdout: '' });
    expect(cli.stderr).toContain(`"${REQUESTER}" requested this run and cannot approve it`);
  });

  step('alice approves with the CLI (exit 0) and the run finishes in prod', async () => {
    const cli = await runAdosCli(['approve', workflowId, '--as', 'alice', '--comment', 'ok', '--tenant', tenantId, '--json'], cliEnv);
    if (cli.code !== 0) throw new Error(`ados approve exited ${cli.code}\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
    const snapshot = JSON.parse(cli.stdout) as ApprovalGateSnapshot;
    expect(snapshot).toMatchObject({ gate: 'prod', requestedBy: REQUESTER, approvedBy: ['alice'], outcome: 'approved' });
    expect(snapshot.decisions).toEqual([{ decision: 'approve', approver: 'alice', comment: 'ok', counted: true, via: 'update' }]);

    const result: DeliveryResult = await getDeliveryResult(env.client, workflowId);
    expect(result).toMatchObject({ workflowId, outcome: 'succeeded', completedEnvironments: ['dev', 'stage', 'prod'] });
    expect(result.reason).toBeUndefined();
    expect(result.outputs['verify-api']).toMatchObject({ environment: 'prod', health: { url: healthUrl, status: 200 } });
    expect(result.outputs['latency-report']).toMatchObject({ count: 10, outliers: [6] });
  });

  step('PostgreSQL holds the releases, the audit trail, the task routing and the approval', async () => {
    const db = handle!.db;
    const buildWorker = `cap[build,deploy]-${workers.buildDeploy!.pid}@${hostname()}`;
    const verifyWorker = `cap[verify,analysis]-${workers.verifyAnalysis!.pid}@${hostname()}`;

    // Releases: one per environment, with the sha256 the build produced there.
    const releases = await db.selectFrom('releases').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
    expect(releases.map((r) => r.environment)).toEqual([...ENVIRONMENTS]);
    const tasks = await db.selectFrom('tasks').selectAll().where('workflow_id', '=', workflowId).execute();
    for (const release of releases) {
      const content = `service api v1.4.2 for ${tenantId} in ${release.environment}\n`;
      const sha256 = createHash('sha256').update(content).digest('hex');
      const build = tasks.find((t) => t.environment === release.environment && t.task_id === 'build-api');
      expect(build?.output).toMatchObject({ artifact: `api@${release.environment}`, sha256, content });
      expect(release).toMatchObject({ tenant_id: tenantId, artifact: `api@${release.environment}`, artifact_sha256: sha256, released_by: 'deploy-api' });
    }

    // Tasks: every task in every environment succeeded, on the worker that serves its capability.
    expect(tasks).toHaveLength(ENVIRONMENTS.length * TASKS.length);
    for (const environment of ENVIRONMENTS) {
      for (const task of TASKS) {
        const row = tasks.find((t) => t.environment === environment && t.task_id === task.id);
        const worker = task.capability === 'build' || task.capability === 'deploy' ? buildWorker : verifyWorker;
        expect({ environment, ...row }).toMatchObject({ environment, capability: task.capability, state: 'succeeded', worker, attempt: 1, error: null });
      }
    }

    // The run.
    const run = await db.selectFrom('runs').selectAll().where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ tenant_id: tenantId, run_id: runId, kind: 'delivery', requested_by: REQUESTER, status: 'succeeded' });
    expect(run.result).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev', 'stage', 'prod'] });

    // Approvals: alice's counted decision only (the refused update was refused by its validator, never recorded).
    const approvals = await db.selectFrom('approvals').selectAll().where('workflow_id', '=', workflowId).execute();
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ gate: 'prod', seq: 0, approver: 'alice', decision: 'approve', comment: 'ok', counted: true, reason: null, via: 'update' });

    // Audit log: every step once, keyed by a gap-free sequence.
    const audit = await db.selectFrom('audit_log').selectAll().where('workflow_id', '=', workflowId).execute();
    const entries = audit
      .map((row) => {
        const match = /^(\d{5}):(.+)$/.exec(row.event_key);
        expect(match?.[2]).toBe(row.event);
        expect(row.tenant_id).toBe(tenantId);
        return { seq: Number(match?.[1]), event: row.event, detail: row.detail as Record<string, unknown> };
      })
      .sort((a, b) => a.seq - b.seq);
    expect(new Set(audit.map((row) => row.event_key)).size).toBe(audit.length);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));

    const describeEntry = (e: (typeof entries)[number]) =>
      [e.event, e.detail.environment ?? '', e.detail.taskId ?? ''].filter((part) => part !== '').join(' ');
    const expected = [
      'run.started',
      'strategy.selected',
      ...ENVIRONMENTS.flatMap((environment) => [
        ...TASKS.flatMap((task) => [`task.running ${environment} ${task.id}`, `task.succeeded ${environment} ${task.id}`]),
        `environment.promoted ${environment}`,
      ]),
      'approval.requested',
      'approval.granted',
      'run.finished',
    ];
    expect(entries.map(describeEntry).sort()).toEqual(expected.sort());
    // And in a sensible order: the gate sits between stage and prod.
    const seqOf = (description: string) => entries.find((e) => describeEntry(e) === description)!.seq;
    expect(seqOf('run.started')).toBe(1);
    expect(seqOf('strategy.selected')).toBeLessThan(seqOf('task.running dev build-api'));
    expect(seqOf('run.finished')).toBe(entries.length);
    expect(seqOf('environment.promoted dev')).toBeLessThan(seqOf('task.running stage build-api'));
    expect(seqOf('environment.promoted stage')).toBeLessThan(seqOf('approval.requested'));
    expect(seqOf('approval.requested')).toBeLessThan(seqOf('approval.granted'));
    expect(seqOf('approval.granted')).toBeLessThan(seqOf('task.running prod build-api'));
    for (const environment of ENVIRONMENTS) {
      expect(seqOf(`task.succeeded ${environment} build-api`)).toBeLessThan(seqOf(`task.running ${environment} deploy-api`));
      expect(seqOf(`task.succeeded ${environment} deploy-api`)).toBeLessThan(seqOf(`task.running ${environment} verify-api`));
    }
    const granted = entries.find((e) => e.event === 'approval.granted')!;
    expect(granted.detail).toMatchObject({ approver: 'alice', decision: 'approve', counted: true });

    // The health endpoint was called by verify, once per environment.
    expect(healthHits.filter((url) => url === new URL(healthUrl).pathname)).toHaveLength(ENVIRONMENTS.length);

    // The audit log is append-only, enforced by the database.
    await expect(db.updateTable('audit_log').set({ event: 'tampered' }).where('workflow_id', '=', workflowId).execute()).rejects.toThrow(
      /audit_log is append-only: UPDATE is not allowed/,
    );
    await expect(db.deleteFrom('audit_log').where('workflow_id', '=', workflowId).execute()).rejects.toThrow(
      /audit_log is append-only: DELETE is not allowed/,
    );
    await expect(sql`TRUNCATE audit_log`.execute(db)).rejects.toThrow(/audit_log is append-only: TRUNCATE is not allowed/);
    const after = await db.selectFrom('audit_log').select(sql<string>`count(*)`.as('n')).where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(audit.length);
  });

  step('the worker processes shut down gracefully on SIGTERM (exit code 0)', async () => {
    const stopped = await Promise.all(
      Object.entries(workers).map(async ([name, worker]) => ({ name, ...(await worker!.stop('SIGTERM', 40_000)) })),
    );
    for (const [name, worker] of Object.entries(workers)) {
      expect({ name, log: worker!.stderr.includes('"msg":"worker stopped"') }).toEqual({ name, log: true });
    }
    expect(stopped).toEqual(Object.keys(workers).map((name) => ({ name, code: 0, signal: null, timedOut: false })));
  });
});
