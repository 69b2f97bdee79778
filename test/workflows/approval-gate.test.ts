/**
 * The approval gate before prod, on the time-skipping test server, with the real workers and activities in this
 * process against PGlite (nothing mocked): quorum, duplicates and strangers, rejection, the Update path, the status
 * query while waiting, and expiry after 72 simulated hours.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { decide } from '../../client/common/approval';
import { DecisionRefusedError } from '../../client/common/run-errors';
import { approveSignal, decideUpdate, rejectSignal } from '../../shared/contract/approval';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { approvalRows, auditEvents, EXAMPLE_TASKS, exampleRun, runRow, taskRows } from './fixtures';

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
const timings = useTimeSkippingStack('approval-gate', (ready) => ({ env, workflowBundle, stack } = ready));

const awaitingApproval = (status: DeliveryStatus) => status.stage === 'awaiting_approval';

test('quorum of 2: duplicates and strangers are ignored and recorded, the second approver opens prod', async () => {
  const { workflowId, handle } = await stack.startRun(
    exampleRun({ tenantId: 'quorum', requestedBy: 'carol', approval: { approvers: ['alice', 'bob', 'dave'], quorum: 2 } }, 'quorum'),
  );
  await stack.waitForStatus(workflowId, awaitingApproval);

  await handle.signal(approveSignal, { approver: 'alice', comment: 'first' });
  await handle.signal(approveSignal, { approver: 'alice', comment: 'again' });
  await handle.signal(approveSignal, { approver: 'carol', comment: 'my own run' });
  // Three decisions taken, one counted: still waiting.
  const waiting = await stack.waitForStatus(workflowId, (s) => (s.approval?.decisions.length ?? 0) >= 3);
  expect(waiting.stage).toBe('awaiting_approval');
  expect(waiting.approval?.approvedBy).toEqual(['alice']);
  expect(waiting.approval?.outcome).toBeUndefined();
  await handle.signal(approveSignal, { approver: 'bob' });

  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ workflowId, outcome: 'succeeded', completedEnvironments: ['dev', 'stage', 'prod'] });
  expect((await runRow(stack.db, workflowId)).status).toBe('succeeded');

  const approvals = await approvalRows(stack.db, workflowId);
  expect(approvals.map(({ seq, approver, decision, comment, counted, reason, via }) => ({ seq, approver, decision, comment, counted, reason, via }))).toEqual([
    { seq: 0, approver: 'alice', decision: 'approve', comment: 'first', counted: true, reason: null, via: 'signal' },
    { seq: 1, approver: 'alice', decision: 'approve', comment: 'again', counted: false, reason: '"alice" has already approved; each approver counts once', via: 'signal' },
    { seq: 2, approver: 'carol', decision: 'approve', comment: 'my own run', counted: false, reason: '"carol" is not a listed approver (listed: alice, bob, dave)', via: 'signal' },
    { seq: 3, approver: 'bob', decision: 'approve', comment: null, counted: true, reason: null, via: 'signal' },
  ]);
  const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
  expect(events.filter((e) => e.startsWith('approval.'))).toEqual([
    'approval.requested',
    'approval.granted',
    'approval.ignored',
    'approval.ignored',
    'approval.granted',
  ]);
  const prod = await taskRows(stack.db, workflowId, 'prod');
  expect(prod.map((t) => [t.task_id, t.state])).toEqual(EXAMPLE_TASKS.map((t) => [t.id, 'succeeded']).sort());
});

test('status query while waiting: stage, per-task states for dev and stage, what it waits for', async () => {
  const { workflowId, handle } = await stack.startRun(
    exampleRun({ tenantId: 'status', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'], quorum: 1, timeout: '2h' } }, 'status'),
  );
  const status = await stack.waitForStatus(workflowId, awaitingApproval);
  expect(status).toMatchObject({
    workflowId,
    tenantId: 'status',
    stage: 'awaiting_approval',
    environments: ['dev', 'stage', 'prod'],
    completedEnvironments: ['dev', 'stage'],
    waitingFor: 'approval by 1 of alice, bob (within 2h)',
  });
  expect(Object.keys(status.tasks).sort()).toEqual(['dev', 'stage']);
  for (const environment of ['dev', 'stage'] as const) {
    for (const task of EXAMPLE_TASKS) {
      expect(status.tasks[environment]?.[task.id]).toEqual({ state: 'succeeded', capability: task.capability, worker: stack.capabilityIdentity, attempt: 1 });
    }
  }
  expect(status.approval).toMatchObject({ gate: 'prod', requestedBy: 'carol', approvedBy: [], decisions: [], policy: { approvers: ['alice', 'bob'], quorum: 1, timeout: '2h' } });
  // The deadline is workflow time: two hours after the gate opened.
  const deadline = Date.parse(status.approval!.deadline!);
  const now = await env.currentTimeMs();
  expect(deadline - now).toBeGreaterThan(2 * HOUR - 60_000);
  expect(deadline - now).toBeLessThanOrEqual(2 * HOUR);

  await handle.signal(approveSignal, { approver: 'bob' });
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('succeeded');
  const finished = await stack.status(workflowId);
  expect(finished).toMatchObject({ stage: 'finished', outcome: 'succeeded', completedEnvironments: ['dev', 'stage', 'prod'] });
  expect(finished.waitingFor).toBeUndefined();
});

test('reject: a listed approver rejects with a comment; prod never runs', async () => {
  const { workflowId, handle } = await stack.startRun(
    exampleRun({ tenantId: 'reject', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'], quorum: 2 } }, 'reject'),
  );
  await stack.waitForStatus(workflowId, awaitingApproval);
  await handle.signal(approveSignal, { approver: 'alice' });
  await handle.signal(rejectSignal, { approver: 'bob', comment: 'p95 latency regressed' });

  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ workflowId, outcome: 'rejected', completedEnvironments: ['dev', 'stage'], reason: 'rejected by bob' });
  const run = await runRow(stack.db, workflowId);
  expect(run.status).toBe('rejected');
  expect(run.result).toMatchObject({ outcome: 'rejected', reason: 'rejected by bob' });
  expect(await taskRows(stack.db, workflowId, 'prod')).toEqual([]);
  const releases = await stack.db.selectFrom('releases').select('environment').where('workflow_id', '=', workflowId).orderBy('id').execute();
  expect(releases.map((r) => r.environment)).toEqual(['dev', 'stage']);

  const approvals = await approvalRows(stack.db, workflowId);
  expect(approvals.map(({ approver, decision, comment, counted }) => ({ approver, decision, comment, counted }))).toEqual([
    { approver: 'alice', decision: 'approve', comment: null, counted: true },
    { approver: 'bob', decision: 'reject', comment: 'p95 latency regressed', counted: true },
  ]);
  const events = await auditEvents(stack.db, workflowId);
  expect(events.map((e) => e.event).filter((e) => e.startsWith('approval.') || e.startsWith('run.'))).toEqual([
    'run.started',
    'approval.requested',
    'approval.granted',
    'approval.refused',
    'run.finished',
  ]);
  expect(events.at(-1)?.detail).toEqual({ outcome: 'rejected', reason: 'rejected by bob' });
  expect(events.some((e) => e.detail.environment === 'prod')).toBe(false);
});

test('update path: a refused decision fails at once and leaves no row; a valid one returns the gate snapshot', async () => {
  const { workflowId, handle } = await stack.startRun(
    exampleRun({ tenantId: 'update', requestedBy: 'carol', approval: { approvers: ['alice', 'bob', 'carol'], quorum: 1 } }, 'update'),
  );
  await stack.waitForStatus(workflowId, awaitingApproval);

  // Straight through the SDK: the validator refuses, the Update fails, the workflow records nothing.
  const refused = await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', approver: 'mallory' }] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((refused as WorkflowUpdateFailedError).cause?.message).toBe('"mallory" is not a listed approver (listed: alice, bob, carol)');
  // Through the client API: the reason, as DecisionRefusedError.
  await expect(decide(stack.client, workflowId, { decision: 'approve', approver: 'carol' })).rejects.toThrow(
    new DecisionRefusedError('"carol" requested this run and cannot approve it'),
  );
  await expect(decide(stack.client, workflowId, { decision: 'reject', approver: 'bob' })).rejects.toThrow(
    new DecisionRefusedError('invalid decision: comment: a rejection needs a comment saying why (--comment "...")'),
  );
  expect(await approvalRows(stack.db, workflowId)).toEqual([]);
  const stillWaiting = await stack.status(workflowId);
  expect(stillWaiting).toMatchObject({ stage: 'awaiting_approval', approval: { approvedBy: [], decisions: [] } });

  const snapshot = await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'ship it' });
  expect(snapshot).toMatchObject({
    gate: 'prod',
    requestedBy: 'carol',
    approvedBy: ['alice'],
    outcome: 'approved',
    decisions: [{ decision: 'approve', approver: 'alice', comment: 'ship it', counted: true, via: 'update' }],
  });
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('succeeded');
  // Only the accepted decision reached the database.
  const approvals = await approvalRows(stack.db, workflowId);
  expect(approvals.map(({ seq, approver, counted, via }) => ({ seq, approver, counted, via }))).toEqual([{ seq: 0, approver: 'alice', counted: true, via: 'update' }]);
});

test('expiry: nobody decides; the run is still waiting after 71 h and expires at 72 h (the default timeout)', async () => {
  const input = exampleRun({ tenantId: 'expire', requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } }, 'expire');
  const { workflowId } = await stack.startRun(input);
  const waiting = await stack.waitForStatus(workflowId, awaitingApproval);
  expect(waiting.approval?.policy).toEqual({ approvers: ['alice', 'bob'], quorum: 1, timeout: '72h', signatures: 'optional' });
  const opened = Date.parse(waiting.approval!.deadline!) - 72 * HOUR;

  const t = Date.now();
  await env.sleep('71h');
  const after71h = await stack.status(workflowId);
  expect(after71h.stage).toBe('awaiting_approval');
  expect(after71h.approval?.outcome).toBeUndefined();
  expect((await env.currentTimeMs()) - opened).toBeGreaterThanOrEqual(71 * HOUR);

  const result = await stack.result(workflowId);
  timings.expiry72hWallClock = Date.now() - t;
  expect(result).toMatchObject({ workflowId, outcome: 'approval_expired', completedEnvironments: ['dev', 'stage'], reason: 'no quorum within 72h' });
  expect((await env.currentTimeMs()) - opened).toBeGreaterThanOrEqual(72 * HOUR);

  const events = await auditEvents(stack.db, workflowId);
  const requested = events.find((e) => e.event === 'approval.requested');
  const expired = events.find((e) => e.event === 'approval.expired');
  expect(requested?.detail).toMatchObject({ gate: 'prod', policy: { timeout: '72h' } });
  expect(expired?.detail).toEqual({ gate: 'prod', timeout: '72h' });
  expect(events.findIndex((e) => e === expired)).toBeGreaterThan(events.findIndex((e) => e === requested));
  expect(events.some((e) => e.detail.environment === 'prod')).toBe(false);
  expect(await taskRows(stack.db, workflowId, 'prod')).toEqual([]);
  expect(await approvalRows(stack.db, workflowId)).toEqual([]);
  expect((await runRow(stack.db, workflowId)).status).toBe('approval_expired');

  // The history shows the 72 h timer that decided it.
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
  expect(timers.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds))).toEqual([72 * 3600]);
  const fired = (history.events ?? []).filter((e) => e.timerFiredEventAttributes);
  expect(fired).toHaveLength(1);
  // Started and fired exactly 72 h apart in workflow time (a few ms of wall clock).
  const firedAfterMs = Number(fired[0].eventTime!.seconds) * 1000 - Number(timers[0].eventTime!.seconds) * 1000;
  expect(Math.abs(firedAfterMs - 72 * HOUR)).toBeLessThanOrEqual(1_000);
  // Skipping 72 h never cut an activity short: no attempt timed out or was retried.
  expect((history.events ?? []).filter((e) => e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes)).toEqual([]);
  expect((history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toEqual([]);
});
