import { mkdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CapabilityRequest, CapabilityResult } from '../../shared/contract/delivery/capability-io';
import { formatIssues, issuesFromZod } from '../../shared/contract/validation';
import type { Db } from '../../shared/node/db';
import type { Logger } from '../../shared/node/logger';
import { generationFromActivityId, TaskEffects } from '../common/effects';
import type { CapabilityContext, CapabilityDefinition } from './define';

/** What the worker hosting a capability gives every attempt. */
export interface CapabilityHostDeps {
  db: Db;
  logger: Logger;
  workerIdentity: string;
  /** Root of the per-attempt workspaces (ADOS_WORKSPACE_DIR). */
  workspaceRoot: string;
}

/** One cost report of an attempt, recorded in `task_costs`. */
export interface ReportedCost {
  amount: number;
  unit: string;
}

/** A path segment from an id: anything outside [A-Za-z0-9._-] becomes `_`, so ids cannot climb out of the root. */
const segment = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';

/** The attempt's workspace: `<root>/<workflow>/<environment>/<task>/attempt-<n>`, emptied before the attempt. */
export function workspaceFor(root: string, request: Pick<CapabilityRequest, 'workflowId' | 'environment' | 'taskId'>, attempt: number): string {
  return path.join(root, segment(request.workflowId), segment(request.environment), segment(request.taskId), `attempt-${attempt}`);
}

/**
 * Runs one attempt of a capability: parses the task input with the definition's schema (a bad input is a
 * non-retryable InvalidCapabilityInput naming the field as `input.<path>`), prepares the attempt's context, runs the
 * handler, checks its output against the output schema, and records its reported costs (idempotent per attempt and
 * report).
 */
export async function runCapability(definition: CapabilityDefinition, request: CapabilityRequest, deps: CapabilityHostDeps): Promise<CapabilityResult> {
  const activity = Context.current();
  const { attempt, activityId, workflowExecution } = activity.info;
  const parsed = definition.input.safeParse(request.input);
  if (!parsed.success) {
    const issues = issuesFromZod(parsed.error).map((issue) => ({ ...issue, path: issue.path === '(root)' ? 'input' : `input.${issue.path}` }));
    throw ApplicationFailure.create({
      type: 'InvalidCapabilityInput',
      message: `task "${request.taskId}" (${definition.name}): ${formatIssues(issues)}`,
      nonRetryable: true,
    });
  }
  const logger = deps.logger.child({
    workflowId: request.workflowId,
    runId: workflowExecution?.runId,
    tenant: request.tenantId,
    taskId: request.taskId,
    environment: request.environment,
    capability: definition.name,
    activityType: activity.info.activityType,
    attempt,
  });
  const workspace = workspaceFor(deps.workspaceRoot, request, attempt);
  await emptyDirectory(workspace);

  const costs: ReportedCost[] = [];
  let effects: Promise<TaskEffects> | undefined;
  const ctx: CapabilityContext = {
    request,
    attempt,
    signal: activity.cancellationSignal,
    logger,
    workspace,
    lastCheckpoint: activity.info.heartbeatDetails,
    heartbeat: (details) => activity.heartbeat(details),
    effects: () => {
      effects ??= TaskEffects.claim(
        deps.db,
        { workflowId: request.workflowId, environment: request.environment, taskId: request.taskId },
        { generation: generationFromActivityId(activityId), attempt, worker: deps.workerIdentity },
        logger,
      );
      return effects;
    },
    reportCost: (amount, unit) => {
      if (!Number.isFinite(amount) || amount < 0) throw new Error(`reportCost: amount must be a finite number ≥ 0 (got ${amount})`);
      if (!/^[a-z][a-z0-9_]{0,31}$/i.test(unit)) throw new Error(`reportCost: unit must be a short word such as "usd" or "tokens" (got "${unit}")`);
      costs.push({ amount, unit });
    },
    db: deps.db,
    workerIdentity: deps.workerIdentity,
  };

  const output = await definition.handler(parsed.data, ctx);
  const checked = definition.output.safeParse(output);
  if (!checked.success) {
    throw ApplicationFailure.create({
      type: 'InvalidCapabilityOutput',
      message: `capability ${definition.name} ${definition.version} returned an output its schema refuses (a bug in the capability): ${formatIssues(issuesFromZod(checked.error))}`,
      nonRetryable: true,
    });
  }
  if (costs.length > 0) await recordCosts(deps.db, request, definition.name, attempt, costs);
  return { output: checked.data, worker: deps.workerIdentity, attempt };
}

/**
 * Creates `dir` empty. A fresh attempt's directory costs one synchronous recursive mkdir (it reports whether it
 * created anything); a leftover one (a retry on the same worker) is cleared first. Synchronous for the same reason as
 * the exec log file (shared/node/process/command.ts): microseconds on a local disk, where two trips through libuv's
 * thread pool cost a busy worker far more (bench/suites/exec-overhead.ts).
 */
async function emptyDirectory(dir: string): Promise<void> {
  if (mkdirSync(dir, { recursive: true }) !== undefined) return;
  await fs.rm(dir, { recursive: true, force: true });
  mkdirSync(dir);
}

/** Writes an attempt's cost reports; a retried write of the same attempt adds nothing (unique per attempt and seq). */
async function recordCosts(db: Db, request: CapabilityRequest, capability: string, attempt: number, costs: ReportedCost[]): Promise<void> {
  await db
    .insertInto('task_costs')
    .values(
      costs.map((cost, seq) => ({
        workflow_id: request.workflowId,
        tenant_id: request.tenantId,
        environment: request.environment,
        task_id: request.taskId,
        capability,
        attempt,
        seq,
        amount: cost.amount,
        unit: cost.unit,
      })),
    )
    .onConflict((oc) => oc.columns(['workflow_id', 'environment', 'task_id', 'attempt', 'seq']).doNothing())
    .execute();
}
