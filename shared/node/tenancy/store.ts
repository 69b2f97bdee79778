/**
 * Tenants in PostgreSQL (README, "Tenants"): profiles in `tenants` (migration 0006_tenants), every change audited in
 * the append-only `audit_log` under `tenant-<id>` with the key `v<version>:<event>`, and spend summed from
 * `task_costs` (what capabilities report through `ctx.reportCost`). The CLI (`ados tenant`) and admission use it.
 */
import { sql, type Selectable } from 'kysely';
import { tenantApprovalsSchema } from '../../contract/approval';
import { budgetWindows, type BudgetAlert, type WindowSpend } from '../../contract/tenancy/budget';
import { applyProfilePatch, defaultProfile, notificationsSchema, profileChanges, tenantAuditId, type TenantProfile } from '../../contract/tenancy/profile';
import { InputValidationError } from '../../contract/validation';
import type { Db } from '../db';
import type { TenantsTable } from '../db/schema';

/** A tenant as stored: its id, profile and bookkeeping. */
export interface TenantRecord {
  id: string;
  profile: TenantProfile;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** No tenant with this id (the CLI: exit 3). */
export class TenantNotFoundError extends Error {
  constructor(readonly tenantId: string) {
    super(`no tenant ${tenantId}; create it with \`ados tenant create ${tenantId}\` (\`ados tenant list\` lists them)`);
    this.name = 'TenantNotFoundError';
  }
}

const toJson = (value: unknown): string => JSON.stringify(value ?? null);

function recordOf(row: Selectable<TenantsTable>): TenantRecord {
  return {
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    profile: {
      displayName: row.display_name,
      active: row.active,
      budget: { perDay: row.budget_per_day, perMonth: row.budget_per_month, unit: row.budget_unit },
      limits: {
        maxConcurrentRuns: row.max_concurrent_runs,
        maxConcurrentTasksPerAgent: row.max_concurrent_tasks_per_agent,
        priority: row.priority,
        fairnessWeight: row.fairness_weight,
        runStartsPerMinute: row.run_starts_per_minute,
        runStartBurst: row.run_start_burst,
        agentTaskStartsPerMinute: row.agent_task_starts_per_minute,
        agentTaskStartBurst: row.agent_task_start_burst,
      },
      policies: {
        planner: row.planner_policy as Record<string, unknown>,
        tool: row.tool_policy as Record<string, unknown>,
        agent: row.agent_policy as Record<string, unknown>,
        generation: row.generation_policy as Record<string, unknown>,
      },
      metaLearning: row.meta_learning,
      approvals: tenantApprovalsSchema.parse(row.approvals),
      notifications: notificationsSchema.parse(row.notifications),
    },
  };
}

function columnsOf(profile: TenantProfile) {
  return {
    display_name: profile.displayName,
    active: profile.active,
    budget_per_day: profile.budget.perDay,
    budget_per_month: profile.budget.perMonth,
    budget_unit: profile.budget.unit,
    max_concurrent_runs: profile.limits.maxConcurrentRuns,
    max_concurrent_tasks_per_agent: profile.limits.maxConcurrentTasksPerAgent,
    priority: profile.limits.priority,
    fairness_weight: profile.limits.fairnessWeight,
    run_starts_per_minute: profile.limits.runStartsPerMinute,
    run_start_burst: profile.limits.runStartBurst,
    agent_task_starts_per_minute: profile.limits.agentTaskStartsPerMinute,
    agent_task_start_burst: profile.limits.agentTaskStartBurst,
    planner_policy: toJson(profile.policies.planner),
    tool_policy: toJson(profile.policies.tool),
    agent_policy: toJson(profile.policies.agent),
    generation_policy: toJson(profile.policies.generation),
    meta_learning: profile.metaLearning,
    approvals: toJson(profile.approvals),
    notifications: toJson(profile.notifications),
  };
}

/** One entry of a tenant's own audit trail. */
async function auditTenant(db: Db, tenantId: string, key: string, event: string, detail: unknown): Promise<boolean> {
  const written = await db
    .insertInto('audit_log')
    .values({ workflow_id: tenantAuditId(tenantId), tenant_id: tenantId, event_key: key, event, detail: toJson(detail) })
    .onConflict((oc) => oc.columns(['workflow_id', 'event_key']).doNothing())
    .returning('id')
    .execute();
  return written.length > 0;
}

function validated(profile: TenantProfile, patch: unknown): TenantProfile {
  const checked = applyProfilePatch(profile, patch);
  if (!checked.ok) throw new InputValidationError('tenant profile', checked.issues);
  return checked.value;
}

export async function getTenant(db: Db, tenantId: string): Promise<TenantRecord | undefined> {
  const row = await db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
  return row ? recordOf(row) : undefined;
}

export async function requireTenant(db: Db, tenantId: string): Promise<TenantRecord> {
  const tenant = await getTenant(db, tenantId);
  if (!tenant) throw new TenantNotFoundError(tenantId);
  return tenant;
}

export async function listTenants(db: Db): Promise<TenantRecord[]> {
  const rows = await db.selectFrom('tenants').selectAll().orderBy('id').execute();
  return rows.map(recordOf);
}

/**
 * Creates a tenant with the default profile changed by `patch`. A tenant that exists is refused (exit 2), even one
 * a run created with the defaults: `ados tenant update` changes it.
 */
export async function createTenant(db: Db, tenantId: string, patch: unknown, by: string): Promise<TenantRecord> {
  const profile = validated(defaultProfile(), patch);
  const inserted = await insertTenant(db, tenantId, profile, { by, profile });
  if (!inserted) {
    throw new InputValidationError('tenant', [{ path: 'id', message: `tenant ${tenantId} exists already; change it with \`ados tenant update ${tenantId}\`` }]);
  }
  return inserted;
}

/** Inserts a tenant unless it exists, with its `tenant.created` audit entry in the same transaction; undefined if it existed. */
async function insertTenant(db: Db, tenantId: string, profile: ReturnType<typeof defaultProfile>, detail: Record<string, unknown>): Promise<TenantRecord | undefined> {
  const inserted = await db.transaction().execute(async (tx) => {
    const row = await tx
      .insertInto('tenants')
      .values({ id: tenantId, ...columnsOf(profile), version: 1 })
      .onConflict((oc) => oc.column('id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) await auditTenant(tx, tenantId, 'v1:tenant.created', 'tenant.created', detail);
    return row;
  });
  return inserted ? recordOf(inserted) : undefined;
}

/**
 * The tenant, created with the default profile (audited as created by `by`) when there is none yet: what admission
 * does for an unknown tenant unless ADOS_REQUIRE_TENANTS=1. `created` says whether this call created it.
 */
export async function ensureTenant(db: Db, tenantId: string, by: string): Promise<{ tenant: TenantRecord; created: boolean }> {
  const existing = await getTenant(db, tenantId);
  if (existing) return { tenant: existing, created: false };
  const profile = defaultProfile();
  const created = await insertTenant(db, tenantId, profile, { by, profile, defaults: true });
  return created ? { tenant: created, created: true } : { tenant: await requireTenant(db, tenantId), created: false };
}

/**
 * Applies `patch` (or the patch it computes from the current profile) to a tenant's profile and audits what changed
 * (`event`, e.g. `tenant.updated`), in one transaction holding the tenant's row, so concurrent changes apply one
 * after the other and none is lost.
 */
export async function updateTenant(
  db: Db,
  tenantId: string,
  patch: unknown | ((current: TenantProfile) => unknown),
  by: string,
  event = 'tenant.updated',
  detail: Record<string, unknown> = {},
): Promise<TenantRecord> {
  return db.transaction().execute(async (tx) => {
    // A patch computed from the profile (a role granted, a policy changed) sees every change made before it.
    const row = await tx.selectFrom('tenants').selectAll().where('id', '=', tenantId).forUpdate().executeTakeFirst();
    if (!row) throw new TenantNotFoundError(tenantId);
    const current = recordOf(row);
    const profile = validated(current.profile, typeof patch === 'function' ? patch(current.profile) : patch);
    const version = current.version + 1;
    const updated = await tx
      .updateTable('tenants')
      .set({ ...columnsOf(profile), version, updated_at: new Date() })
      .where('id', '=', tenantId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await auditTenant(tx, tenantId, `v${version}:${event}`, event, { by, ...detail, changes: profileChanges(current.profile, profile) });
    return recordOf(updated);
  });
}

/** Deactivates a tenant: admission refuses its new runs; runs in flight are not touched here (README, "Deactivation"). */
export async function deactivateTenant(db: Db, tenantId: string, by: string, reason?: string): Promise<TenantRecord> {
  return updateTenant(db, tenantId, { active: false }, by, 'tenant.deactivated', reason ? { reason } : {});
}

/**
 * Copies the policy space (planner, tool, agent and generation policies) of `sourceId` to `targetId`, creating the
 * target with the default profile first when it does not exist. The budget and limits of the target stay its own.
 */
export async function forkPolicy(db: Db, sourceId: string, targetId: string, by: string): Promise<TenantRecord> {
  const source = await requireTenant(db, sourceId);
  if (sourceId === targetId) throw new InputValidationError('fork-policy', [{ path: '<target>', message: 'must differ from the source tenant' }]);
  await ensureTenant(db, targetId, by);
  return updateTenant(db, targetId, { policies: source.profile.policies }, by, 'tenant.policy_forked', { from: sourceId });
}

/** What a tenant spent in the UTC day and month that contain `now`, per unit (README, "Budgets and alerts"). */
export async function tenantSpend(db: Db, tenantId: string, now: Date = new Date()): Promise<Record<string, WindowSpend>> {
  const windows = budgetWindows(now);
  const rows = await db
    .selectFrom('task_costs')
    .select([
      'unit',
      // Rounded to millionths, as the budget arithmetic compares (double precision sums drift: 0.1 + 0.2).
      sql<string>`round(coalesce(sum(amount) filter (where created_at >= ${windows.day.start}), 0)::numeric, 6)`.as('day'),
      sql<string>`round(coalesce(sum(amount), 0)::numeric, 6)`.as('month'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', windows.month.start)
    .where('created_at', '<=', now)
    .groupBy('unit')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.unit, { day: Number(r.day), month: Number(r.month) }]));
}

/** A run's cost this month, per unit (`ados tenant show` lists the costliest). */
export interface RunCost {
  workflowId: string;
  unit: string;
  amount: number;
  tasks: number;
}

export async function costliestRuns(db: Db, tenantId: string, now: Date = new Date(), limit = 5): Promise<RunCost[]> {
  const rows = await db
    .selectFrom('task_costs')
    .select(['workflow_id', 'unit', sql<string>`round(sum(amount)::numeric, 6)`.as('amount'), sql<string>`count(distinct (environment, task_id))`.as('tasks')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', budgetWindows(now).month.start)
    .groupBy(['workflow_id', 'unit'])
    .orderBy(sql`sum(amount)`, 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ workflowId: r.workflow_id, unit: r.unit, amount: Number(r.amount), tasks: Number(r.tasks) }));
}

/** Runs the database records as running for this tenant. */
export async function runsInFlight(db: Db, tenantId: string): Promise<number> {
  const row = await db.selectFrom('runs').select(sql<string>`count(*)`.as('n')).where('tenant_id', '=', tenantId).where('status', '=', 'running').executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Audits budget alerts, each once per window and period (`budget.alert:day:2026-11-22`); returns those new. */
export async function recordBudgetAlerts(db: Db, tenantId: string, alerts: readonly BudgetAlert[], raisedBy: string): Promise<BudgetAlert[]> {
  const fresh: BudgetAlert[] = [];
  for (const alert of alerts) {
    if (await auditTenant(db, tenantId, `budget.alert:${alert.window}:${alert.period}`, 'budget.alert', { ...alert, raisedBy })) fresh.push(alert);
  }
  return fresh;
}

/** Audits an admission refusal, once per workflow ID. */
export async function recordAdmissionRefusal(db: Db, tenantId: string, workflowId: string, reason: string, by: string): Promise<void> {
  await auditTenant(db, tenantId, `admission.refused:${workflowId}`, 'admission.refused', { workflowId, reason, by });
}

/** One entry of a tenant's own audit trail, newest first. */
export interface TenantEvent {
  event: string;
  key: string;
  detail: unknown;
  at: Date;
}

export async function tenantEvents(db: Db, tenantId: string, options: { events?: string[]; limit?: number } = {}): Promise<TenantEvent[]> {
  let query = db.selectFrom('audit_log').select(['event', 'event_key', 'detail', 'created_at']).where('workflow_id', '=', tenantAuditId(tenantId));
  if (options.events) query = query.where('event', 'in', options.events);
  const rows = await query.orderBy('id', 'desc').limit(options.limit ?? 20).execute();
  return rows.map((r) => ({ event: r.event, key: r.event_key, detail: r.detail, at: r.created_at }));
}
