/**
 * The escalation ladder of a delivery run, on the time-skipping test server with the real workers and activities in
 * this process against PGlite (nothing mocked): a capability that always fails walks retry → swap → mutate → human,
 * a human's retry sends it back to the human, `resolve skip` finishes the run; a policy refusal goes straight to the
 * human and `resolve abort` ends the run; an alternate variant saves a run; no resolution in time fails the task.
 * The pure decisions are unit-tested in test/unit/escalation-rules.test.ts; the same flows across worker processes
 * on the dev server are in test/integration/routing-escalation.test.ts.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { DecisionRefusedError } from '../../client/common/run-errors';
import { resolveTask } from '../../client/delivery';
import { resolveSignal, type LadderStep } from '../../shared/contract/delivery/escalation';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import { AdosAwaitingApproval } from '../../shared/contract/search-attributes';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { auditEvents, runRow, taskRows, uniqueRunId } from './fixtures';

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundle;
let stack: AdosStack;
const timings = useTimeSkippingStack('escalation', (ready) => ({ env, workflowBundle, stack } = ready));

/** Two attempts per rung, 1 s apart: the ladder's retries take ~1 s of real time each while the test polls the status. */
const QUICK_RETRY = { maximumAttempts: 2, initialIntervalSeconds: 1, backoffCoefficient: 1, maximumIntervalSeconds: 1 };

/** A dev-only run: `story` (demo.text) → `review` (analysis), and an independent `baseline` (analysis). */
function demoTextRun(tenantId: string, textInput: Record<string, unknown>, overrides: Partial<DeliveryRunInput> = {}): DeliveryRunInput {
  return {
    tenantId,
    runId: uniqueRunId(tenantId),
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    maxParallel: 4,
    plan: {
      tasks: [
        { id: 'story', capability: 'demo.text', input: { prompt: 'Release notes for {{tenant}} in {{environment}}: faster builds, fewer flakes', ...textInput }, retry: QUICK_RETRY },
        { id: 'review', capability: 'analysis', input: { series: [1, 2, 3] }, dependsOn: ['story'] },
        { id: 'baseline', capability: 'analysis', input: { series: [4, 5, 6] } },
      ],
    },
    ...overrides,
  };
}

const escalated = (taskId: string) => (s: DeliveryStatus) => (s.escalations ?? []).some((e) => e.taskId === taskId);
const stepsOf = (steps: LadderStep[]) => steps.map((s) => `${s.rung} ${s.step}${s.variant ? ` ${s.variant}` : ''}`);

async function awaitingApproval(workflowId: string): Promise<boolean | undefined> {
  const description = await stack.client.workflow.getHandle(workflowId).describe();
  return description.typedSearchAttributes.get(AdosAwaitingApproval);
}

test('a capability that always fails walks retry → swap → mutate → human; a human retry comes back; resolve skip finishes the run', async () => {
  const started = Date.now();
  const { workflowId, handle } = await stack.startRun(demoTextRun('ladder', { simulateOutage: ['demo.text', 'demo.text.fallback'] }));

  const waiting = await stack.waitForStatus(workflowId, escalated('story'), 60_000);
  const escalation = waiting.escalations![0];
  expect(escalation).toMatchObject({ environment: 'dev', taskId: 'story', capability: 'demo.text', actions: ['retry', 'skip', 'abort'] });
  expect(stepsOf(escalation.steps)).toEqual([
    'retry exhausted demo.text',
    'swap taken demo.text.fallback',
    'swap exhausted demo.text.fallback',
    'mutate taken demo.text',
    'mutate exhausted demo.text',
    'human taken',
  ]);
  expect(escalation.steps[0].reason).toMatch(/^retry policy exhausted after 2 attempt\(s\) on demo.text: task "story" \(demo.text\): simulated outage/);
  expect(escalation.steps[3]).toMatchObject({ from: { name: 'as-planned', maxParallel: 4 }, to: { name: 'halved', maxParallel: 2 } });
  expect(escalation.reason).toContain('simulated outage of variant "demo.text"');
  // The status says what the run waits for and how to answer; the strategy was re-planned; the search attribute is set.
  expect(waiting.tasks.dev?.story).toMatchObject({ state: 'escalated', rung: 'human' });
  expect(waiting.tasks.dev?.baseline).toMatchObject({ state: 'succeeded' });
  expect(waiting.strategy).toEqual({ name: 'halved', arm: 'as-planned', maxParallel: 2, retry: 'standard', rollout: 'sequential', variants: 'primary-first' });
  expect(waiting.waitingFor).toContain(`a resolution of task "story" in dev`);
  expect(waiting.waitingFor).toContain(`ados resolve ${workflowId} --task story --action retry|skip|abort --as <user>`);
  expect(await awaitingApproval(workflowId)).toBe(true);

  // A human asks for a retry: the primary runs once more (rung 1), fails, and the task is back with the human.
  expect(await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'retry', by: 'alice', comment: 'pool restarted' })).toEqual({
    workflowId,
    environment: 'dev',
    taskId: 'story',
    action: 'retry',
    by: 'alice',
  });
  const again = await stack.waitForStatus(workflowId, (s) => escalated('story')(s) && s.escalations![0].steps.length > 6, 60_000);
  expect(stepsOf(again.escalations![0].steps).slice(6)).toEqual(['retry exhausted demo.text', 'human taken']);
  expect(again.escalations![0].reason).toMatch(/^failed again after a human asked to retry/);

  // A resolution for a task that does not wait is refused by the Update's validator, and changes nothing.
  await expect(resolveTask(stack.client, workflowId, { taskId: 'baseline', action: 'skip', by: 'alice' })).rejects.toThrow(
    new DecisionRefusedError('task "baseline" does not await a resolution; awaiting: story (dev)'),
  );

  await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'skip', by: 'bob', comment: 'notes can wait' });
  const result = await stack.result(workflowId);
  timings.ladderRun = Date.now() - started;
  expect(result).toMatchObject({ outcome: 'succeeded', completedEnvironments: ['dev'], skippedTasks: [{ environment: 'dev', taskId: 'story', by: 'bob', comment: 'notes can wait' }] });
  // The dependent ran without the skipped task's output.
  expect(result.outputs).toHaveProperty('review');
  expect(result.outputs).not.toHaveProperty('story');
  expect(await awaitingApproval(workflowId)).toBe(false);

  // The audit shows each rung with its reason, and both resolutions, in order.
  const events = await auditEvents(stack.db, workflowId);
  const story = events.filter((e) => e.detail.taskId === 'story' || e.event.startsWith('escalation.resol'));
  expect(story.map((e) => `${e.event}${e.detail.step ? ` ${e.detail.step as string}` : ''}${e.detail.variant ? ` ${e.detail.variant as string}` : ''}`)).toEqual([
    'task.running',
    'task.failed',
    'escalation.retry exhausted demo.text',
    'escalation.swap taken demo.text.fallback',
    'task.running demo.text.fallback',
    'task.failed demo.text.fallback',
    'escalation.swap exhausted demo.text.fallback',
    'escalation.mutate taken demo.text',
    'task.running',
    'task.failed',
    'escalation.mutate exhausted demo.text',
    'escalation.human taken',
    'task.escalated',
    'escalation.resolved',
    'task.running',
    'task.failed',
    'escalation.retry exhausted demo.text',
    'escalation.human taken',
    'task.escalated',
    'escalation.resolved',
    'task.skipped',
  ]);
  for (const e of story.filter((e) => e.event.startsWith('escalation.') && e.event !== 'escalation.resolved')) expect(e.detail.reason).toEqual(expect.any(String));
  expect(story.filter((e) => e.event === 'escalation.resolved').map((e) => e.detail)).toEqual([
    expect.objectContaining({ taskId: 'story', action: 'retry', by: 'alice', comment: 'pool restarted', counted: true, via: 'update', environment: 'dev' }),
    expect.objectContaining({ taskId: 'story', action: 'skip', by: 'bob', comment: 'notes can wait', counted: true, via: 'update', environment: 'dev' }),
  ]);
  const rows = await taskRows(stack.db, workflowId);
  expect(rows.map((r) => [r.task_id, r.state])).toEqual([
    ['baseline', 'succeeded'],
    ['review', 'succeeded'],
    ['story', 'skipped'],
  ]);
  expect((await runRow(stack.db, workflowId)).status).toBe('succeeded');

  // The history: the primary ran three times (retry, mutate, human retry), the fallback once, each on its own queue.
  const history = await handle.fetchHistory();
  const scheduled = (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name?.startsWith('demo.text'))
    .map((a) => `${a!.activityType!.name} on ${a!.taskQueue!.name}`);
  expect(scheduled).toEqual([
    `demo.text on ${stack.taskQueuePrefix}.cap.demo.text`,
    `demo.text.fallback on ${stack.taskQueuePrefix}.cap.demo.text.fallback`,
    `demo.text on ${stack.taskQueuePrefix}.cap.demo.text`,
    `demo.text on ${stack.taskQueuePrefix}.cap.demo.text`,
  ]);
});

test('a policy refusal skips straight to the human rung; a stray resolve is audited as ignored; resolve abort ends the run', async () => {
  const { workflowId, handle } = await stack.startRun(demoTextRun('refusal', { denyTerms: ['flakes'] }));
  const waiting = await stack.waitForStatus(workflowId, escalated('story'), 60_000);
  const steps = waiting.escalations![0].steps;
  expect(stepsOf(steps)).toEqual(['retry skipped demo.text', 'swap skipped', 'mutate skipped', 'human taken']);
  expect(steps[0].reason).toBe(
    'non-retryable PolicyRefused on demo.text, not retried: task "story" (demo.text): refused by policy: the prompt contains denied term(s) "flakes" (input.denyTerms)',
  );
  expect(steps[1].reason).toMatch(/^a non-retryable error \(validation or policy refusal\) needs a person/);
  expect(waiting.strategy).toEqual({ name: 'as-planned', arm: 'as-planned', maxParallel: 4, retry: 'standard', rollout: 'sequential', variants: 'primary-first' });

  // By signal, a resolution that does not count is audited with its reason and changes nothing.
  await handle.signal(resolveSignal, { taskId: 'nope', action: 'skip', by: 'mallory' });
  await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'abort', by: 'bob', comment: 'policy says no' });
  const result = await stack.result(workflowId);
  expect(result).toMatchObject({ outcome: 'aborted', completedEnvironments: [], reason: 'in dev: aborted by bob at task "story" in dev: policy says no' });
  const status = await stack.status(workflowId);
  expect(status.tasks.dev).toMatchObject({
    story: { state: 'failed', error: 'aborted by bob at task "story" in dev: policy says no', resolvedBy: 'bob' },
    review: { state: 'skipped', error: 'dependency "story" failed' },
  });
  expect((await runRow(stack.db, workflowId)).status).toBe('aborted');
  // The skipped dependent has its row and audit entry like every other task.
  expect((await taskRows(stack.db, workflowId)).map((r) => [r.task_id, r.state, r.error])).toEqual([
    ['baseline', 'succeeded', null],
    ['review', 'skipped', 'dependency "story" failed'],
    ['story', 'failed', 'aborted by bob at task "story" in dev: policy says no'],
  ]);

  const events = await auditEvents(stack.db, workflowId);
  expect(events.filter((e) => e.event === 'task.skipped').map((e) => e.detail)).toEqual([
    expect.objectContaining({ environment: 'dev', taskId: 'review', error: 'dependency "story" failed' }),
  ]);
  const ignored = events.filter((e) => e.event === 'escalation.resolve_ignored');
  expect(ignored.map((e) => e.detail)).toEqual([
    expect.objectContaining({ taskId: 'nope', by: 'mallory', counted: false, via: 'signal', reason: 'task "nope" does not await a resolution; awaiting: story (dev)' }),
  ]);
  expect(events.filter((e) => e.event === 'escalation.resolved').map((e) => e.detail)).toEqual([
    expect.objectContaining({ taskId: 'story', action: 'abort', by: 'bob', counted: true }),
  ]);
  // The refusal ran once: no retry, no swap, no re-plan.
  const history = await handle.fetchHistory();
  expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name?.startsWith('demo.text'))).toHaveLength(1);
  // Resolving a finished run is refused.
  await expect(resolveTask(stack.client, workflowId, { taskId: 'story', action: 'retry', by: 'bob' })).rejects.toThrow(DecisionRefusedError);
});

test('a task\'s timeout overrides (attempt, heartbeat) reach every variant it runs on; other tasks keep their capability\'s', async () => {
  const input = demoTextRun('overrides', { simulateOutage: ['demo.text'] });
  input.plan.tasks[0] = { ...input.plan.tasks[0], timeoutSeconds: 30, heartbeatTimeoutSeconds: 4 };
  const { workflowId, handle } = await stack.startRun(input);
  expect((await stack.result(workflowId)).outcome).toBe('succeeded');
  const seconds = (d: { seconds?: unknown } | null | undefined) => Number(d?.seconds ?? 0);
  const scheduled = ((await handle.fetchHistory()).events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name?.startsWith('demo.text') || a?.activityType?.name === 'analysis')
    .map((a) => [a!.activityType!.name, seconds(a!.startToCloseTimeout), seconds(a!.heartbeatTimeout)]);
  // The primary (tried, then swapped away from) and the fallback both ran with the task's overrides.
  expect(scheduled).toEqual(
    expect.arrayContaining([
      ['demo.text', 30, 4],
      ['demo.text.fallback', 30, 4],
      ['analysis', 120, 10],
    ]),
  );
  expect(scheduled.filter(([name]) => String(name).startsWith('demo.text')).every(([, close, heartbeat]) => close === 30 && heartbeat === 4)).toBe(true);
});

test('agent swap: the primary fails past its retries, the alternate variant produces the output', async () => {
  const { workflowId } = await stack.startRun(demoTextRun('swap', { simulateOutage: ['demo.text'] }));
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('succeeded');
  expect(result.outputs.story).toMatchObject({ method: 'extractive', variant: 'demo.text.fallback' });
  const status = await stack.status(workflowId);
  expect(status.tasks.dev?.story).toMatchObject({ state: 'succeeded', variant: 'demo.text.fallback', rung: 'swap', worker: stack.capabilityIdentity });
  expect(stepsOf(status.tasks.dev!.story.steps!)).toEqual(['retry exhausted demo.text', 'swap taken demo.text.fallback']);
  const events = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'task.succeeded' && e.detail.taskId === 'story');
  expect(events.map((e) => e.detail)).toEqual([expect.objectContaining({ variant: 'demo.text.fallback', worker: stack.capabilityIdentity })]);
});

test('no resolution within the escalation timeout: the task fails and the run fails, audited as escalation.expired', async () => {
  const { workflowId } = await stack.startRun(demoTextRun('expiry', { denyTerms: ['faster'] }, { escalationTimeout: '2h' }));
  const before = await env.currentTimeMs();
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('failed');
  expect(result.reason).toMatch(/^in dev: task "story" failed: no resolution within 2h \(non-retryable PolicyRefused on demo.text/);
  expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(2 * 3_600_000);
  const events = await auditEvents(stack.db, workflowId);
  expect(events.filter((e) => e.event === 'escalation.expired').map((e) => e.detail)).toEqual([
    expect.objectContaining({ environment: 'dev', taskId: 'story', timeout: '2h' }),
  ]);
  expect(await awaitingApproval(workflowId)).toBe(false);
});
