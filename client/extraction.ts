/** The typed client API for schema extraction; `ados extract` and `ados schema` are thin layers over it. */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Client, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { setHash8 } from '../shared/node/extraction/hashing';
import { loadArtifactContents } from '../shared/node/extraction/store';
import {
  extractionProgressQuery,
  validateExtractionInput,
  type ExtractionInput,
  type ExtractionPlan,
  type ExtractionNodeProgress,
  type ExtractionProgress,
  type ExtractionResult,
} from '../shared/contract/extraction/messages';
import { parseSchemaText } from '../shared/contract/extraction/syntax';
import { validateSchemaSet, type SchemaIssue, type SchemaSetReport, type SchemaSource } from '../shared/contract/extraction/validate';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../shared/contract/search-attributes';
import { controlTaskQueue } from '../shared/contract/task-queues';
import { tenantPriority, type AdmittedLimits } from '../shared/contract/tenancy/priority';
import { InputValidationError } from '../shared/contract/validation';
import { EXTRACTION_SET_PATTERN, extractionWorkflowId } from '../shared/contract/workflow-ids';
import { type AdosConfig, webUiWorkflowUrl } from '../shared/node/config';
import type { Db } from '../shared/node/db';
import { planExtraction } from '../shared/node/extraction/cache';
import { withTenantApprovalPolicy } from './approvers';
import { RunNotFoundError } from './common/run-errors';
import { ASCII_BAR, barText } from './common/progress-bar';

/** The files a schema directory's agents are read from. */
const SCHEMA_FILE = /\.(ya?ml|json)$/i;

export interface ReadSchemas {
  sources: SchemaSource[];
  /** Syntax-layer issues (errors for files that did not parse, warnings for those that did). */
  syntaxIssues: SchemaIssue[];
}

/** Reads schema files; each is labelled by `label(path)` in issues and in the workflow's records. */
export function readSchemaFiles(paths: readonly string[], label: (path: string) => string = (p) => p): ReadSchemas {
  const sources: SchemaSource[] = [];
  const syntaxIssues: SchemaIssue[] = [];
  for (const path of paths) {
    const file = label(path);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      syntaxIssues.push({ layer: 'syntax', severity: 'error', file, path: '(file)', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      continue;
    }
    const parsed = parseSchemaText(file, text);
    syntaxIssues.push(...parsed.issues);
    if (parsed.ok) sources.push({ file, document: parsed.document });
  }
  return { sources, syntaxIssues };
}

/** Every .yaml/.yml/.json file directly in `dir`, in name order, labelled by file name. */
export function readSchemaDir(dir: string): ReadSchemas {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => SCHEMA_FILE.test(n) && statSync(join(dir, n)).isFile()).sort();
  } catch (error) {
    throw new InputValidationError(`schema directory ${dir}`, [{ path: '(dir)', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  if (names.length === 0) {
    throw new InputValidationError(`schema directory ${dir}`, [{ path: '(dir)', message: 'holds no .yaml, .yml or .json files' }]);
  }
  return readSchemaFiles(names.map((n) => join(dir, n)), (p) => basename(p));
}

/** A set name from a directory: its base name, cleaned to the workflow-ID alphabet. */
export function setNameFor(dir: string): string {
  const name = basename(resolve(dir)).replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return EXTRACTION_SET_PATTERN.test(name) ? name : 'schemas';
}

/** Validation of files as a set (syntax included), as `ados schema validate` shows it. */
export function validateFiles(read: ReadSchemas, strict = false): SchemaSetReport {
  return validateSchemaSet(read.sources, { strict, syntaxIssues: read.syntaxIssues });
}

export interface StartedExtraction {
  workflowId: string;
  runId: string;
  webUrl: string;
  /** True when a run of this exact set was already in progress: the client follows it instead. */
  attached: boolean;
}

export function extractionWorkflowIdFor(input: Pick<ExtractionInput, 'tenantId' | 'setName' | 'documents'>): string {
  return extractionWorkflowId(input.tenantId, input.setName, setHash8(input.documents));
}

/**
 * Validates, asks `admit` (the tenant's admission, client/tenancy.ts admitExtraction; it throws to refuse), then
 * starts `schemaExtraction` (or attaches to the run of the same set already in progress).
 */
export async function startExtraction(
  client: Client,
  config: AdosConfig,
  raw: ExtractionInput,
  admit?: (request: ExtractionInput, workflowId: string) => Promise<AdmittedLimits | void>,
): Promise<StartedExtraction> {
  // A breaking migration waits for the tenant's prod approval policy where it has one (the request may only strengthen it).
  const governed = (await withTenantApprovalPolicy(config, raw, 'migration')) as ExtractionInput;
  const checked = validateExtractionInput(governed);
  if (!checked.ok) throw new InputValidationError('extraction', checked.issues);
  const request = checked.value;
  const workflowId = extractionWorkflowIdFor(request);
  const admitted = await admit?.(request, workflowId);
  try {
    const handle = await client.workflow.start('schemaExtraction', {
      taskQueue: controlTaskQueue(config.taskQueuePrefix),
      workflowId,
      args: [governed],
      priority: tenantPriority(request.tenantId, admitted?.tenant.profile.limits),
      staticSummary: `${request.tenantId}: extract ${request.documents.length} agent schema${request.documents.length === 1 ? '' : 's'} of set ${request.setName}`,
      staticDetails: request.documents.map((d) => `- ${d.file}`).join('\n'),
      typedSearchAttributes: [
        { key: AdosTenant, value: request.tenantId },
        { key: AdosKind, value: 'extraction' },
        { key: AdosStage, value: 'validating' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, webUrl: webUiWorkflowUrl(config, workflowId), attached: false };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      const description = await client.workflow.getHandle(workflowId).describe();
      return { workflowId, runId: description.runId, webUrl: webUiWorkflowUrl(config, workflowId), attached: true };
    }
    throw error;
  }
}

export async function getExtractionProgress(client: Client, workflowId: string): Promise<ExtractionProgress> {
  try {
    return await client.workflow.getHandle(workflowId).query(extractionProgressQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowId);
    throw error;
  }
}

export async function getExtractionResult(client: Client, workflowId: string): Promise<ExtractionResult> {
  return client.workflow.getHandle(workflowId).result();
}

/** The plan of a validated set against the cache, without starting anything (`--plan`). */
export async function planSet(db: Db, tenantId: string, report: SchemaSetReport): Promise<ExtractionPlan> {
  const schemas = report.schemas.flatMap((s) => (s.schema ? [s.schema] : []));
  return planExtraction(db, tenantId, schemas);
}

/** Writes every artifact of a finished run (done or reused agents) under `outDir`; returns the paths written. */
export async function writeArtifacts(db: Db, result: ExtractionResult, outDir: string): Promise<string[]> {
  const refs = Object.values(result.nodes).flatMap((n) => ((n.state === 'done' || n.state === 'cached') && n.artifacts ? n.artifacts : []));
  const contents = await loadArtifactContents(db, refs.map((r) => r.sha256));
  const written: string[] = [];
  for (const ref of refs) {
    const file = join(outDir, ref.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, contents.get(ref.sha256)!);
    written.push(file);
  }
  return written.sort();
}

/** The share of an extraction's nodes that finished (cached, done, failed or skipped); an empty set is done. */
export function finishedNodes(progress: ExtractionProgress): { finished: number; total: number } {
  const { counts } = progress;
  return { finished: counts.cached + counts.done + counts.failed + counts.skipped, total: progress.order.length };
}

/** What follows the bar and the count: the counts by state, cache hits and misses, elapsed time, stage. */
export function renderProgressDetail(progress: ExtractionProgress, elapsedMs: number): string {
  const { counts } = progress;
  return [
    `running ${counts.running}`,
    `done ${counts.done}`,
    `cached ${counts.cached}`,
    `failed ${counts.failed}`,
    `skipped ${counts.skipped}`,
    `hits ${progress.cache.hits} misses ${progress.cache.misses}`,
    `${(elapsedMs / 1000).toFixed(1)}s`,
    progress.stage === 'awaiting_approval' ? 'awaiting approval' : progress.stage,
  ].join('  ');
}

/** One line: a bar of finished nodes, the count, then renderProgressDetail (what a pipe gets per change). */
export function renderProgressLine(progress: ExtractionProgress, elapsedMs: number): string {
  const { finished, total } = finishedNodes(progress);
  return `[${barText(total === 0 ? 1 : finished / total, ASCII_BAR)}] ${finished}/${total}  ${renderProgressDetail(progress, elapsedMs)}`;
}

/** Per-node lines: state, duration, worker, and why (reuse reason, skip reason, error). */
type NodeLine = Pick<ExtractionNodeProgress, 'state' | 'durationMs' | 'worker' | 'error' | 'reason' | 'reasons'>;

export function renderNodeTable(progress: { order: readonly string[]; nodes: Record<string, NodeLine> }): string {
  const width = Math.max(6, ...progress.order.map((n) => n.length));
  return progress.order
    .map((name) => {
      const node = progress.nodes[name];
      const why = node.error ?? node.reason ?? (node.state === 'cached' ? node.reasons?.[0]?.message : undefined);
      const duration = node.durationMs !== undefined ? `${node.durationMs} ms` : '';
      return `  ${name.padEnd(width)}  ${node.state.padEnd(8)} ${duration.padStart(9)}${node.worker ? `  on ${node.worker}` : ''}${why ? `  (${why})` : ''}`.trimEnd();
    })
    .join('\n');
}

/** The `--plan` text: per agent, reuse or run, and why. */
export function renderPlan(plan: ExtractionPlan, tenantId: string): string {
  const width = Math.max(6, ...plan.nodes.map((n) => n.name.length));
  const reuse = plan.nodes.filter((n) => n.decision === 'reuse').length;
  const lines = [
    `plan for tenant ${tenantId} (extractor ${plan.extractorVersion}, glue ${plan.glueVersion}): ${reuse} reused from cache, ${plan.nodes.length - reuse} to run`,
  ];
  for (const node of plan.nodes) {
    lines.push(`  ${node.decision.padEnd(5)}  ${node.name.padEnd(width)}  ${node.reasons.map((r) => r.message).join('; ')}`);
  }
  return lines.join('\n');
}

/** The database the cache and artifacts live in; --plan, --out and drift need it. */
export { openCliDatabase } from './common/database';

