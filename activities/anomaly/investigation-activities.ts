/**
 * The investigator's activities: gather the context of a novel anomaly (its samples against the baseline before it,
 * its earlier sightings), and record the finding, with its signature as known, so that the monitor notifies the next
 * one instead of investigating it again. Both idempotent.
 */
import type { AnomalyContext, AnomalyFinding, AnomalyInvestigationInput, SpanStats } from '../../shared/contract/anomaly/investigation';
import { durationToMs } from '../../shared/contract/duration';
import { recordFinding, recordKnownSignature } from '../../shared/node/anomaly/store';
import type { Db } from '../../shared/node/db';
import { appendAudit } from '../common/run-records';

export function createAnomalyInvestigationActivities(db: Db) {
  const span = async (tenantId: string, metric: string, from: Date, to: Date, includeTo: boolean): Promise<SpanStats> => {
    const row = await db
      .selectFrom('metric_samples')
      .select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.avg<number>('value').as('mean'), eb.fn.min<number>('value').as('min'), eb.fn.max<number>('value').as('max')])
      .where('tenant_id', '=', tenantId)
      .where('metric', '=', metric)
      .where('ts', '>=', from)
      .where('ts', includeTo ? '<=' : '<', to)
      .executeTakeFirstOrThrow();
    const samples = Number(row.n);
    return samples === 0 ? { samples } : { samples, mean: Number(row.mean), min: Number(row.min), max: Number(row.max) };
  };

  return {
    /** The anomaly's samples, the baseline of four times its length before it, and its earlier sightings in the window. */
    async gatherAnomalyContext(input: AnomalyInvestigationInput): Promise<AnomalyContext> {
      const { anomaly } = input;
      const start = new Date(anomaly.start);
      const end = new Date(anomaly.end);
      const length = Math.max(end.getTime() - start.getTime(), 60_000);
      const earlier = await db
        .selectFrom('anomalies')
        .select(['id', 'start_ts'])
        .where('tenant_id', '=', anomaly.tenantId)
        .where('metric', '=', anomaly.metric)
        .where('signature', '=', anomaly.signature)
        .where('start_ts', '<', start)
        .where('start_ts', '>=', new Date(start.getTime() - durationToMs(input.novelWindow)))
        .orderBy('start_ts', 'desc')
        .limit(10)
        .execute();
      return {
        during: await span(anomaly.tenantId, anomaly.metric, start, end, true),
        baseline: await span(anomaly.tenantId, anomaly.metric, new Date(start.getTime() - 4 * length), start, false),
        earlier: earlier.map((row) => ({ id: row.id, start: row.start_ts.toISOString() })),
      };
    },

    /** Records the finding and the signature as known (each once), and audits it. */
    async recordAnomalyFinding(request: { workflowId: string; finding: AnomalyFinding; input: AnomalyInvestigationInput }): Promise<void> {
      const { anomaly } = request.input;
      await recordFinding(db, anomaly, request.workflowId, request.finding);
      await recordKnownSignature(db, anomaly, anomaly.signature, request.finding.summary, request.workflowId);
      await appendAudit(db, {
        workflowId: request.workflowId,
        tenantId: anomaly.tenantId,
        auditKey: `finding:${anomaly.id}`,
        event: 'anomaly.finding',
        detail: { anomalyId: anomaly.id, signature: anomaly.signature, direction: request.finding.direction, summary: request.finding.summary },
      });
    },
  };
}

export type AnomalyInvestigationActivities = ReturnType<typeof createAnomalyInvestigationActivities>;
