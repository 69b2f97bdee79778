/**
 * Admission (README, "Admission"): before a run starts, its tenant must exist (or is created with the default
 * profile, unless ADOS_REQUIRE_TENANTS=1), be active, and have the budget for the run's maximum cost in the day and
 * in the month; and the task queues the run needs must not be at backpressure `overload` (README, "Backpressure").
 * A refusal says the limit and by how much (or the queue, its backlog and a retry-after), and is audited; an alert
 * at 80% of a budget is audited once per period and logged every time. Admission is a check at start, not a
 * reservation: two runs admitted at the same moment may both count on the same remaining budget.
 */
import { overloadRefusal, type BackpressureReading, type BackpressureThresholds } from '../../contract/tenancy/backpressure';
import { admissionDecision, type BudgetAlert } from '../../contract/tenancy/budget';
import type { Db } from '../db';
import type { Logger } from '../logger';
import type { TemporalDeps } from '../task-queue-report';
import { readBackpressure } from './backpressure';
import { ensureTenant, getTenant, recordAdmissionRefusal, recordBudgetAlerts, tenantSpend, type TenantRecord } from './store';

/** A run, or a read or signal of one, that a tenant's rules refuse (the CLI: exit 6). */
export class TenantRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TenantRefusedError';
  }
}

/** A run refused because a queue it needs is at backpressure `overload` (the CLI: exit 6, like every refusal at admission). */
export class BackpressureRefusedError extends TenantRefusedError {
  constructor(
    message: string,
    readonly reading: BackpressureReading,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'BackpressureRefusedError';
  }
}

export interface AdmissionRequest {
  tenantId: string;
  /** `delivery`, `extraction`. */
  kind: string;
  workflowId: string;
  /** The most the run may cost, in the tenant's budget unit (a delivery plan's goal.maxCost; 0 when unknown). */
  maxCost: number;
  /** Who asks (recorded with a tenant this creates, and with a refusal). */
  requestedBy: string;
  /** The capabilities whose task queues the run needs, for the backpressure check. */
  capabilities?: readonly string[];
}

/** Where admission reads backpressure: Temporal's API, the deployment's queue prefix, the thresholds in force. */
export interface BackpressureCheck {
  temporal: TemporalDeps;
  taskQueuePrefix: string;
  thresholds: BackpressureThresholds;
}

export interface AdmissionOptions {
  db: Db;
  logger: Logger;
  /** ADOS_REQUIRE_TENANTS=1: refuse a tenant nobody created. */
  requireTenants: boolean;
  /** Without it (or without capabilities in the request), backpressure is not checked. */
  backpressure?: BackpressureCheck;
  now?: Date;
}

export interface Admitted {
  tenant: TenantRecord;
  /** The tenant was created by this admission, with the default profile. */
  createdTenant: boolean;
  alerts: BudgetAlert[];
  /** The backpressure read at admission; absent when it was not checked. */
  backpressure?: BackpressureReading;
}

/** Admits the run or throws TenantRefusedError with the reason. */
export async function admitRun(options: AdmissionOptions, request: AdmissionRequest): Promise<Admitted> {
  const { db, logger } = options;
  const now = options.now ?? new Date();
  const log = logger.child({ tenantId: request.tenantId, workflowId: request.workflowId, kind: request.kind });
  let tenant = await getTenant(db, request.tenantId);
  let createdTenant = false;
  if (!tenant) {
    if (options.requireTenants) {
      throw new TenantRefusedError(
        `tenant ${request.tenantId} does not exist and ADOS_REQUIRE_TENANTS=1 refuses tenants nobody created; create it: ados tenant create ${request.tenantId}`,
      );
    }
    ({ tenant, created: createdTenant } = await ensureTenant(db, request.tenantId, `admission of ${request.workflowId} (${request.requestedBy})`));
    if (createdTenant) log.info({ event: 'tenant.created' }, `created tenant ${request.tenantId} with the default profile`);
  }
  const spend = (await tenantSpend(db, request.tenantId, now))[tenant.profile.budget.unit] ?? { day: 0, month: 0 };
  const decision = admissionDecision(request.tenantId, tenant.profile, spend, request.maxCost, now);
  const fresh = await recordBudgetAlerts(db, request.tenantId, decision.alerts, `admission of ${request.workflowId}`);
  for (const alert of decision.alerts) {
    log.warn({ event: 'budget.alert', alert, audited: fresh.includes(alert) }, `budget alert for tenant ${request.tenantId}: ${alert.message}`);
  }
  if (!decision.admitted) {
    await recordAdmissionRefusal(db, request.tenantId, request.workflowId, decision.reason, request.requestedBy);
    log.warn({ event: 'admission.refused', reason: decision.reason }, decision.reason);
    throw new TenantRefusedError(decision.reason);
  }
  const backpressure = await checkBackpressure(options, request, log);
  return { tenant, createdTenant, alerts: decision.alerts, ...(backpressure ? { backpressure } : {}) };
}

/** Reads backpressure for the request; at overload, audits the refusal and throws BackpressureRefusedError. */
async function checkBackpressure(options: AdmissionOptions, request: AdmissionRequest, log: Logger): Promise<BackpressureReading | undefined> {
  const check = options.backpressure;
  if (!check || !request.capabilities || request.capabilities.length === 0) return undefined;
  const reading = await readBackpressure(check.temporal, { taskQueuePrefix: check.taskQueuePrefix, capabilities: request.capabilities }, check.thresholds);
  if (reading.level === 'normal') return reading;
  if (reading.level !== 'overload') {
    log.warn({ event: 'backpressure.raised', reading }, reading.reason);
    return reading;
  }
  const reason = overloadRefusal(request.tenantId, reading);
  await recordAdmissionRefusal(options.db, request.tenantId, request.workflowId, reason, request.requestedBy);
  log.warn({ event: 'admission.refused', reason, reading }, reason);
  throw new BackpressureRefusedError(reason, reading, reading.retryAfterSeconds ?? check.thresholds.retryAfterSeconds);
}
