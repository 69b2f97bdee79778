import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';
import { approvalPolicySchema, type ApprovalGateSnapshot } from '../approval';
import { issuesFromZod, listNames, type ValidationIssue } from '../validation';
import { EXTRACTION_SET_PATTERN, TENANT_ID_PATTERN } from '../workflow-ids';
import type { AppliedMigration } from './migrations';
import type { AgentKind, AgentSchema } from './schema';
import { validateSchemaSet, type SchemaIssue, type SchemaSetReport } from './validate';

/** The `schemaExtraction` workflow's input, result, progress query and activity payloads. Bundle-safe. */
export const DEFAULT_EXTRACTION_MAX_PARALLEL = 5;
export const MAX_SIMULATED_WORK_MS = 60_000;

export const extractionInputSchema = z.object({
  tenantId: z.string().regex(TENANT_ID_PATTERN, 'use lowercase letters, digits and "_" (no dashes), starting with a letter or digit'),
  /** Names the set (e.g. the directory): part of the workflow ID. */
  setName: z.string().regex(EXTRACTION_SET_PATTERN, 'use letters, digits, "_", "." and "-" (up to 64), starting with a letter or digit'),
  requestedBy: z.string().min(1, 'say who requests the extraction'),
  documents: z
    .array(z.object({ file: z.string().min(1, 'name the file the document came from'), document: z.unknown() }))
    .min(1, 'give at least one schema'),
  maxParallel: z.number().int('must be a whole number').min(1, 'must be at least 1').max(64, 'must be at most 64').default(DEFAULT_EXTRACTION_MAX_PARALLEL),
  /** Reject on validation warnings too. */
  strict: z.boolean().default(false),
  /** Who approves a breaking (major-version) migration; required when one is needed. */
  approval: approvalPolicySchema.optional(),
  /**
   * Benchmarks only: milliseconds of simulated work the extract activity adds per agent it really
   * extracts (a sleep with heartbeats; it starts with the cache lookup and a hit stops it), so
   * scheduling can be measured against a known critical path. 0 (the default) in real use.
   */
  simulatedWorkMs: z.number().int('must be a whole number').min(0, 'must be zero or more').max(MAX_SIMULATED_WORK_MS, `must be at most ${MAX_SIMULATED_WORK_MS}`).default(0),
});
export type ExtractionInput = z.input<typeof extractionInputSchema>;
export type ExtractionRequest = z.output<typeof extractionInputSchema>;

export type ExtractionValidation =
  | { ok: true; value: ExtractionRequest; report: SchemaSetReport; breaking: BreakingMigration[] }
  | { ok: false; issues: ValidationIssue[]; schemaIssues: SchemaIssue[]; report?: SchemaSetReport };

export interface BreakingMigration {
  agent: string;
  file: string;
  id: string;
  from: string;
  to: string;
}

/** A schema issue as a path + message pair, for InputValidationError and workflow failures. */
export function schemaIssueAsValidationIssue(issue: SchemaIssue): ValidationIssue {
  return { path: `${issue.file}: ${issue.path}`, message: `${issue.severity} [${issue.layer}] ${issue.message}` };
}

/**
 * Validates an extraction request: the envelope (zod), every schema through the layers (strict
 * mode refuses warnings too), and the approval policy a breaking migration needs. The client runs
 * it before starting; the workflow runs it again at entry.
 */
export function validateExtractionInput(raw: unknown): ExtractionValidation {
  const parsed = extractionInputSchema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, issues: issuesFromZod(parsed.error), schemaIssues: [] };
  }
  const request = parsed.data;
  const report = validateSchemaSet(request.documents, { strict: request.strict });
  const issues: ValidationIssue[] = [];
  const blocking = report.issues.filter((i) => i.severity === 'error' || request.strict);
  issues.push(...blocking.map(schemaIssueAsValidationIssue));

  const breaking: BreakingMigration[] = report.schemas.flatMap((s) =>
    s.migrations.filter((m) => m.breaking).map((m) => ({ agent: s.name ?? s.file, file: s.file, id: m.id, from: m.from, to: m.to })),
  );
  if (breaking.length > 0) {
    const what = listNames(breaking.map((b) => `${b.agent} (${b.from} → ${b.to})`));
    if (!request.approval) {
      issues.push({
        path: 'approval',
        message: `required: ${what} need${breaking.length === 1 ? 's' : ''} a breaking migration, which waits for a human approval; give approvers (ados extract --approvers alice,bob)`,
      });
    } else {
      const eligible = new Set(request.approval.approvers.filter((a) => a !== request.requestedBy));
      if (request.approval.quorum > eligible.size) {
        issues.push({
          path: 'approval.quorum',
          message: `quorum ${request.approval.quorum} can never be met: only ${eligible.size} distinct approver(s) other than the requester "${request.requestedBy}"`,
        });
      }
    }
  }
  if (issues.length > 0) return { ok: false, issues, schemaIssues: blocking, report };
  return { ok: true, value: request, report, breaking };
}

/** Why a node runs or is reused: the cache key part that differs from the last extraction of that agent. */
export type CacheKeyPart = 'schema' | 'extractor' | 'glue' | 'dependencies';

export interface CacheKeyParts {
  /** sha256 of the canonical JSON of the migrated, typed schema. */
  schemaSha256: string;
  extractorVersion: string;
  glueVersion: string;
  /** Output hash of every dependency, by agent name. */
  dependencies: Record<string, string>;
}

export interface CacheReason {
  part: CacheKeyPart | 'new' | 'hit';
  message: string;
}

export type ArtifactKind = 'module' | 'test' | 'manifest' | 'readme';

export interface ArtifactRef {
  /** Relative to the output directory: `<agent-slug>/<file>`. */
  path: string;
  kind: ArtifactKind;
  sha256: string;
  bytes: number;
}

export interface CachedOutput {
  cacheKey: string;
  outputSha256: string;
  artifacts: ArtifactRef[];
  /** The workflow that extracted it. */
  createdBy: string;
}

export interface NodePlan {
  name: string;
  decision: 'reuse' | 'run';
  /** Known when every dependency's output is known (reused) at planning time. */
  cacheKey?: string;
  keyParts?: CacheKeyParts;
  reasons: CacheReason[];
  entry?: CachedOutput;
}

export interface ExtractionPlan {
  extractorVersion: string;
  glueVersion: string;
  /** In dependency order. */
  nodes: NodePlan[];
  schemaSha256: Record<string, string>;
}

export type ExtractionNodeState = 'pending' | 'running' | 'cached' | 'done' | 'failed' | 'skipped';
export const EXTRACTION_NODE_STATES: readonly ExtractionNodeState[] = ['pending', 'running', 'cached', 'done', 'failed', 'skipped'];

export interface ExtractionNodeProgress {
  state: ExtractionNodeState;
  kind: AgentKind;
  dependsOn: string[];
  /** What planning decided before the run: reuse (cache hit) or run (with the reasons). */
  plan?: 'reuse' | 'run';
  reasons?: CacheReason[];
  /** Wall clock of the extract activity (done) or of the workflow (cached, skipped). */
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  worker?: string;
  attempt?: number;
  cacheKey?: string;
  outputSha256?: string;
  /** Why a node was skipped. */
  reason?: string;
  error?: string;
}

export type ExtractionStage = 'validating' | 'planning' | 'awaiting_approval' | 'extracting' | 'finished';

export interface MigrationRecord extends AppliedMigration {
  agent: string;
  file: string;
}

export type ExtractionOutcome = 'succeeded' | 'failed' | 'rejected' | 'approval_expired';

export interface ExtractionProgress {
  workflowId: string;
  tenantId: string;
  setName: string;
  stage: ExtractionStage;
  maxParallel: number;
  /** Agent names in dependency order. */
  order: string[];
  nodes: Record<string, ExtractionNodeProgress>;
  counts: Record<ExtractionNodeState, number>;
  cache: { hits: number; misses: number };
  /** Extract activities that generated artifacts (cache misses that ran). */
  extracted: number;
  migrations: MigrationRecord[];
  approval?: ApprovalGateSnapshot;
  waitingFor?: string;
  outcome?: ExtractionOutcome;
  startedAt: string;
  finishedAt?: string;
}

export interface ExtractionNodeResult {
  state: Exclude<ExtractionNodeState, 'pending' | 'running'>;
  reason?: string;
  error?: string;
  cacheKey?: string;
  outputSha256?: string;
  artifacts?: ArtifactRef[];
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  worker?: string;
}

export interface ExtractionResult {
  workflowId: string;
  tenantId: string;
  setName: string;
  outcome: ExtractionOutcome;
  reason?: string;
  order: string[];
  nodes: Record<string, ExtractionNodeResult>;
  cache: { hits: number; misses: number };
  extracted: number;
  migrations: MigrationRecord[];
  /** Validation warnings (a strict run has none). */
  warnings: SchemaIssue[];
  startedAt: string;
  finishedAt: string;
}

export const extractionProgressQuery = defineQuery<ExtractionProgress>('progress');

/** What the extract activity (queue `<prefix>.cap.extract`) receives for one agent. */
export interface ExtractAgentRequest {
  tenantId: string;
  workflowId: string;
  agent: AgentSchema;
  schemaSha256: string;
  /** Output hash of every dependency, by name (part of the cache key and of the generated module). */
  dependencies: Record<string, string>;
  /** The versions the plan was made with; a worker running other generators refuses (and the task goes to one that matches). */
  extractorVersion: string;
  glueVersion: string;
  simulatedWorkMs: number;
}

export interface ExtractAgentResult {
  /** True when another run had stored this exact key meanwhile: nothing was generated. */
  cached: boolean;
  cacheKey: string;
  outputSha256: string;
  artifacts: ArtifactRef[];
  startedAt: string;
  finishedAt: string;
  worker: string;
  attempt: number;
}

