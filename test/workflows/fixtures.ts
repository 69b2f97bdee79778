/**
 * Inputs and database read-backs shared by the workflow tests and the history recorder (test/replay).
 * The plan is test/fixtures/plans/template-plan.yaml (build → deploy → verify, and an analysis branch, none of which
 * starts a process), so the workflow tests and the recorded histories exercise the orchestration alone.
 */
import path from 'node:path';
import { readInputFile } from '../../client/plan-file';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { Db } from '../../shared/node/db';
import { PROJECT_ROOT } from '../helpers/toolchain';

export const PROJECT_EXAMPLES = path.join(PROJECT_ROOT, 'examples');
export const EXAMPLE_PLAN = path.join(PROJECT_ROOT, 'test', 'fixtures', 'plans', 'template-plan.yaml');

/** Task ids of the example plan, in plan order, with their capability. */
export const EXAMPLE_TASKS = [
  { id: 'build-api', capability: 'build' },
  { id: 'deploy-api', capability: 'deploy' },
  { id: 'verify-api', capability: 'verify' },
  { id: 'latency-report', capability: 'analysis' },
] as const;

let counter = 0;
/** A run id unique in this process (and across processes, by the random part). */
export function uniqueRunId(tag: string): string {
  counter += 1;
  return `${tag}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

type PlanInput = DeliveryRunInput & { plan: { tasks: Array<Record<string, unknown> & { id: string; input?: Record<string, unknown> }> } };

/** The example plan with a fresh run id; `overrides` replace top-level fields. */
export function exampleRun(overrides: Partial<DeliveryRunInput> & { tenantId?: string } = {}, tag = 'wf'): PlanInput {
  const example = readInputFile(EXAMPLE_PLAN) as PlanInput;
  return { ...example, runId: uniqueRunId(tag), ...overrides } as PlanInput;
}

/** The example plan whose build task's template uses a variable nobody defines (a non-retryable input error). */
export function brokenBuildRun(overrides: Partial<DeliveryRunInput> = {}, tag = 'broken'): PlanInput {
  const run = exampleRun(overrides, tag);
  run.plan.tasks = run.plan.tasks.map((task) =>
    task.id === 'build-api' ? { ...task, input: { ...task.input, template: 'service {{name}} built by {{builder}}\n' } } : task,
  );
  return run;
}

/** A dev-only run of `tasks` (no approval, no cost) for `tenantId`; `overrides` replace top-level fields. */
export function tasksRun(tenantId: string, runId: string, tasks: DeliveryRunInput['plan']['tasks'], overrides: Partial<DeliveryRunInput> = {}): DeliveryRunInput {
  return {
    tenantId,
    runId,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 },
    environments: ['dev'],
    plan: { tasks },
    ...overrides,
  };
}

export async function auditEvents(db: Db, workflowId: string): Promise<Array<{ key: string; event: string; detail: Record<string, unknown> }>> {
  const rows = await db.selectFrom('audit_log').selectAll().where('workflow_id', '=', workflowId).orderBy('event_key').execute();
  return rows.map((row) => ({ key: row.event_key, event: row.event, detail: row.detail as Record<string, unknown> }));
}

export async function approvalRows(db: Db, workflowId: string) {
  return db.selectFrom('approvals').selectAll().where('workflow_id', '=', workflowId).orderBy('seq').execute();
}

export async function taskRows(db: Db, workflowId: string, environment?: string) {
  let query = db.selectFrom('tasks').selectAll().where('workflow_id', '=', workflowId);
  if (environment) query = query.where('environment', '=', environment);
  return query.orderBy('environment').orderBy('task_id').execute();
}

export async function runRow(db: Db, workflowId: string) {
  return db.selectFrom('runs').selectAll().where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
