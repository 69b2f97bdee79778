/**
 * The anomaly pipeline's control activities (the database): its row in `runs`, the metric's samples it tests the
 * handler on, the tenant's governance approvers it escalates to, and the handlers it deployed (anomaly_handlers).
 * Each write is idempotent on the workflow's keys, so a retried attempt writes once.
 */
import type { Updateable } from 'kysely';
import { eligibleApprovers, type ApprovalPolicy } from '../../shared/contract/approval';
import { DEFAULT_HANDLER_APPROVAL_TIMEOUT, type HandlerAlertRate, type HandlerDeployment, type MetricSample } from '../../shared/contract/anomaly/pipeline';
import type { Db } from '../../shared/node/db';
import type { AnomalyHandlersTable } from '../../shared/node/db/schema';
import { getTenant } from '../../shared/node/tenancy/store';
import type { AuditRecord } from '../common/audit-activities';
import { appendAudit, finishRun, insertRun } from '../common/run-records';

export interface PipelineStartedRecord extends AuditRecord {
  runId: string;
  requestedBy: string;
  input: unknown;
}

export interface PipelineFinishedRecord extends AuditRecord {
  status: string;
  result: unknown;
}

/** Which samples of the metric: a span, or the `limit` right before (or after) a time. */
export type SampleWindow =
  | { tenantId: string; metric: string; from: string; to: string; limit: number }
  | { tenantId: string; metric: string; before: string; limit: number }
  | { tenantId: string; metric: string; after: string; limit: number };

export interface HandlerRecord extends AuditRecord {
  metric: string;
  handler: string;
  deployment: HandlerDeployment;
}

export interface HandlerRemovedRecord extends AuditRecord {
  environment: string;
  pid: number;
  stopped: boolean;
}

export interface AlertRateRecord extends AuditRecord {
  environment: string;
  alertRate: HandlerAlertRate;
}

/** Changes a handler's row and appends the record's audit entry, in one transaction. */
async function updateHandler(
  db: Db,
  record: AuditRecord & { environment: string },
  values: Partial<Pick<Updateable<AnomalyHandlersTable>, 'status' | 'alert_samples' | 'alerts' | 'alert_rate'>>,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('anomaly_handlers')
      .set({ ...values, updated_at: new Date() })
      .where('workflow_id', '=', record.workflowId)
      .where('environment', '=', record.environment)
      .execute();
    await appendAudit(trx, record);
  });
}

/** How often the default normal window moves back past a recorded anomaly before it is taken as it is. */
const NORMAL_WINDOW_MOVES = 10;

const asSample = (row: { ts: Date; value: number }): MetricSample => ({ ts: new Date(row.ts).toISOString(), value: Number(row.value) });

export function createPipelineControlActivities(db: Db) {
  return {
    async recordPipelineStarted(record: PipelineStartedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await insertRun(trx, { ...record, kind: 'anomaly' });
        await appendAudit(trx, record);
      });
    },

    async recordPipelineFinished(record: PipelineFinishedRecord): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await finishRun(trx, record.workflowId, record.status, record.result);
        await appendAudit(trx, record);
      });
    },

    /**
     * The metric's samples in the window, in time order (read-only). The `limit` before a time is the default normal
     * window, so it is moved back until no other anomaly recorded on the metric lies in it (but those an operator
     * marked false positives, which are normal): a monitor's pipeline of a later anomaly would otherwise test "quiet on
     * normal" on the earlier ones and what follows them. After NORMAL_WINDOW_MOVES moves it is taken as it is.
     */
    async readMetricSamples(window: SampleWindow): Promise<MetricSample[]> {
      let query = db.selectFrom('metric_samples').select(['ts', 'value']).where('tenant_id', '=', window.tenantId).where('metric', '=', window.metric);
      if ('before' in window) {
        let before = new Date(window.before);
        for (let move = 0; ; move += 1) {
          const rows = await query.where('ts', '<', before).orderBy('ts', 'desc').limit(window.limit).execute();
          if (rows.length === 0) return [];
          const earlier = await db
            .selectFrom('anomalies')
            .select((eb) => eb.fn.min('start_ts').as('start'))
            .where('tenant_id', '=', window.tenantId)
            .where('metric', '=', window.metric)
            .where('start_ts', '<', before)
            .where('end_ts', '>=', rows[rows.length - 1].ts)
            .where((eb) => eb.or([eb('class', 'is', null), eb('class', '!=', 'false_positive')]))
            .executeTakeFirst();
          if (!earlier?.start || move >= NORMAL_WINDOW_MOVES) return rows.reverse().map(asSample);
          before = new Date(earlier.start);
        }
      }
      query = 'after' in window ? query.where('ts', '>', new Date(window.after)) : query.where('ts', '>=', new Date(window.from)).where('ts', '<=', new Date(window.to));
      return (await query.orderBy('ts', 'asc').limit(window.limit).execute()).map(asSample);
    },

    /**
     * The escalation's policy from the tenant's profile: everyone its prod approval policy lets approve (named
     * approvers and role members), quorum 1, the pipeline's default timeout. Undefined when the tenant names nobody.
     */
    async readGovernanceApprovers(input: { tenantId: string }): Promise<ApprovalPolicy | undefined> {
      const tenant = await getTenant(db, input.tenantId);
      const approvals = tenant?.profile.approvals;
      if (!approvals?.prod) return undefined;
      const approvers = eligibleApprovers(approvals.prod, approvals.roles);
      if (approvers.length === 0) return undefined;
      return { approvers, quorum: 1, timeout: DEFAULT_HANDLER_APPROVAL_TIMEOUT, signatures: approvals.prod.signatures };
    },

    /** A handler deployed to an environment: its row (serving) and its audit entry. */
    async recordHandlerDeployed(record: HandlerRecord): Promise<void> {
      const d = record.deployment;
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('anomaly_handlers')
          .values({
            workflow_id: record.workflowId,
            environment: d.environment,
            tenant_id: record.tenantId,
            metric: record.metric,
            handler: record.handler,
            service: d.service,
            release: d.release,
            url: d.url,
            port: d.port,
            pid: d.pid,
            status: 'serving',
          })
          .onConflict((oc) => oc.columns(['workflow_id', 'environment']).doUpdateSet({ release: d.release, url: d.url, port: d.port, pid: d.pid, status: 'serving', updated_at: new Date() }))
          .execute();
        await appendAudit(trx, record);
      });
    },

    async recordHandlerRemoved(record: HandlerRemovedRecord): Promise<void> {
      await updateHandler(db, record, { status: record.stopped ? 'removed' : 'serving' });
    },

    /** The promoted handler's alert rate on the metric so far (after each read of its watch that found samples). */
    async recordAlertRate(record: AlertRateRecord): Promise<void> {
      await updateHandler(db, record, { alert_samples: record.alertRate.samples, alerts: record.alertRate.alerts, alert_rate: record.alertRate.rate });
    },
  };
}

export type PipelineControlActivities = ReturnType<typeof createPipelineControlActivities>;
