/**
 * How a delivery run fails, on the time-skipping test server with the real workers and activities against PGlite:
 * input refused by the workflow itself, a task that fails (its dependents skipped, the run failed and saying which
 * task), a retryable failure retried per the capability's policy, and a decision sent before the gate opens.
 */
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { startDeliveryRun } from '../../client/delivery';
import { approveSignal } from '../../shared/contract/approval';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { InputValidationError, type ValidationIssue } from '../../shared/contract/validation';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { approvalRows, auditEvents, brokenBuildRun, exampleRun, runRow, taskRows } from './fixtures';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
const timings = useTimeSkippingStack('delivery-failures', (ready) => ({ env, workflowBundle, stack } = ready));

describe('input given straight to the workflow, bypassing the client', () => {
  const cases: Array<{ name: string; input: () => Record<string, unknown>; issue: ValidationIssue }> = [
    {
      name: 'an unknown dependency',
      input: () => {
        const run = exampleRun({ tenantId: 'invalid' }, 'dep');
        run.plan.tasks[1] = { ...run.plan.tasks[1], dependsOn: ['build-web'] };
        return run;
      },
      issue: { path: 'plan.tasks[1].dependsOn[0]', message: 'unknown task "build-web"; tasks in this plan: build-api, deploy-api, verify-api, latency-report' },
    },
    {
      name: 'a quorum that can never be met',
      input: () => exampleRun({ tenantId: 'invalid', requestedBy: 'alice', approval: { approvers: ['alice', 'bob'], quorum: 2 } }, 'quorum'),
      issue: { path: 'approval.quorum', message: 'quorum 2 can never be met: only 1 distinct approver(s) other than the requester "alice"' },
    },
    {
      name: 'a malformed field',
      input: () => ({ ...exampleRun({ tenantId: 'invalid' }, 'field'), maxParallel: 0 }),
      issue: { path: 'maxParallel', message: 'must be at least 1' },
    },
  ];

  test.each(cases)('$name: the workflow fails with InvalidDeliveryInput naming the path, and writes nothing', async ({ input, issue }) => {
    const raw = input();
    // The client refuses it with the same issue...
    const refused = await startDeliveryRun(stack.client, stack.config, raw).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InputValidationError);
    expect((refused as InputValidationError).issues).toEqual([issue]);

    // ...and so does the workflow, when another client starts it directly.
    const workflowId = `direct-${raw.runId as string}`;
    const handle = await stack.client.workflow.start('deliveryRun', {
      taskQueue: controlTaskQueue(stack.taskQueuePrefix),
      workflowId,
      args: [raw],
    });
    const error = await handle.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = (error as WorkflowFailedError).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'InvalidDeliveryInput',
      nonRetryable: true,
      message: `invalid delivery run input:\n${issue.path}: ${issue.message}`,
      details: [[issue]],
    });
    // Refused before anything was recorded.
    expect(await stack.db.selectFrom('runs').select('workflow_id').where('workflow_id', '=', workflowId).execute()).toEqual([]);
    expect(await auditEvents(stack.db, workflowId)).toEqual([]);
    // One workflow task, no activity.
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    expect((history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
  });
});

test('a task fails with a non-retryable input error: its dependents are skipped, the run fails naming the task', async () => {
  const { workflowId, handle } = await stack.startRun(brokenBuildRun({ tenantId: 'broken', requestedBy: 'carol' }));
  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ workflowId, outcome: 'failed', completedEnvironments: [], outputs: {} });
  expect(result.reason).toMatch(/^in dev: task "build-api" failed: /);
  expect(result.reason).toContain('task "build-api" (build): input.template uses unknown variable(s) builder; add them to input.variables');

  const status = await stack.status(workflowId);
  expect(status).toMatchObject({ stage: 'finished', outcome: 'failed', completedEnvironments: [] });
  expect(Object.keys(status.tasks)).toEqual(['dev']);
  expect(status.tasks.dev).toMatchObject({
    'build-api': { state: 'failed', capability: 'build' },
    'deploy-api': { state: 'skipped', capability: 'deploy', error: 'dependency "build-api" failed' },
    'verify-api': { state: 'skipped', capability: 'verify', error: 'dependency "deploy-api" skipped' },
    // The independent branch still ran.
    'latency-report': { state: 'succeeded', capability: 'analysis', attempt: 1 },
  });

  // Every task of the plan has its row, the skipped ones with the reason.
  const rows = await taskRows(stack.db, workflowId);
  expect(rows.map((r) => [r.environment, r.task_id, r.state, r.error])).toEqual([
    ['dev', 'build-api', 'failed', expect.stringContaining('input.template uses unknown variable(s) builder')],
    ['dev', 'deploy-api', 'skipped', 'dependency "build-api" failed'],
    ['dev', 'latency-report', 'succeeded', null],
    ['dev', 'verify-api', 'skipped', 'dependency "deploy-api" skipped'],
  ]);
  const run = await runRow(stack.db, workflowId);
  expect(run.status).toBe('failed');
  expect(run.result).toMatchObject({ outcome: 'failed', reason: result.reason });
  const audit = await auditEvents(stack.db, workflowId);
  expect(audit.filter((e) => e.event === 'task.skipped').map((e) => e.detail)).toEqual([
    expect.objectContaining({ environment: 'dev', taskId: 'deploy-api', capability: 'deploy', error: 'dependency "build-api" failed' }),
    expect.objectContaining({ environment: 'dev', taskId: 'verify-api', capability: 'verify', error: 'dependency "deploy-api" skipped' }),
  ]);
  const events = audit.map((e) => e.event);
  expect(events).not.toContain('approval.requested');
  expect(events).not.toContain('environment.promoted');
  expect(events.at(-1)).toBe('run.finished');
  expect(await stack.db.selectFrom('releases').select('id').where('workflow_id', '=', workflowId).execute()).toEqual([]);

  // Non-retryable: the build ran once.
  const history = await handle.fetchHistory();
  const builds = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'build');
  expect(builds).toHaveLength(1);
  const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
  expect(failed).toHaveLength(1);
  expect(failed[0].activityTaskFailedEventAttributes?.failure?.applicationFailureInfo).toMatchObject({ type: 'InvalidCapabilityInput', nonRetryable: true });
});

test('a retryable failure is retried per the capability policy (3 attempts, backoff skipped by the test server), then fails the run', async () => {
  // verify with no deploy before it: "no release recorded" is retryable. maxParallel 1: verify has no alternate and
  // the run is already serial, so the escalation ladder goes from the exhausted retry policy straight to the human
  // rung, whose default 72 h wait the test server skips (test/workflows/escalation.test.ts walks the other rungs).
  const input = exampleRun({ tenantId: 'retry', environments: ['dev'], approval: undefined, maxParallel: 1 }, 'retry');
  input.plan.tasks = [{ id: 'verify-only', capability: 'verify' }];
  const { workflowId, handle } = await stack.startRun(input);
  const before = await env.currentTimeMs();
  const wallClock = Date.now();
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toContain(`task "verify-only" failed: `);
  expect(result.reason).toContain(`no release recorded for ${workflowId} in dev`);
  const history = await handle.fetchHistory();
  // The server retries within one scheduled activity and closes it when the attempts are used up.
  expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'verify')).toHaveLength(1);
  const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
  expect(failed).toHaveLength(1);
  expect(failed[0].activityTaskFailedEventAttributes?.retryState).toBe(temporal.api.enums.v1.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
  // Backoff 1 s then 2 s of workflow time, skipped by the test server rather than waited for.
  expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(3_000);
  timings.retryWallClock = Date.now() - wallClock;
});

test('a decision sent before the gate opens is ignored and audited, and does not count later', async () => {
  const { workflowId, handle } = await stack.startRun(
    exampleRun({ tenantId: 'early', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'], quorum: 1 } }, 'early'),
  );
  await handle.signal(approveSignal, { approver: 'alice', comment: 'too early' });
  const waiting = await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');
  expect(waiting.approval?.approvedBy).toEqual([]);
  expect(waiting.approval?.decisions).toEqual([
    expect.objectContaining({ approver: 'alice', counted: false, reason: expect.stringMatching(/^approval has not been requested yet \(the run is in (validating|dev)\)/) }),
  ]);
  await handle.signal(approveSignal, { approver: 'alice', comment: 'now' });
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('succeeded');
  const approvals = await approvalRows(stack.db, workflowId);
  expect(approvals.map(({ seq, comment, counted }) => ({ seq, comment, counted }))).toEqual([
    { seq: 0, comment: 'too early', counted: false },
    { seq: 1, comment: 'now', counted: true },
  ]);
  const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
  expect(events.indexOf('approval.ignored')).toBeLessThan(events.indexOf('approval.requested'));
});
