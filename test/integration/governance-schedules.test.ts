/**
 * "Schedules skip inside a freeze", on a real Temporal dev server (one for this file) and PostgreSQL (PGlite), through
 * the real `ados freeze` CLI: adding a freeze gives the tenant's schedules (tagged by the AdosTenant search
 * attribute; the memo's `environment` picks the freezes) skip calendars, and Temporal's own next action times then
 * leave the window out; another tenant's schedule and a schedule of another environment are untouched; removing the
 * freeze takes its calendars off again. ADOS has no schedules of its own yet: the test creates them.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ADOS_SEARCH_ATTRIBUTES, AdosTenant } from '../../shared/contract/search-attributes';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../shared/node/db';
import { startEmbeddedPostgresThread } from '../helpers/embedded-postgres-thread';
import { eventually } from '../helpers/eventually';
import { cleanEnv, runAdosCli } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/toolchain';

let env: TestWorkflowEnvironment;
let postgres: Awaited<ReturnType<typeof startEmbeddedPostgresThread>>;
let database: DatabaseHandle;
let cliEnv: NodeJS.ProcessEnv;

const TENANT = 'govsched';

async function createSchedule(scheduleId: string, tenantId: string, environment: string): Promise<void> {
  await env.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1m' }] },
    // Nobody polls this queue: a schedule that fires starts a workflow that never runs.
    action: { type: 'startWorkflow', workflowType: 'deliveryRun', taskQueue: 'governance-schedules-unpolled', args: [] },
    memo: { environment },
    typedSearchAttributes: [{ key: AdosTenant, value: tenantId }],
  });
}

const skipComments = async (scheduleId: string) =>
  ((await env.client.schedule.getHandle(scheduleId).describe()).spec.skip ?? []).map((c) => c.comment ?? '');

beforeAll(async () => {
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  postgres = await startEmbeddedPostgresThread();
  database = await openDatabase(postgres.url, { poolSize: 2 });
  await migrateToLatest(database.db);
  cliEnv = cleanEnv({ TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: env.namespace ?? 'default', DATABASE_URL: postgres.url });
  await createSchedule('govsched-stage', TENANT, 'stage');
  await createSchedule('govsched-dev', TENANT, 'dev');
  await createSchedule('other-stage', 'other', 'stage');
  // Schedules reach the visibility store a moment after they are created.
  await eventually('the schedules are listed', 30_000, async () => {
    const ids: string[] = [];
    for await (const s of env.client.schedule.list({ query: `${AdosTenant.name} = '${TENANT}'` })) ids.push(s.scheduleId);
    return ids.length === 2 ? ids : undefined;
  });
}, 120_000);

afterAll(async () => {
  for (const id of ['govsched-stage', 'govsched-dev', 'other-stage']) await env?.client.schedule.getHandle(id).delete().catch(() => undefined);
  await database?.close();
  await postgres?.stop();
  await env?.teardown();
});

test('ados freeze add gives the schedules skip calendars that Temporal honours; ados freeze remove takes them off', async () => {
  const start = new Date(Date.now() + 2 * 60_000);
  const end = new Date(start.getTime() + 3 * 3_600_000);
  const added = await runAdosCli(
    ['freeze', 'add', '--tenant', TENANT, '--env', 'stage', '--start', start.toISOString(), '--end', end.toISOString(), '--reason', 'launch week', '--as', 'ops', '--json'],
    cliEnv,
    60_000,
  );
  expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: '' });
  const output = JSON.parse(added.stdout) as { freeze: { id: string }; created: boolean; schedules: Array<{ scheduleId: string; calendars: number }> };
  expect(output.created).toBe(true);
  const byId = Object.fromEntries(output.schedules.map((s) => [s.scheduleId, s.calendars]));
  expect(byId['govsched-dev']).toBe(0);
  expect(byId['govsched-stage']).toBeGreaterThan(0);
  expect(byId['other-stage']).toBeUndefined();

  const comments = await skipComments('govsched-stage');
  expect(comments.length).toBe(byId['govsched-stage']);
  expect(new Set(comments)).toEqual(new Set([`ados-freeze:${output.freeze.id}`]));
  expect(await skipComments('govsched-dev')).toEqual([]);
  expect(await skipComments('other-stage')).toEqual([]);

  // Temporal's own view: no action time inside the window, and the next ones after it.
  const next = (await env.client.schedule.getHandle('govsched-stage').describe()).info.nextActionTimes;
  expect(next.length).toBeGreaterThan(0);
  expect(next.filter((t) => t >= start && t < end)).toEqual([]);
  expect(next.some((t) => t >= end)).toBe(true);

  const listed = await runAdosCli(['freeze', 'list', '--tenant', TENANT, '--json'], cliEnv);
  expect(listed.code).toBe(0);
  expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((f) => f.id)).toEqual([output.freeze.id]);

  const removed = await runAdosCli(['freeze', 'remove', output.freeze.id, '--tenant', TENANT, '--json'], cliEnv, 60_000);
  expect({ code: removed.code, stderr: removed.stderr }).toEqual({ code: 0, stderr: '' });
  expect(await skipComments('govsched-stage')).toEqual([]);
});

test('the CLI refuses without a tenant, and a removal of an unknown freeze names the fix', async () => {
  const unscoped = await runAdosCli(['freeze', 'list'], cliEnv);
  expect(unscoped.code).toBe(2);
  expect(unscoped.stderr).toMatch(/--tenant: required: give --tenant <id> or set ADOS_TENANT/);
  const unknown = await runAdosCli(['freeze', 'remove', 'frz_nope', '--tenant', TENANT], cliEnv);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/tenant govsched has no freeze frz_nope in force: `ados freeze list --tenant govsched` shows the ids/);
});
