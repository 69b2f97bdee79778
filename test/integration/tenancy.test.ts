/**
 * Tenants on a real database (PGlite over the wire protocol) and a real Temporal dev server, nothing mocked: the
 * store (create, update, deactivate, fork-policy, each change audited), spend summed from task_costs per UTC day and
 * month, admission (refusal with the limit and by how much, the 80% alert audited once per period, unknown tenants
 * created or refused), and the real `ados` binary: `ados tenant`, a budget refusal at `ados run start` (exit 6, no
 * workflow started), and tenant isolation of the commands that read or signal a run (workflow ID and AdosTenant).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/client';
import { sql } from 'kysely';
import { AdosTenant, ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { migrateToLatest, openDatabase, type DatabaseHandle, type Db } from '../../shared/node/db';
import type { EmbeddedPostgres } from '../../shared/node/db/embedded';
import { createLogger } from '../../shared/node/logger';
import { admitRun, TenantRefusedError, type AdmissionOptions } from '../../shared/node/tenancy/admission';
import { createTenant, deactivateTenant, forkPolicy, getTenant, tenantEvents, tenantSpend, updateTenant } from '../../shared/node/tenancy/store';
import { InputValidationError } from '../../shared/contract/validation';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { eventually } from '../helpers/eventually';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/toolchain';

const NOW = new Date('2026-11-22T15:30:00Z');
const NOBODY_POLLS = 'tenancy-it-unpolled';

let server: EmbeddedPostgres;
let handle: DatabaseHandle;
let db: Db;
let env: TestWorkflowEnvironment;
let dir: string;
let cliEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  [server, env] = await Promise.all([startEmbeddedPostgresThread(), createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] })]);
  handle = await openDatabase(server.url, { poolSize: 1 });
  db = handle.db;
  await migrateToLatest(db);
  dir = mkdtempSync(join(tmpdir(), 'ados-tenancy-'));
  cliEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: server.url, LOG_LEVEL: 'warn', ADOS_TASK_QUEUE_PREFIX: 'tenancyit' });
}, 120_000);

afterAll(async () => {
  await handle?.close();
  await server?.stop();
  await env?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const admission = (requireTenants = false): AdmissionOptions => ({ db, logger: createLogger('tenancy-it', 'silent'), requireTenants, now: NOW });

/** One cost report, as run-capability.ts writes it, at a given time. */
async function cost(tenantId: string, amount: number, at: Date | 'now', unit = 'usd', workflowId = `delivery-${tenantId}-r1`): Promise<void> {
  const seq = Math.floor(Math.random() * 1e9);
  const createdAt = at === 'now' ? sql`clock_timestamp()` : sql`${at}`;
  await sql`
    INSERT INTO task_costs (workflow_id, tenant_id, environment, task_id, capability, attempt, seq, amount, unit, created_at)
    VALUES (${workflowId}, ${tenantId}, 'dev', 'build', 'build', 1, ${seq}, ${amount}, ${unit}, ${createdAt})`.execute(db);
}

function ados(args: string[], extra: Record<string, string> = {}) {
  return runAdosCli(args, { ...cliEnv, ...extra }, 60_000);
}

function plan(tenantId: string, maxCost: number): string {
  const file = join(dir, `${tenantId}-${maxCost}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      tenantId,
      requestedBy: 'carol',
      goal: { type: 'build', complexity: 'low', risk: 'low', maxCost },
      environments: ['dev'],
      plan: { tasks: [{ id: 'noop', capability: 'noop', input: {} }] },
    }),
  );
  return file;
}

describe('the tenant store', () => {
  it('creates, updates, deactivates and forks, auditing each change under tenant-<id>', async () => {
    const created = await createTenant(db, 'store_a', { displayName: 'Store A', budget: { perDay: 10 }, policies: { tool: { allow: ['git'] } } }, 'alice');
    expect(created).toMatchObject({ id: 'store_a', version: 1, profile: { displayName: 'Store A', budget: { perDay: 10, perMonth: null, unit: 'usd' }, limits: { maxConcurrentRuns: 5 } } });
    await expect(createTenant(db, 'store_a', {}, 'alice')).rejects.toThrow(InputValidationError);
    await expect(createTenant(db, 'store_b', { limits: { priority: 11 } }, 'alice')).rejects.toThrow('limits.priority: must be a whole number from 1 to 10');
    expect(await getTenant(db, 'store_b')).toBeUndefined();

    const updated = await updateTenant(db, 'store_a', { limits: { priority: 9 } }, 'bob');
    expect(updated).toMatchObject({ version: 2, profile: { limits: { priority: 9 }, budget: { perDay: 10 } } });
    const deactivated = await deactivateTenant(db, 'store_a', 'bob', 'contract ended');
    expect(deactivated.profile.active).toBe(false);
    const forked = await forkPolicy(db, 'store_a', 'store_c', 'bob');
    expect(forked.profile).toMatchObject({ active: true, policies: { tool: { allow: ['git'] } }, budget: { perDay: null } });

    const events = await tenantEvents(db, 'store_a');
    expect(events.map((e) => [e.key, e.event])).toEqual([
      ['v3:tenant.deactivated', 'tenant.deactivated'],
      ['v2:tenant.updated', 'tenant.updated'],
      ['v1:tenant.created', 'tenant.created'],
    ]);
    expect(events[0].detail).toMatchObject({ by: 'bob', reason: 'contract ended', changes: { active: { before: true, after: false } } });
    expect(events[1].detail).toMatchObject({ changes: { 'limits.priority': { before: 5, after: 9 } } });
    expect((await tenantEvents(db, 'store_c')).map((e) => e.event)).toEqual(['tenant.policy_forked', 'tenant.created']);
    // The trail is the append-only audit log.
    await expect(sql`UPDATE audit_log SET event = 'x' WHERE workflow_id = 'tenant-store_a'`.execute(db)).rejects.toThrow(/append-only/);
  });

  it('sums spend per unit over the UTC day and month', async () => {
    await cost('spend_a', 0.1, new Date('2026-11-22T00:00:00Z'));
    await cost('spend_a', 0.2, new Date('2026-11-22T15:00:00Z'));
    await cost('spend_a', 5, new Date('2026-11-01T00:00:00Z'));
    await cost('spend_a', 100, new Date('2026-10-31T23:59:59Z'));
    await cost('spend_a', 7, new Date('2026-11-22T16:00:00Z'));
    await cost('spend_a', 1200, new Date('2026-11-22T01:00:00Z'), 'tokens');
    await cost('spend_b', 50, new Date('2026-11-22T01:00:00Z'));
    expect(await tenantSpend(db, 'spend_a', NOW)).toEqual({ usd: { day: 0.3, month: 5.3 }, tokens: { day: 1200, month: 1200 } });
  });
});

describe('admission', () => {
  it('refuses a run that would exceed the budget, with the limit and by how much, and audits it', async () => {
    await createTenant(db, 'adm_a', { budget: { perDay: 10 } }, 'alice');
    await cost('adm_a', 9.5, new Date('2026-11-22T09:00:00Z'));
    const request = { tenantId: 'adm_a', kind: 'delivery', workflowId: 'delivery-adm_a-r2', maxCost: 0.6, requestedBy: 'carol' };
    const refused = await admitRun(admission(), request).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TenantRefusedError);
    expect((refused as Error).message).toBe('tenant adm_a: this run would exceed the per-day budget of 10 usd by 0.1 usd (spent today: 9.5 usd, goal.maxCost: 0.6 usd)');
    const [entry] = await tenantEvents(db, 'adm_a', { events: ['admission.refused'] });
    expect(entry).toMatchObject({ key: 'admission.refused:delivery-adm_a-r2', detail: { workflowId: 'delivery-adm_a-r2', by: 'carol' } });
  });

  it('admits a run up to the budget and audits its 80% alert once per period', async () => {
    await createTenant(db, 'adm_b', { budget: { perDay: 10 } }, 'alice');
    await cost('adm_b', 7.5, new Date('2026-11-22T09:00:00Z'));
    const request = { tenantId: 'adm_b', kind: 'delivery', workflowId: 'delivery-adm_b-r1', maxCost: 2.5, requestedBy: 'carol' };
    const first = await admitRun(admission(), request);
    expect(first.alerts).toEqual([expect.objectContaining({ window: 'day', period: '2026-11-22', spent: 10, limit: 10 })]);
    await admitRun(admission(), { ...request, workflowId: 'delivery-adm_b-r2' });
    const alerts = await tenantEvents(db, 'adm_b', { events: ['budget.alert'] });
    expect(alerts.map((a) => a.key)).toEqual(['budget.alert:day:2026-11-22']);
  });

  it('creates an unknown tenant with the default profile, or refuses it with ADOS_REQUIRE_TENANTS', async () => {
    const request = { tenantId: 'adm_new', kind: 'delivery', workflowId: 'delivery-adm_new-r1', maxCost: 1, requestedBy: 'carol' };
    await expect(admitRun(admission(true), request)).rejects.toThrow('tenant adm_new does not exist and ADOS_REQUIRE_TENANTS=1 refuses tenants nobody created');
    expect(await getTenant(db, 'adm_new')).toBeUndefined();
    const admitted = await admitRun(admission(false), request);
    expect(admitted).toMatchObject({ createdTenant: true, tenant: { id: 'adm_new', profile: { active: true, limits: { maxConcurrentRuns: 5, maxConcurrentTasksPerAgent: 2, priority: 5 } } } });
    expect((await tenantEvents(db, 'adm_new')).map((e) => e.key)).toEqual(['v1:tenant.created']);
  });
});

describe('ados tenant and admission through the real CLI', () => {
  it('a bad profile flag exits 2 naming the flag', async () => {
    const cli = await ados(['tenant', 'create', 'cli_bad', '--priority', '11', '--budget-per-day', 'ten']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--budget-per-day: must be a number, or none for no limit (got "ten")');
    const second = await ados(['tenant', 'create', 'cli_bad', '--priority', '11']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('--priority: must be a whole number from 1 to 10');
  });

  it('run start is refused when the plan\'s goal.maxCost would exceed the budget: exit 6, nothing started', async () => {
    expect((await ados(['tenant', 'create', 'cli_a', '--budget-per-day', '1', '--json'])).code).toBe(0);
    await cost('cli_a', 0.9, 'now');
    const refused = await ados(['run', 'start', '--file', plan('cli_a', 0.2), '--run-id', 'over']);
    expect(refused.stderr).toContain('tenant cli_a: this run would exceed the per-day budget of 1 usd by 0.1 usd (spent today: 0.9 usd, goal.maxCost: 0.2 usd)');
    expect(refused.code).toBe(6);
    await expect(env.client.workflow.getHandle('delivery-cli_a-over').describe()).rejects.toThrow(WorkflowNotFoundError);

    const show = await ados(['tenant', 'show', 'cli_a']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('spend today:      0.9 usd of 1 usd (90%)  ALERT: at 80% or more');
    expect(show.stdout).toContain('spend today is 0.9 usd, 90% of the per-day budget of 1 usd');
  });

  it('a deactivated tenant\'s run is refused (exit 6); --cancel-runs cancels its running workflows only', async () => {
    expect((await ados(['tenant', 'create', 'cli_d'])).code).toBe(0);
    const own = await env.client.workflow.start('deliveryRun', {
      taskQueue: NOBODY_POLLS,
      workflowId: 'delivery-cli_d-inflight',
      args: [{}],
      typedSearchAttributes: [{ key: AdosTenant, value: 'cli_d' }],
    });
    const other = await env.client.workflow.start('deliveryRun', {
      taskQueue: NOBODY_POLLS,
      workflowId: 'delivery-cli_e-inflight',
      args: [{}],
      typedSearchAttributes: [{ key: AdosTenant, value: 'cli_e' }],
    });
    await eventually('the run is visible', 15_000, async () => {
      for await (const execution of env.client.workflow.list({ query: `AdosTenant = 'cli_d'` })) return execution.workflowId;
      return undefined;
    });
    const deactivated = await ados(['tenant', 'deactivate', 'cli_d', '--reason', 'offboarded', '--cancel-runs', '--json']);
    expect(deactivated.code).toBe(0);
    expect(JSON.parse(deactivated.stdout)).toMatchObject({ tenant: { profile: { active: false } }, cancelled: ['delivery-cli_d-inflight'] });
    const cancelRequested = async (workflowId: string) =>
      (await env.client.workflow.getHandle(workflowId).fetchHistory()).events!.some((e) => e.workflowExecutionCancelRequestedEventAttributes);
    expect(await cancelRequested(own.workflowId)).toBe(true);
    expect(await cancelRequested(other.workflowId)).toBe(false);

    const refused = await ados(['run', 'start', '--file', plan('cli_d', 0)]);
    expect(refused.code).toBe(6);
    expect(refused.stderr).toContain('tenant cli_d is deactivated: its new runs are refused');
    await own.terminate('test cleanup');
    await other.terminate('test cleanup');
  });
});

describe('tenant isolation of the CLI', () => {
  it('refuses another tenant\'s run by workflow ID and by AdosTenant (exit 6), requires a tenant (exit 2), serves its own', async () => {
    const forged = await env.client.workflow.start('deliveryRun', {
      taskQueue: NOBODY_POLLS,
      workflowId: 'delivery-iso_a-forged',
      args: [{}],
      typedSearchAttributes: [{ key: AdosTenant, value: 'iso_b' }],
    });
    const own = await env.client.workflow.start('deliveryRun', {
      taskQueue: NOBODY_POLLS,
      workflowId: 'delivery-iso_a-own',
      args: [{}],
      typedSearchAttributes: [{ key: AdosTenant, value: 'iso_a' }],
    });
    try {
      const byId = await ados(['run', 'status', own.workflowId, '--tenant', 'iso_b']);
      expect({ code: byId.code, stdout: byId.stdout }).toEqual({ code: 6, stdout: '' });
      expect(byId.stderr).toContain('run delivery-iso_a-own belongs to tenant iso_a, not to iso_b (--tenant / ADOS_TENANT); refused');

      const bySearchAttribute = await ados(['run', 'status', forged.workflowId], { ADOS_TENANT: 'iso_a' });
      expect(bySearchAttribute.code).toBe(6);
      expect(bySearchAttribute.stderr).toContain('run delivery-iso_a-forged belongs to tenant iso_b, not to iso_a; refused');

      for (const args of [
        ['run', 'result', own.workflowId, '--tenant', 'iso_b'],
        ['approve', own.workflowId, '--as', 'alice', '--unsigned', '--tenant', 'iso_b'],
        ['reject', own.workflowId, '--as', 'alice', '--comment', 'no', '--unsigned', '--tenant', 'iso_b'],
        ['resolve', forged.workflowId, '--task', 't', '--action', 'skip', '--as', 'alice', '--signal', '--tenant', 'iso_a'],
      ]) {
        const cli = await ados(args);
        expect({ args, code: cli.code }).toEqual({ args, code: 6 });
      }
      const history = await forged.fetchHistory();
      expect(history.events!.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(false);

      const unscoped = await ados(['run', 'status', own.workflowId]);
      expect(unscoped.code).toBe(2);
      expect(unscoped.stderr).toContain('--tenant: required: give --tenant <id> or set ADOS_TENANT');
      expect((await ados(['pending'])).code).toBe(2);

      const signalled = await ados(['resolve', own.workflowId, '--task', 't', '--action', 'skip', '--as', 'alice', '--signal', '--tenant', 'iso_a']);
      expect(signalled.code).toBe(0);
      expect((await own.fetchHistory()).events!.some((e) => e.workflowExecutionSignaledEventAttributes)).toBe(true);
    } finally {
      await forged.terminate('test cleanup');
      await own.terminate('test cleanup');
    }
  });
});
