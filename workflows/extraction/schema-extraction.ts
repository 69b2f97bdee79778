import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import type { ExtractionControlActivities } from '../../activities/extraction/control-activities';
import type { ExtractionWorkerActivities } from '../../activities/extraction/extract';
import { CAPABILITIES } from '../../shared/contract/capabilities';
import {
  EXTRACTION_NODE_STATES,
  extractionProgressQuery,
  validateExtractionInput,
  type ExtractAgentResult,
  type ExtractionInput,
  type ExtractionNodeProgress,
  type ExtractionNodeResult,
  type ExtractionOutcome,
  type ExtractionProgress,
  type ExtractionResult,
  type MigrationRecord,
  type NodePlan,
} from '../../shared/contract/extraction/messages';
import { canonicalJson } from '../../shared/contract/canonical';
import type { AgentSchema } from '../../shared/contract/extraction/schema';
import { topologicalOrder } from '../../shared/contract/graph';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { formatIssues } from '../../shared/contract/validation';
import { parseExtractionWorkflowId } from '../../shared/contract/workflow-ids';
import { ApprovalGate } from '../approval';
import { capabilityActivityOptions } from '../common/capability-activity';
import { AuditTrail } from '../common/audit-trail';
import { sha256Hex } from '../common/signature';
import { runTaskQueuePrefix } from '../common/task-queue';
import { errorMessage, failedNodesReason, runDag } from '../dag';

/** The approval gate's name for breaking (major-version) schema migrations. */
const MIGRATION_GATE = 'schema-migration';

/** Failures of the extract activity that a retry cannot fix: the schema or the input must change. */
const NON_RETRYABLE_EXTRACTION_ERRORS = ['InvalidExtractionInput', 'InvalidCapabilityInput'] as const;

interface AgentNode {
  id: string;
  dependsOn: readonly string[];
  schema: AgentSchema;
}

/** What a node hands to its dependents: its output hash (part of their cache keys). */
interface NodeOutput {
  outputSha256: string;
}

/**
 * A schema extraction run: validates and migrates the set (a breaking migration waits at the
 * approval gate), plans it against the cache, then extracts the agents in dependency order with
 * the DAG scheduler, at most maxParallel at once, each on the `extract` capability queue. Reused
 * agents run no activity. A failed agent skips its dependents; independent branches go on.
 */
export async function schemaExtraction(input: ExtractionInput): Promise<ExtractionResult> {
  const { workflowId } = workflowInfo();
  const checked = validateExtractionInput(input);
  if (!checked.ok) {
    throw ApplicationFailure.create({
      type: 'InvalidExtractionInput',
      message: `invalid extraction input:\n${formatIssues(checked.issues)}`,
      details: [checked.issues],
      nonRetryable: true,
    });
  }
  const request = checked.value;
  const { report, breaking } = checked;
  const prefix = runTaskQueuePrefix();
  /** What the approval gate writes (its handlers' writes must not be local activities: see deliveryRun). */
  const control = proxyActivities<AuditActivities>({
    taskQueue: controlTaskQueue(prefix),
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  /**
   * The run's start and finish records, as local activities of the control worker (which runs this workflow): a
   * database round trip each instead of a task-queue one. They retry until the database answers.
   */
  const records = proxyLocalActivities<ExtractionControlActivities>({
    startToCloseTimeout: '60s',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  /** The extract activity for one agent, on the `extract` capability's queue with its registry options. */
  const extractor = (agent: string) =>
    proxyActivities<ExtractionWorkerActivities>(
      capabilityActivityOptions('extract', CAPABILITIES.extract, prefix, { extraStartToCloseMs: request.simulatedWorkMs }, NON_RETRYABLE_EXTRACTION_ERRORS, `extract ${agent}`).options,
    );
  const audit = new AuditTrail(request.tenantId);
  const ids = parseExtractionWorkflowId(workflowId);

  const analyzed = report.schemas.filter((s): s is typeof s & { schema: AgentSchema } => s.schema !== undefined);
  const nodesById = new Map<string, AgentNode>(analyzed.map((s) => [s.schema.name, { id: s.schema.name, dependsOn: s.schema.dependsOn, schema: s.schema }]));
  const order = topologicalOrder([...nodesById.values()]);
  const nodes = order.map((id) => nodesById.get(id)!);
  const migrations: MigrationRecord[] = analyzed.flatMap((s) => s.migrations.map((m) => ({ ...m, agent: s.schema.name, file: s.file })));

  const startedAt = new Date(Date.now()).toISOString();
  const progress: ExtractionProgress = {
    workflowId,
    tenantId: request.tenantId,
    setName: request.setName,
    stage: 'validating',
    maxParallel: request.maxParallel,
    order,
    nodes: Object.fromEntries(nodes.map((n) => [n.id, { state: 'pending', kind: n.schema.kind, dependsOn: [...n.dependsOn] } satisfies ExtractionNodeProgress])),
    counts: { pending: 0, running: 0, cached: 0, done: 0, failed: 0, skipped: 0 },
    cache: { hits: 0, misses: 0 },
    extracted: 0,
    migrations,
    startedAt,
  };
  const gate = new ApprovalGate({
    gate: MIGRATION_GATE,
    policy: breaking.length > 0 ? request.approval : undefined,
    requestedBy: request.requestedBy,
    stage: () => progress.stage,
    audit,
    activities: control,
    workflowId,
    tenantId: request.tenantId,
    // What a breaking migration's approval covers: every schema of the set as submitted, and the breaking steps.
    subject: async () => ({
      kind: 'extraction',
      workflowId,
      gate: MIGRATION_GATE,
      target: 'extract',
      planSha256: sha256Hex(canonicalJson({ documents: request.documents, breaking })),
      artifacts: Object.fromEntries(request.documents.map((d) => [d.file, sha256Hex(canonicalJson(d.document))])),
    }),
  });
  setHandler(extractionProgressQuery, () => {
    const counts = Object.fromEntries(EXTRACTION_NODE_STATES.map((s) => [s, 0])) as ExtractionProgress['counts'];
    for (const node of Object.values(progress.nodes)) counts[node.state] += 1;
    return { ...progress, counts, nodes: { ...progress.nodes }, approval: gate.snapshot() };
  });

  const setStage = (stage: ExtractionProgress['stage']) => {
    progress.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
  };
  upsertSearchAttributes([
    { key: AdosTenant, value: request.tenantId },
    { key: AdosKind, value: 'extraction' },
    { key: AdosStage, value: 'planning' },
    { key: AdosAwaitingApproval, value: false },
  ]);
  progress.stage = 'planning';

  const plan = await records.startExtraction({
    ...audit.next('run.started'),
    runId: ids ? `${ids.setName}-${ids.hash8}` : workflowId,
    requestedBy: request.requestedBy,
    input: { setName: request.setName, maxParallel: request.maxParallel, strict: request.strict, approval: request.approval, simulatedWorkMs: request.simulatedWorkMs, files: request.documents.map((d) => d.file) },
    schemas: analyzed.map((s) => ({ file: s.file, originalVersion: s.originalVersion ?? s.schema.version, schema: s.schema })),
    migrations: migrations.map((m, seq) => ({ ...m, seq, auditKey: audit.next('schema.migrated').auditKey })),
  });
  const planByName = new Map<string, NodePlan>(plan.nodes.map((p) => [p.name, p]));
  for (const node of nodes) {
    const p = planByName.get(node.id);
    if (p) progress.nodes[node.id] = { ...progress.nodes[node.id], plan: p.decision, reasons: p.reasons, cacheKey: p.cacheKey };
  }

  let outcome: ExtractionOutcome = 'succeeded';
  let reason: string | undefined;
  const results: Record<string, ExtractionNodeResult> = {};
  const now = () => new Date(Date.now()).toISOString();

  if (breaking.length > 0) {
    upsertSearchAttributes([{ key: AdosStage, value: 'awaiting_approval' }]);
    const what = breaking.map((b) => `${b.agent} ${b.from} → ${b.to}`).join(', ');
    const decision = await gate.wait({ breaking }, () => {
      progress.stage = 'awaiting_approval';
      progress.waitingFor = `approval of the breaking migration(s) ${what} by ${request.approval?.quorum} of ${request.approval?.approvers.join(', ')} (within ${request.approval?.timeout})`;
    });
    progress.waitingFor = undefined;
    if (decision !== 'approved') {
      outcome = decision === 'rejected' ? 'rejected' : 'approval_expired';
      reason = decision === 'rejected' ? `breaking migration rejected by ${gate.snapshot()?.rejectedBy}` : `no approval of the breaking migration within ${request.approval?.timeout}`;
      for (const node of nodes) {
        progress.nodes[node.id] = { ...progress.nodes[node.id], state: 'skipped', reason };
        results[node.id] = { state: 'skipped', reason };
      }
    }
  }

  if (outcome === 'succeeded') {
    setStage('extracting');
    const outcomes = await runDag<AgentNode, NodeOutput>(
      nodes,
      request.maxParallel,
      async (node, upstream) => {
        const p = planByName.get(node.id);
        if (p?.decision === 'reuse' && p.entry) {
          const at = now();
          progress.cache.hits += 1;
          progress.nodes[node.id] = { ...progress.nodes[node.id], state: 'cached', startedAt: at, finishedAt: at, durationMs: 0, cacheKey: p.entry.cacheKey, outputSha256: p.entry.outputSha256 };
          results[node.id] = { state: 'cached', cacheKey: p.entry.cacheKey, outputSha256: p.entry.outputSha256, artifacts: p.entry.artifacts, startedAt: at, finishedAt: at, durationMs: 0, reason: p.reasons[0]?.message };
          return { outputSha256: p.entry.outputSha256 };
        }
        const dependencies: Record<string, string> = {};
        for (const dependency of [...node.dependsOn].sort()) dependencies[dependency] = upstream[dependency].outputSha256;
        progress.nodes[node.id] = { ...progress.nodes[node.id], state: 'running', startedAt: now() };
        let result: ExtractAgentResult;
        try {
          result = await extractor(node.id).extractAgent({
            tenantId: request.tenantId,
            workflowId,
            agent: node.schema,
            schemaSha256: plan.schemaSha256[node.id],
            dependencies,
            extractorVersion: plan.extractorVersion,
            glueVersion: plan.glueVersion,
            simulatedWorkMs: request.simulatedWorkMs,
          });
        } catch (error) {
          const message = errorMessage(error);
          progress.nodes[node.id] = { ...progress.nodes[node.id], state: 'failed', finishedAt: now(), error: message };
          results[node.id] = { state: 'failed', error: message, startedAt: progress.nodes[node.id].startedAt, finishedAt: progress.nodes[node.id].finishedAt };
          throw error;
        }
        const durationMs = Date.parse(result.finishedAt) - Date.parse(result.startedAt);
        const state = result.cached ? 'cached' : 'done';
        if (result.cached) progress.cache.hits += 1;
        else {
          progress.cache.misses += 1;
          progress.extracted += 1;
        }
        const timing = { startedAt: result.startedAt, finishedAt: result.finishedAt, durationMs, worker: result.worker };
        progress.nodes[node.id] = { ...progress.nodes[node.id], state, ...timing, attempt: result.attempt, cacheKey: result.cacheKey, outputSha256: result.outputSha256 };
        results[node.id] = { state, cacheKey: result.cacheKey, outputSha256: result.outputSha256, artifacts: result.artifacts, ...timing };
        return { outputSha256: result.outputSha256 };
      },
      {
        onSkip: (id, why) => {
          progress.nodes[id] = { ...progress.nodes[id], state: 'skipped', reason: why };
          results[id] = { state: 'skipped', reason: why };
        },
      },
    );
    const failed = failedNodesReason(outcomes, 'agent');
    if (failed) {
      outcome = 'failed';
      reason = failed;
    }
  }

  setStage('finished');
  progress.outcome = outcome;
  progress.finishedAt = now();
  const result: ExtractionResult = {
    workflowId,
    tenantId: request.tenantId,
    setName: request.setName,
    outcome,
    reason,
    order,
    nodes: Object.fromEntries(order.map((id) => [id, results[id]])),
    cache: { ...progress.cache },
    extracted: progress.extracted,
    migrations,
    warnings: report.issues.filter((i) => i.severity === 'warning'),
    startedAt,
    finishedAt: progress.finishedAt,
  };
  await records.finishExtraction({ ...audit.next('run.finished'), status: outcome, result });
  log.info('schema extraction finished', { outcome, reason, hits: result.cache.hits, misses: result.cache.misses });
  await condition(allHandlersFinished);
  return result;
}
