/**
 * Schema extraction end to end with nothing mocked: the pinned Temporal dev server, a real PostgreSQL server, the
 * control worker and an `ados worker --capabilities extract` pool as separate processes, and the `ados` CLI:
 * `extract --plan`, `extract --watch --out`, the warm re-run, `schema drift` (with --rollback and --accept), a
 * schema change planned as "that agent and its dependents", and a breaking migration approved with `ados approve`.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ExtractionPlan, ExtractionResult } from '../../shared/contract/extraction/messages';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { createTenant } from '../../shared/node/tenancy/store';
import type { DriftReport } from '../../shared/node/extraction/drift';
import type { PendingRun } from '../../client/common/pending';
import { INVALID_DIR, SEED_AGENTS, SEED_DIR } from '../helpers/extraction';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server';
import { cleanEnv, ManagedProcess, runAdosCli, type CliResult } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/toolchain';

const suffix = () => Math.random().toString(36).slice(2, 8);
const prefix = `itx-${suffix()}`;
const tenant = `acme_${suffix()}`;

let env: TestWorkflowEnvironment;
let postgres: PostgresServer;
let database: DatabaseHandle;
let cliEnv: NodeJS.ProcessEnv;
let work: string;
const workers: ManagedProcess[] = [];

const reports = () => workers.map((w) => w.report()).join('\n');

async function ados(args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return runAdosCli(args, cliEnv, timeoutMs);
}

function ok(run: CliResult, what: string): CliResult {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}\n${reports()}`);
  return run;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ados-extract-it-'));
  [env, postgres] = await Promise.all([createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] }), startPostgresServer({ database: 'ados_extract_it' })]);
  database = await openDatabase(postgres.url, { poolSize: 2 });
  cliEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, ADOS_TASK_QUEUE_PREFIX: prefix, DATABASE_URL: postgres.url, LOG_LEVEL: 'warn' });
  const workerEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: postgres.url, ADOS_TASK_QUEUE_PREFIX: prefix, LOG_LEVEL: 'info', ADOS_WORKER_SHUTDOWN_GRACE: '5s' });
  workers.push(new ManagedProcess('worker --role control', ['worker', '--role', 'control'], workerEnv));
  workers.push(new ManagedProcess('worker --capabilities extract', ['worker', '--capabilities', 'extract', '--identity', 'extract-pool-1'], workerEnv));
  try {
    await Promise.all(workers.map((w) => w.waitForOutput('"msg":"worker polling"', 60_000)));
  } catch (error) {
    console.error(reports());
    throw error;
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop('SIGTERM', 10_000)));
  await database?.close();
  await postgres?.stop();
  await env?.teardown();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

const deployed = () => join(work, 'deployed');

test('--plan before any run: every agent runs, as a first extraction', async () => {
  const run = ok(await ados(['extract', SEED_DIR, '--tenant', tenant, '--plan', '--json']), 'extract --plan');
  const plan = JSON.parse(run.stdout) as ExtractionPlan;
  expect(plan.nodes.map((n) => [n.name, n.decision, n.reasons[0].part])).toEqual([
    ['TensorAIOS', 'run', 'new'],
    ['Main', 'run', 'new'],
    ['Auditor', 'run', 'new'],
    ['PlastOS Adapter', 'run', 'new'],
    ['Trainer', 'run', 'new'],
  ]);
});

test('extract --watch --out: a live progress bar, then every artifact written; the extract pool ran each agent', async () => {
  const run = ok(await ados(['extract', SEED_DIR, '--tenant', tenant, '--watch', '--out', deployed(), '--json']), 'extract --watch');
  const result = JSON.parse(run.stdout) as ExtractionResult & { written: string[] };
  expect(result.outcome).toBe('succeeded');
  expect(result.workflowId).toMatch(new RegExp(`^extraction-${tenant}-schemas-[0-9a-f]{8}$`));
  expect(result.cache).toEqual({ hits: 0, misses: 5 });
  for (const name of SEED_AGENTS) expect(result.nodes[name]).toMatchObject({ state: 'done', worker: 'extract-pool-1' });
  expect(result.written).toHaveLength(20);
  expect(readdirSync(deployed()).sort()).toEqual(['auditor', 'main', 'plastos-adapter', 'tensoraios', 'trainer']);
  expect(readFileSync(join(deployed(), 'main', 'manifest.yaml'), 'utf8')).toContain('ados.dev/agent: Main');
  // Not a TTY: one progress line per change on stderr, the last one finished.
  const lines = run.stderr.split('\n').filter((l) => l.startsWith('['));
  expect(lines.length).toBeGreaterThanOrEqual(2);
  expect(lines.at(-1)).toMatch(/^\[#{24}\] 5\/5 .* done 5 .* hits 0 misses 5 .* finished$/);
  // Recorded in PostgreSQL: the run, its node outcomes, cache entries, manifests.
  const nodes = await database.db.selectFrom('extraction_nodes').select(['agent', 'state', 'worker']).where('workflow_id', '=', result.workflowId).orderBy('agent').execute();
  expect(nodes.map((n) => [n.agent, n.state, n.worker])).toEqual([...SEED_AGENTS].sort().map((a) => [a, 'done', 'extract-pool-1']));
  const cache = await database.db.selectFrom('schema_cache').select('agent').where('tenant_id', '=', tenant).execute();
  expect(cache).toHaveLength(5);
  const runRow = await database.db.selectFrom('runs').select(['kind', 'status']).where('workflow_id', '=', result.workflowId).executeTakeFirstOrThrow();
  expect(runRow).toEqual({ kind: 'extraction', status: 'succeeded' });
}, 120_000);

test('the warm re-run: --plan says reuse for all; the run hits the cache for all and extracts nothing', async () => {
  const plan = JSON.parse(ok(await ados(['extract', SEED_DIR, '--tenant', tenant, '--plan', '--json']), 'plan').stdout) as ExtractionPlan;
  expect(plan.nodes.every((n) => n.decision === 'reuse' && n.reasons[0].part === 'hit')).toBe(true);
  const result = JSON.parse(ok(await ados(['extract', SEED_DIR, '--tenant', tenant, '--json']), 'warm').stdout) as ExtractionResult;
  expect(result.cache).toEqual({ hits: 5, misses: 0 });
  expect(result.extracted).toBe(0);
  const history = await env.client.workflow.getHandle(result.workflowId).fetchHistory();
  expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'extractAgent')).toEqual([]);
}, 60_000);

test('schema drift: in sync, then critical after a hand edit (exit 1 with --check), rolled back, then a minor edit accepted', async () => {
  const drift = async (...extra: string[]) => ados(['schema', 'drift', '--dir', deployed(), '--tenant', tenant, ...extra]);
  let report = JSON.parse(ok(await drift('--json'), 'drift').stdout) as DriftReport;
  expect(report.entries.map((e) => [e.agent, e.status])).toEqual([...SEED_AGENTS].sort().map((a) => [a, 'in-sync']));

  const manifest = join(deployed(), 'main', 'manifest.yaml');
  const original = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, original.replace('replicas: 2', 'replicas: 6'));
  const checked = await drift('--check');
  expect(checked.code).toBe(1);
  expect(checked.stdout).toContain('Main  main/manifest.yaml  drifted (critical)  sections: deployment');
  expect(checked.stdout).toContain('critical [deployment] Deployment.spec.replicas: 2 → 6');
  expect(checked.stdout).toContain(`→ roll back: write the recorded manifest back: ados schema drift --dir ${deployed()} --rollback "Main"`);

  ok(await drift('--rollback', 'Main'), 'rollback');
  expect(readFileSync(manifest, 'utf8')).toBe(original);

  writeFileSync(manifest, original.replace('app.kubernetes.io/part-of: ados', 'app.kubernetes.io/part-of: ados-core'));
  report = JSON.parse(ok(await drift('--json'), 'drift').stdout) as DriftReport;
  expect(report.entries.find((e) => e.agent === 'Main')).toMatchObject({ status: 'drifted', severity: 'minor', sections: ['metadata'] });
  ok(await drift('--accept', 'Main'), 'accept');
  report = JSON.parse(ok(await drift('--json'), 'drift').stdout) as DriftReport;
  expect(report.drifted).toBe(0);
  expect(report.entries.find((e) => e.agent === 'Main')!.recordedBy).toMatch(/^accept:/);

  rmSync(join(deployed(), 'trainer'), { recursive: true });
  report = JSON.parse(ok(await drift('--json'), 'drift').stdout) as DriftReport;
  expect(report.entries.find((e) => e.agent === 'Trainer')).toMatchObject({ status: 'missing', severity: 'critical' });
}, 60_000);

test('a changed schema: --plan names that agent (schema) and its dependents (upstream), and the run does exactly that', async () => {
  const schemas = join(work, 'changed');
  cpSync(SEED_DIR, schemas, { recursive: true });
  const main = join(schemas, 'main.yaml');
  writeFileSync(main, readFileSync(main, 'utf8').replace('replicas: 2', 'replicas: 3'));
  const plan = JSON.parse(ok(await ados(['extract', schemas, '--tenant', tenant, '--plan', '--json']), 'plan').stdout) as ExtractionPlan;
  expect(Object.fromEntries(plan.nodes.map((n) => [n.name, `${n.decision}: ${n.reasons.map((r) => r.part).join(',')}`]))).toEqual({
    TensorAIOS: 'reuse: hit',
    Trainer: 'reuse: hit',
    Main: 'run: schema',
    Auditor: 'run: dependencies',
    'PlastOS Adapter': 'run: dependencies',
  });
  const text = ok(await ados(['extract', schemas, '--tenant', tenant, '--plan']), 'plan').stdout;
  expect(text).toMatch(/run +Main +schema changed \(sha256 [0-9a-f]{8} → [0-9a-f]{8}\)/);
  const result = JSON.parse(ok(await ados(['extract', schemas, '--tenant', tenant, '--json']), 'extract').stdout) as ExtractionResult;
  expect(Object.fromEntries(Object.entries(result.nodes).map(([n, r]) => [n, r.state]))).toEqual({
    TensorAIOS: 'cached',
    Trainer: 'cached',
    Main: 'done',
    Auditor: 'done',
    'PlastOS Adapter': 'done',
  });
}, 60_000);

test('a breaking migration: the run waits (listed by ados pending), ados approve lets it go on, a second ados extract follows it', async () => {
  const schemas = join(work, 'old');
  cpSync(SEED_DIR, schemas, { recursive: true });
  cpSync(join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml'), join(schemas, 'tensoraios.yaml'));
  const args = ['extract', schemas, '--tenant', tenant, '--approvers', 'alice,bob', '--requested-by', 'carol'];
  const started = ok(await ados([...args, '--no-wait']), 'extract --no-wait').stdout;
  const workflowId = /started (extraction-\S+)/.exec(started)?.[1];
  expect(workflowId).toBeDefined();
  expect(started).toContain(`waits for approval of a breaking migration: ados approve ${workflowId} --tenant ${tenant} --as <approver>`);

  let pending: PendingRun | undefined;
  for (const deadline = Date.now() + 30_000; !pending && Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const listed = JSON.parse(ok(await ados(['pending', '--tenant', tenant, '--json']), 'pending').stdout) as PendingRun[];
    pending = listed.find((p) => p.workflowId === workflowId);
  }
  expect(pending).toMatchObject({ kind: 'extraction', stage: 'awaiting_approval' });

  // The same command again attaches to the run in progress (same set, same ID) and waits for it.
  const follower = runAdosCli([...args, '--json'], cliEnv, 60_000);
  const refused = await ados(['approve', workflowId!, '--as', 'carol', '--tenant', tenant]);
  expect(refused.code).toBe(4);
  expect(refused.stderr).toContain('"carol" is not a listed approver');
  ok(await ados(['approve', workflowId!, '--as', 'alice', '--comment', 'renames reviewed', '--tenant', tenant]), 'approve');
  const followed = await follower;
  ok(followed, 'follower');
  const result = JSON.parse(followed.stdout) as ExtractionResult;
  expect(result).toMatchObject({ workflowId, outcome: 'succeeded' });
  expect(result.migrations.map((m) => `${m.agent} ${m.from} → ${m.to}`)).toEqual(['TensorAIOS 5.9.0 → 6.0.0', 'TensorAIOS 6.0.0 → 6.1.0']);
  const applied = await database.db.selectFrom('schema_migrations_applied').select('migration_id').where('workflow_id', '=', workflowId!).orderBy('seq').execute();
  expect(applied.map((a) => a.migration_id)).toEqual(['5.9-to-6.0', '6.0-to-6.1']);
}, 120_000);

test("a breaking migration under the tenant's prod approval policy: its approvers decide, and a request may not weaken it", async () => {
  const governed = `gov_${suffix()}`;
  await createTenant(database.db, governed, { approvals: { roles: { schema: ['gina'] }, prod: { roles: ['schema'] } } }, 'test');
  const schemas = join(work, 'governed');
  cpSync(SEED_DIR, schemas, { recursive: true });
  cpSync(join(INVALID_DIR, 'migrations', 'tensoraios-5.9.yaml'), join(schemas, 'tensoraios.yaml'));

  // Approvers the tenant's policy does not allow: refused before anything starts, naming the field.
  const weaker = await ados(['extract', schemas, '--tenant', governed, '--approvers', 'mallory', '--requested-by', 'carol', '--no-wait']);
  expect(weaker.code).toBe(2);
  expect(weaker.stderr).toContain(`approval.approvers[0]: "mallory" may not approve under tenant ${governed}'s prod approval policy`);

  // No --approvers at all: the tenant's policy is the gate's (without one, the request would be refused for lacking them).
  const started = ok(await ados(['extract', schemas, '--tenant', governed, '--requested-by', 'carol', '--no-wait']), 'extract under the policy').stdout;
  const workflowId = /started (extraction-\S+)/.exec(started)?.[1];
  expect(workflowId).toBeDefined();
  const outsider = await ados(['approve', workflowId!, '--as', 'alice', '--tenant', governed]);
  expect(outsider.code).toBe(4);
  expect(outsider.stderr).toContain('"alice" is not a listed approver');
  ok(await ados(['approve', workflowId!, '--as', 'gina', '--comment', 'migration reviewed', '--tenant', governed]), 'approve as gina');
  const result = (await env.client.workflow.getHandle(workflowId!).result()) as ExtractionResult;
  expect(result).toMatchObject({ workflowId, outcome: 'succeeded' });
  // The gate counted gina alone; alice's attempt never reached it (refused by the update's validator).
  const decisions = await database.db.selectFrom('approvals').select(['approver', 'decision', 'counted']).where('workflow_id', '=', workflowId!).orderBy('seq').execute();
  expect(decisions).toEqual([{ approver: 'gina', decision: 'approve', counted: true }]);
}, 120_000);
