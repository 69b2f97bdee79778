/**
 * The governance tables (migration 0008_governance): actions carried out (cooldowns and repetition read them across
 * runs), change freezes per tenant and environment, and each tenant's overrides of the default rules. Every write is
 * idempotent on its unique key.
 */
import { createHash } from 'node:crypto';
import { freezeInputSchema, type ChangeFreeze, type FreezeInput } from '../../contract/governance/freeze';
import type { ActionRecord } from '../../contract/governance/gates';
import { governanceOverridesSchema, type GovernanceOverrides } from '../../contract/governance/policy';
import { InputValidationError, issuesFromZod } from '../../contract/validation';
import type { Db } from '../db';

/** One action carried out, as a run records it. */
export interface GovernedActionRow {
  tenantId: string;
  service: string;
  environment: string;
  action: string;
  workflowId: string;
  /** Unique within the workflow (e.g. `00007:restart`). */
  actionKey: string;
  outcome: 'succeeded' | 'failed';
  detail: Record<string, unknown>;
  at: Date;
}

/** Records an action once per (workflow, key); returns when it is recorded as carried out (the first write's time). */
export async function recordAction(db: Db, row: GovernedActionRow): Promise<Date> {
  await db
    .insertInto('governance_actions')
    .values({
      tenant_id: row.tenantId,
      service: row.service,
      environment: row.environment,
      action: row.action,
      workflow_id: row.workflowId,
      action_key: row.actionKey,
      outcome: row.outcome,
      detail: JSON.stringify(row.detail),
      at: row.at,
    })
    .onConflict((oc) => oc.columns(['workflow_id', 'action_key']).doNothing())
    .execute();
  const stored = await db.selectFrom('governance_actions').select('at').where('workflow_id', '=', row.workflowId).where('action_key', '=', row.actionKey).executeTakeFirstOrThrow();
  return stored.at;
}

/** A target's actions carried out since `since`, oldest first. */
export async function recentActions(db: Db, target: { tenantId: string; service: string; environment: string }, since: Date): Promise<ActionRecord[]> {
  const rows = await db
    .selectFrom('governance_actions')
    .select(['action', 'service', 'environment', 'at'])
    .where('tenant_id', '=', target.tenantId)
    .where('service', '=', target.service)
    .where('environment', '=', target.environment)
    .where('at', '>=', since)
    .orderBy('at')
    .execute();
  return rows.map((r) => ({ action: r.action, service: r.service, environment: r.environment, at: r.at.toISOString() }));
}

type FreezeRow = { id: string; tenant_id: string; environment: string; starts_at: Date; ends_at: Date; reason: string; policy: string; created_by: string };

function freezeOf(row: FreezeRow): ChangeFreeze {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    environment: row.environment as ChangeFreeze['environment'],
    start: row.starts_at.toISOString(),
    end: row.ends_at.toISOString(),
    reason: row.reason,
    policy: row.policy as ChangeFreeze['policy'],
    createdBy: row.created_by,
  };
}

/** A freeze's id: derived from its tenant, environment and window, so adding the same window twice is one freeze. */
function freezeId(tenantId: string, environment: string, start: Date, end: Date): string {
  return `frz_${createHash('sha256').update(`${tenantId}\n${environment}\n${start.toISOString()}\n${end.toISOString()}`).digest('hex').slice(0, 10)}`;
}

/**
 * Adds a freeze (validated: bad input names the field). The same tenant, environment and window again returns the
 * freeze already there (also when it was removed: it comes back with the new reason and policy).
 */
export async function addFreeze(db: Db, input: FreezeInput): Promise<{ freeze: ChangeFreeze; created: boolean }> {
  const parsed = freezeInputSchema.safeParse(input);
  if (!parsed.success) throw new InputValidationError('freeze', issuesFromZod(parsed.error));
  const f = parsed.data;
  const start = new Date(f.start);
  const end = new Date(f.end);
  const id = freezeId(f.tenantId, f.environment, start, end);
  const inserted = await db
    .insertInto('change_freezes')
    .values({ id, tenant_id: f.tenantId, environment: f.environment, starts_at: start, ends_at: end, reason: f.reason, policy: f.policy, created_by: f.createdBy })
    .onConflict((oc) => oc.column('id').doUpdateSet({ removed_at: null, reason: f.reason, policy: f.policy }).where('change_freezes.removed_at', 'is not', null))
    .returning('id')
    .executeTakeFirst();
  const row = await db.selectFrom('change_freezes').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return { freeze: freezeOf(row), created: inserted !== undefined };
}

/** A tenant's freezes not removed, ending after `endingAfter` (default: all), optionally of one environment ('*' included), by start. */
export async function listFreezes(db: Db, tenantId: string, options: { environment?: string; endingAfter?: Date } = {}): Promise<ChangeFreeze[]> {
  let query = db.selectFrom('change_freezes').selectAll().where('tenant_id', '=', tenantId).where('removed_at', 'is', null);
  if (options.environment) query = query.where('environment', 'in', [options.environment, '*']);
  if (options.endingAfter) query = query.where('ends_at', '>', options.endingAfter);
  const rows = await query.orderBy('starts_at').orderBy('id').execute();
  return rows.map(freezeOf);
}

/** Removes a tenant's freeze (marked, kept for the record). Refused, naming the id, when the tenant has no such freeze. */
export async function removeFreeze(db: Db, tenantId: string, id: string): Promise<ChangeFreeze> {
  const row = await db
    .updateTable('change_freezes')
    .set({ removed_at: new Date() })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('removed_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new InputValidationError('freeze removal', [{ path: '<id>', message: `tenant ${tenantId} has no freeze ${id} in force: \`ados freeze list --tenant ${tenantId}\` shows the ids` }]);
  return freezeOf(row);
}

/** A tenant's overrides of the default rules ({} when none). */
export async function governanceOverrides(db: Db, tenantId: string): Promise<GovernanceOverrides> {
  const row = await db.selectFrom('governance_policies').select('overrides').where('tenant_id', '=', tenantId).executeTakeFirst();
  return row ? governanceOverridesSchema.parse(row.overrides) : {};
}

/** Sets a tenant's overrides (validated; replaces the previous ones). */
export async function setGovernanceOverrides(db: Db, tenantId: string, overrides: unknown): Promise<GovernanceOverrides> {
  const parsed = governanceOverridesSchema.safeParse(overrides);
  if (!parsed.success) throw new InputValidationError('governance overrides', issuesFromZod(parsed.error));
  const text = JSON.stringify(parsed.data);
  await db
    .insertInto('governance_policies')
    .values({ tenant_id: tenantId, overrides: text })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ overrides: text, updated_at: new Date() }))
    .execute();
  return parsed.data;
}
