/** The typed client API for tenants (README, "Tenants"); `ados tenant` and admission at `ados run start` use it. */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { budgetAlerts, budgetStanding, type BudgetAlert, type WindowSpend, type WindowStanding } from '../shared/contract/tenancy/budget';
import type { DeliveryRun } from '../shared/contract/delivery/input';
import type { ExtractionInput } from '../shared/contract/extraction/messages';
import { AdosTenant } from '../shared/contract/search-attributes';
import { tenantGateRefreshSignal } from '../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, loadBackpressureConfig, loadTenancyConfig } from '../shared/node/config';
import type { Db } from '../shared/node/db';
import { createLogger } from '../shared/node/logger';
import { admitRun, type AdmissionOptions, type Admitted } from '../shared/node/tenancy/admission';
import { openCliDatabase } from './common/database';
import { costliestRuns, requireTenant, runsInFlight, tenantEvents, tenantSpend, type RunCost, type TenantEvent, type TenantRecord } from '../shared/node/tenancy/store';

/** What `ados tenant show` prints: the profile, spend against the budget, alerts and recent changes. */
export interface TenantReport {
  tenant: TenantRecord;
  /** Spend in the budget's unit per window, against its limit. */
  standing: WindowStanding[];
  /** Spend in units the budget does not count (reported by capabilities all the same). */
  otherUnits: Record<string, WindowSpend>;
  /** Alerts in force now (spend at 80% of a limit or more). */
  alerts: BudgetAlert[];
  /** Alerts audited so far (at admission), newest first. */
  auditedAlerts: TenantEvent[];
  runsInFlight: number;
  costliestRuns: RunCost[];
  /** Profile changes, newest first. */
  changes: TenantEvent[];
}

export async function tenantReport(db: Db, tenantId: string, now: Date = new Date()): Promise<TenantReport> {
  const tenant = await requireTenant(db, tenantId);
  const { unit } = tenant.profile.budget;
  const spendByUnit = await tenantSpend(db, tenantId, now);
  const standing = budgetStanding(tenant.profile.budget, spendByUnit[unit] ?? { day: 0, month: 0 });
  const otherUnits = Object.fromEntries(Object.entries(spendByUnit).filter(([u]) => u !== unit));
  return {
    tenant,
    standing,
    otherUnits,
    alerts: budgetAlerts(standing, unit, now),
    auditedAlerts: await tenantEvents(db, tenantId, { events: ['budget.alert'], limit: 5 }),
    runsInFlight: await runsInFlight(db, tenantId),
    costliestRuns: await costliestRuns(db, tenantId, now),
    changes: await tenantEvents(db, tenantId, { events: ['tenant.created', 'tenant.updated', 'tenant.deactivated', 'tenant.policy_forked'], limit: 5 }),
  };
}

/**
 * Cancels every running workflow of the tenant (found by its AdosTenant search attribute), for
 * `ados tenant deactivate --cancel-runs`. Each run handles the cancellation as it does any other (its activities are
 * cancelled, it records its end). Returns the workflow IDs asked to cancel.
 */
export async function cancelTenantRuns(client: Client, tenantId: string): Promise<string[]> {
  const query = `${AdosTenant.name} = '${tenantId}' AND ExecutionStatus = 'Running'`;
  const cancelled: string[] = [];
  for await (const execution of client.workflow.list({ query })) {
    await client.workflow.getHandle(execution.workflowId, execution.runId).cancel();
    cancelled.push(execution.workflowId);
  }
  return cancelled;
}

/**
 * Tells the tenant's gate to re-read the profile (after `ados tenant update`): 'refreshed', or 'not running' when
 * there is no gate (the next one reads the profile when it starts).
 */
export async function refreshTenantGate(client: Client, tenantId: string): Promise<'refreshed' | 'not running'> {
  try {
    await client.workflow.getHandle(tenantGateWorkflowId(tenantId)).signal(tenantGateRefreshSignal);
    return 'refreshed';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'not running';
    throw error;
  }
}

/**
 * Runs `fn` with admission open: the database (DATABASE_URL, required: admission reads the tenant's profile and
 * spend), a pino logger for alerts and refusals, ADOS_REQUIRE_TENANTS, and with `client` the backpressure check of
 * the run's task queues (ADOS_BACKPRESSURE_*).
 */
export async function withAdmission<T>(config: AdosConfig, fn: (admission: AdmissionOptions) => Promise<T>, client?: Client): Promise<T> {
  const database = await openCliDatabase(config, 'admission (the tenant\'s budget and active flag)');
  const backpressure = client
    ? { temporal: { workflowService: client.workflowService, namespace: config.temporalNamespace }, taskQueuePrefix: config.taskQueuePrefix, thresholds: loadBackpressureConfig() }
    : undefined;
  try {
    return await fn({ db: database.db, logger: createLogger('ados-admission', config.logLevel), requireTenants: loadTenancyConfig().requireTenants, backpressure });
  } finally {
    await database.close();
  }
}

/** The `admit` of startDeliveryRun: the run's maximum cost is its plan's goal.maxCost. */
export function admitDeliveryRun(admission: AdmissionOptions): (run: DeliveryRun, workflowId: string) => Promise<Admitted> {
  return (run, workflowId) =>
    admitRun(admission, { tenantId: run.tenantId, kind: 'delivery', workflowId, maxCost: run.goal.maxCost, requestedBy: run.requestedBy, capabilities: run.plan.tasks.map((t) => t.capability) });
}

/** The `admit` of startExtraction: an extraction declares no maximum cost, so it is refused only once a budget is spent. */
export function admitExtraction(admission: AdmissionOptions): (request: ExtractionInput, workflowId: string) => Promise<Admitted> {
  return (request, workflowId) =>
    admitRun(admission, { tenantId: request.tenantId, kind: 'extraction', workflowId, maxCost: 0, requestedBy: request.requestedBy, capabilities: ['extract'] });
}
