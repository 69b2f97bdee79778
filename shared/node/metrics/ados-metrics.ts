import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'kysely';
import type { Db } from '../db';
import { listTenants, tenantSpend } from '../tenancy/store';

/**
 * ADOS's Prometheus metrics (README, "Observe"). Two sources: counters the activity interceptor keeps in this process
 * (workers/metrics-interceptor.ts), and gauges read on each scrape from PostgreSQL tables every kind already writes
 * (runs, approvals, audit_log, extraction_nodes, task_attempts, task_runtime_checkpoints, task_costs) and from
 * Temporal's visibility, so a kind being added shows up without code of its own here.
 */
export const adosRegistry = new Registry();

/** Activity executions in this worker process, by activity type, the workflow type that scheduled it, and outcome. */
export const activityExecutions = new Counter({
  name: 'ados_activity_executions_total',
  help: 'Activity executions in this worker process, by activity type, workflow type and outcome (completed|failed|cancelled)',
  labelNames: ['activity_type', 'workflow_type', 'outcome'] as const,
  registers: [adosRegistry],
});

export const activityDuration = new Histogram({
  name: 'ados_activity_duration_seconds',
  help: 'Activity execution time in this worker process, by activity type and outcome',
  labelNames: ['activity_type', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
  registers: [adosRegistry],
});

collectDefaultMetrics({ register: adosRegistry, prefix: 'ados_' });

/** What a scrape reads besides this process's counters; either may be absent (then its gauges stay empty). */
export interface ScrapeSources {
  /** The database, opened on first use. */
  db?: () => Promise<Db>;
  /** Counts workflows matching a visibility query (WorkflowService.CountWorkflowExecutions). */
  countWorkflows?: (query: string) => Promise<number>;
  /** Called when a source fails during a scrape (the scrape still answers, with that source's gauges empty). */
  onError?: (source: string, error: unknown) => void;
}

/** The quantiles of approval latency reported (1 is the maximum). */
const LATENCY_QUANTILES = [0.5, 0.9, 1] as const;

/** The value at quantile `q` (0..1) of `values` (nearest rank); undefined for none. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** One scrape-time family: its gauges are reset and refilled by `read` on each scrape. */
interface ScrapedFamily {
  source: string;
  gauges: Gauge<string>[];
  read(sources: { db: Db; countWorkflows?: ScrapeSources['countWorkflows'] }): Promise<void>;
  needs: 'db' | 'db+temporal';
}

/**
 * Adds the scrape-time gauges to `registry`, reading `sources` on each scrape. One gauge, ados_metrics_source_up,
 * says per source (postgres, temporal) whether the last scrape could read it.
 */
export function registerScrapeMetrics(sources: ScrapeSources, registry: Registry = adosRegistry): void {
  // Every gauge's collect is the one refresh of the scrape: the first gauge collected reads every source once.
  let refreshing: Promise<void> | undefined;
  const refresh = () =>
    (refreshing ??= readAll().finally(() => setImmediate(() => (refreshing = undefined))));
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry], collect: refresh });
  const runs = gauge('ados_runs', 'Runs recorded in PostgreSQL, by kind and status (running, succeeded, failed, ...)', ['kind', 'status']);
  const pending = gauge('ados_approvals_pending', 'Running workflows awaiting approval (AdosAwaitingApproval), by tenant', ['tenant']);
  const latency = gauge('ados_approval_latency_seconds', 'Time from approval.requested to each counted decision in the last 24 h, by quantile (1 = max)', ['quantile']);
  const decisions = gauge('ados_approval_decisions_24h', 'Counted approval decisions in the last 24 h, by decision', ['decision']);
  const nodes = gauge('ados_extraction_nodes', 'Extraction nodes recorded, by state', ['state']);
  const hitRatio = gauge('ados_extraction_cache_hit_ratio', 'Extraction nodes served from the cache over the nodes cached or extracted (all recorded)');
  const failovers = gauge('ados_task_failovers', 'Task attempts that resumed the work of an earlier attempt (from its heartbeat or checkpoint)', ['resume_source']);
  const itemsPerSecond = gauge('ados_runtime_items_per_second', 'Running task runtimes: items processed per second of running time, as of the last checkpoint', ['tenant', 'task']);
  const anomalyAlerts = gauge('ados_anomaly_alerts', 'Anomalies the monitors detected (the anomalies table), by tenant, metric and class (unclassified while still to classify)', ['tenant', 'metric', 'class']);
  const budgetSpent = gauge('ados_budget_spent', "Tenant spend in the current UTC day and month, by unit", ['tenant', 'window', 'unit']);
  const budgetLimit = gauge('ados_budget_limit', "Tenant budget per window (unset budgets are not reported)", ['tenant', 'window', 'unit']);
  const sourceUp = gauge('ados_metrics_source_up', 'Whether the last scrape could read the source (1) or not (0)', ['source']);

  const families: ScrapedFamily[] = [
    {
      source: 'postgres',
      needs: 'db',
      gauges: [runs],
      async read({ db }) {
        const rows = await db.selectFrom('runs').select(['kind', 'status', sql<string>`count(*)`.as('n')]).groupBy(['kind', 'status']).execute();
        for (const row of rows) runs.set({ kind: row.kind, status: row.status }, Number(row.n));
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [latency, decisions],
      async read({ db }) {
        const rows = await sql<{ decision: string; seconds: string | null }>`
          SELECT ap.decision, extract(epoch FROM ap.created_at - (
            SELECT max(a.created_at) FROM audit_log a
             WHERE a.workflow_id = ap.workflow_id AND a.event = 'approval.requested'
               AND a.detail->>'gate' = ap.gate AND a.created_at <= ap.created_at)) AS seconds
            FROM approvals ap
           WHERE ap.counted AND ap.created_at >= now() - interval '24 hours'`.execute(db);
        const seconds = rows.rows.flatMap((r) => (r.seconds === null ? [] : [Number(r.seconds)]));
        for (const q of LATENCY_QUANTILES) {
          const value = quantile(seconds, q);
          if (value !== undefined) latency.set({ quantile: String(q) }, value);
        }
        const counts = new Map<string, number>();
        for (const row of rows.rows) counts.set(row.decision, (counts.get(row.decision) ?? 0) + 1);
        for (const [decision, n] of counts) decisions.set({ decision }, n);
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [nodes, hitRatio],
      async read({ db }) {
        const rows = await db.selectFrom('extraction_nodes').select(['state', sql<string>`count(*)`.as('n')]).groupBy('state').execute();
        const byState = Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
        for (const [state, n] of Object.entries(byState)) nodes.set({ state }, n);
        const cached = byState.cached ?? 0;
        const served = cached + (byState.done ?? 0);
        if (served > 0) hitRatio.set(cached / served);
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [failovers],
      async read({ db }) {
        const rows = await db
          .selectFrom('task_attempts')
          .select(['resume_source', sql<string>`count(*)`.as('n')])
          .where('resume_source', '!=', 'start')
          .groupBy('resume_source')
          .execute();
        for (const row of rows) failovers.set({ resume_source: row.resume_source }, Number(row.n));
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [itemsPerSecond],
      async read({ db }) {
        const rows = await sql<{ tenant_id: string; task_id: string; processed: string | null; spent_ms: string | null }>`
          SELECT DISTINCT ON (c.tenant_id, c.task_id) c.tenant_id, c.task_id, c.state->>'processed' AS processed, c.state->>'spentMs' AS spent_ms
            FROM task_runtime_checkpoints c JOIN runs r ON r.workflow_id = c.workflow_id
           WHERE r.status = 'running'
           ORDER BY c.tenant_id, c.task_id, c.chain_index DESC`.execute(db);
        for (const row of rows.rows) {
          const spentSeconds = Number(row.spent_ms) / 1000;
          if (spentSeconds > 0) itemsPerSecond.set({ tenant: row.tenant_id, task: row.task_id }, Number(row.processed) / spentSeconds);
        }
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [anomalyAlerts],
      async read({ db }) {
        const rows = await db
          .selectFrom('anomalies')
          .select(['tenant_id', 'metric', 'class', sql<string>`count(*)`.as('n')])
          .groupBy(['tenant_id', 'metric', 'class'])
          .execute();
        for (const row of rows) anomalyAlerts.set({ tenant: row.tenant_id, metric: row.metric, class: row.class ?? 'unclassified' }, Number(row.n));
      },
    },
    {
      source: 'postgres',
      needs: 'db',
      gauges: [budgetSpent, budgetLimit],
      async read({ db }) {
        for (const tenant of await listTenants(db)) {
          const { perDay, perMonth, unit } = tenant.profile.budget;
          if (perDay !== null) budgetLimit.set({ tenant: tenant.id, window: 'day', unit }, perDay);
          if (perMonth !== null) budgetLimit.set({ tenant: tenant.id, window: 'month', unit }, perMonth);
          for (const [spentUnit, spend] of Object.entries(await tenantSpend(db, tenant.id))) {
            budgetSpent.set({ tenant: tenant.id, window: 'day', unit: spentUnit }, spend.day);
            budgetSpent.set({ tenant: tenant.id, window: 'month', unit: spentUnit }, spend.month);
          }
        }
      },
    },
    {
      source: 'temporal',
      needs: 'db+temporal',
      gauges: [pending],
      async read({ db, countWorkflows }) {
        const tenants = await db.selectFrom('tenants').select('id').where('active', '=', true).execute();
        const counts = await Promise.all(
          tenants.map(({ id }) => countWorkflows!(`AdosAwaitingApproval = true AND ExecutionStatus = 'Running' AND AdosTenant = '${id}'`)),
        );
        tenants.forEach(({ id }, i) => pending.set({ tenant: id }, counts[i]));
      },
    },
  ];

  async function readAll(): Promise<void> {
    const up: Record<string, boolean> = { postgres: !!sources.db, temporal: !!sources.db && !!sources.countWorkflows };
    for (const family of families) for (const g of family.gauges) g.reset();
    let db: Db | undefined;
    try {
      db = await sources.db?.();
    } catch (error) {
      up.postgres = up.temporal = false;
      sources.onError?.('postgres', error);
    }
    await Promise.all(
      families.map(async (family) => {
        if (!db || (family.needs === 'db+temporal' && !sources.countWorkflows)) return;
        try {
          await family.read({ db, countWorkflows: sources.countWorkflows });
        } catch (error) {
          up[family.source] = false;
          sources.onError?.(family.source, error);
        }
      }),
    );
    sourceUp.reset();
    for (const [source, ok] of Object.entries(up)) sourceUp.set({ source }, ok ? 1 : 0);
  }
}
