import type { ExtractionNodeResult, ExtractionPlan, ExtractionResult, MigrationRecord } from '../../shared/contract/extraction/messages';
import type { AgentSchema } from '../../shared/contract/extraction/schema';
import type { Db } from '../../shared/node/db';
import { appendAudit, finishRun, insertRun, toJson, type AuditEntry } from '../common/run-records';
import { planExtraction } from '../../shared/node/extraction/cache';
import { GENERATOR_VERSIONS, MANIFEST_FILE, type GeneratorVersions } from '../../shared/node/extraction/generators';
import { schemaSha256 } from '../../shared/node/extraction/hashing';

/** The fields of an audit entry, numbered by the workflow (workflows/common/audit-trail.ts). */
type Audited = Omit<AuditEntry, 'detail'>;

export interface StartExtractionRecord extends Audited {
  runId: string;
  requestedBy: string;
  /** What the run was asked (without the documents, which are in `schemas`). */
  input: Record<string, unknown>;
  schemas: Array<{ file: string; originalVersion: string; schema: AgentSchema }>;
  migrations: Array<MigrationRecord & { seq: number; auditKey: string }>;
}

export interface FinishExtractionRecord extends Audited {
  status: string;
  result: ExtractionResult;
}

/**
 * Control-queue activities of `schemaExtraction`: everything it writes to PostgreSQL besides the artifacts (written
 * by the extract activity) and the audit and approval entries every kind shares. Two round trips per run: start (run
 * row, schemas, applied migrations, cache plan) and finish (node outcomes, manifests, run result). Idempotent through
 * unique keys.
 */
export function createExtractionControlActivities(db: Db, versions: GeneratorVersions = GENERATOR_VERSIONS) {
  return {
    /** Records the run, its schemas and the migrations applied to them; returns the cache plan. */
    async startExtraction(record: StartExtractionRecord): Promise<ExtractionPlan> {
      await db.transaction().execute(async (trx) => {
        await insertRun(trx, {
          workflowId: record.workflowId,
          tenantId: record.tenantId,
          runId: record.runId,
          kind: 'extraction',
          requestedBy: record.requestedBy,
          input: record.input,
        });
        await appendAudit(trx, [
          {
            workflowId: record.workflowId,
            tenantId: record.tenantId,
            auditKey: record.auditKey,
            event: record.event,
            detail: { kind: 'extraction', requestedBy: record.requestedBy, agents: record.schemas.map((s) => s.schema.name) },
            workflowRunId: record.workflowRunId,
            historyEventId: record.historyEventId,
          },
          ...record.migrations.map((m) => ({
            workflowId: record.workflowId,
            tenantId: record.tenantId,
            auditKey: m.auditKey,
            event: 'schema.migrated',
            detail: { agent: m.agent, file: m.file, migration: m.id, from: m.from, to: m.to, breaking: m.breaking },
          })),
        ]);
        if (record.schemas.length > 0) {
          await trx
            .insertInto('schemas')
            .values(
              record.schemas.map((s) => ({
                tenant_id: record.tenantId,
                name: s.schema.name,
                version: s.schema.version,
                original_version: s.originalVersion,
                sha256: schemaSha256(s.schema),
                document: toJson(s.schema),
                file: s.file,
                first_workflow_id: record.workflowId,
              })),
            )
            .onConflict((oc) => oc.columns(['tenant_id', 'name', 'sha256']).doNothing())
            .execute();
        }
        if (record.migrations.length > 0) {
          await trx
            .insertInto('schema_migrations_applied')
            .values(
              record.migrations.map((m) => ({
                workflow_id: record.workflowId,
                tenant_id: record.tenantId,
                agent: m.agent,
                file: m.file,
                seq: m.seq,
                migration_id: m.id,
                from_version: m.from,
                to_version: m.to,
                breaking: m.breaking,
                changes: toJson(m.changes),
                warnings: toJson(m.warnings),
              })),
            )
            .onConflict((oc) => oc.columns(['workflow_id', 'agent', 'seq']).doNothing())
            .execute();
        }
      });
      return planExtraction(db, record.tenantId, record.schemas.map((s) => s.schema), versions);
    },

    /** Records every node's outcome, the manifests of the agents extracted or reused, and the run's result. */
    async finishExtraction(record: FinishExtractionRecord): Promise<void> {
      const nodes = Object.entries(record.result.nodes);
      await db.transaction().execute(async (trx) => {
        if (nodes.length > 0) {
          const rows = nodes.map(([agent, n]: [string, ExtractionNodeResult]) => ({
            workflow_id: record.workflowId,
            agent,
            state: n.state,
            cache_key: n.cacheKey ?? null,
            output_sha256: n.outputSha256 ?? null,
            reason: n.reason ?? null,
            error: n.error ?? null,
            worker: n.worker ?? null,
            started_at: n.startedAt ? new Date(n.startedAt) : null,
            finished_at: n.finishedAt ? new Date(n.finishedAt) : null,
            duration_ms: n.durationMs ?? null,
          }));
          await trx
            .insertInto('extraction_nodes')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['workflow_id', 'agent']).doUpdateSet((eb) => ({
                state: eb.ref('excluded.state'),
                cache_key: eb.ref('excluded.cache_key'),
                output_sha256: eb.ref('excluded.output_sha256'),
                reason: eb.ref('excluded.reason'),
                error: eb.ref('excluded.error'),
                worker: eb.ref('excluded.worker'),
                started_at: eb.ref('excluded.started_at'),
                finished_at: eb.ref('excluded.finished_at'),
                duration_ms: eb.ref('excluded.duration_ms'),
              })),
            )
            .execute();
        }
        const manifests = nodes.flatMap(([agent, n]) => {
          const manifest = n.artifacts?.find((a) => a.kind === 'manifest' && a.path.endsWith(`/${MANIFEST_FILE}`));
          return (n.state === 'done' || n.state === 'cached') && manifest
            ? [{ tenant_id: record.tenantId, agent, path: manifest.path, sha256: manifest.sha256, source: 'extracted', recorded_by: record.workflowId }]
            : [];
        });
        if (manifests.length > 0) {
          await trx.insertInto('manifests').values(manifests).onConflict((oc) => oc.columns(['tenant_id', 'agent', 'recorded_by']).doNothing()).execute();
        }
        await finishRun(trx, record.workflowId, record.status, record.result);
        await appendAudit(trx, {
          workflowId: record.workflowId,
          tenantId: record.tenantId,
          auditKey: record.auditKey,
          event: record.event,
          detail: {
            outcome: record.result.outcome,
            reason: record.result.reason,
            cache: record.result.cache,
            extracted: record.result.extracted,
            nodes: Object.fromEntries(nodes.map(([agent, n]) => [agent, n.state])),
          },
        });
      });
    },
  };
}

export type ExtractionControlActivities = ReturnType<typeof createExtractionControlActivities>;
