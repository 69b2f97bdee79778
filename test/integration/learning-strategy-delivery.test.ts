/**
 * A delivery run uses the strategy bandit, on the pinned Temporal dev server with the real workers and activities
 * (in this process) and PGlite over the wire protocol: the run asks the bandit at its start, really executes the
 * chosen arm (serial: its tasks never overlap; fast-rollout: stage starts before dev is over) and pays the reward
 * at its end, once, even when the reward activity runs again.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import { ADOS_SEARCH_ATTRIBUTES } from '../../shared/contract/search-attributes';
import { rewardRun } from '../../shared/node/learning/strategy/service';
import { findDecision, loadArmStates, saveSettings } from '../../shared/node/learning/strategy/store';
import { bundleWorkflows, installQuietRuntime, startStack, type AdosStack } from '../helpers/stack';
import { createDevServerEnv } from '../helpers/toolchain';

const suffix = Math.random().toString(36).slice(2, 8);
let env: TestWorkflowEnvironment;
let stack: AdosStack;

const analysis = (id: string) => ({ id, capability: 'analysis', input: { series: [1, 2, 3] } });

function plan(tenantId: string, tag: string, extra: Partial<DeliveryRunInput> = {}): DeliveryRunInput {
  return {
    tenantId,
    runId: `${tag}-${suffix}`,
    requestedBy: 'carol',
    goal: { type: 'analyze', complexity: 'low', risk: 'low', maxCost: 10 },
    environments: ['dev'],
    maxParallel: 3,
    plan: { tasks: [analysis('a'), analysis('b'), analysis('c')] },
    ...extra,
  };
}

/** The run's capability activities in history order: the event ids of their scheduling and closing. */
async function activitySpans(workflowId: string) {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const spans = new Map<number, { scheduled: number; closed?: number }>();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled && scheduled.activityType?.name === 'analysis') spans.set(id, { scheduled: id });
    const closed = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
    if (closed && spans.has(Number(closed.scheduledEventId))) spans.get(Number(closed.scheduledEventId))!.closed = id;
  }
  return [...spans.values()];
}

beforeAll(async () => {
  installQuietRuntime();
  env = await createDevServerEnv({ searchAttributes: [...ADOS_SEARCH_ATTRIBUTES] });
  stack = await startStack({ env, workflowBundle: await bundleWorkflows(), capabilities: ['analysis'] });
}, 90_000);

afterAll(async () => {
  await stack?.shutdown();
  await env?.teardown();
});

test('the run executes the chosen arm (serial) and the bandit is updated once, even when the reward activity runs again', async () => {
  const tenantId = `bandit_${suffix}`;
  await saveSettings(stack.db, tenantId, { arms: ['serial'], alpha: 1, epsilon: 0 });
  const { workflowId } = await stack.startRun(plan(tenantId, 'serial'));
  const result = await stack.result(workflowId);
  expect(result.outcome).toBe('succeeded');

  const status = await stack.status(workflowId);
  expect(status.strategy).toMatchObject({ arm: 'serial', name: 'serial', maxParallel: 1 });
  // Serial: each task is scheduled only after the one before closed.
  const spans = await activitySpans(workflowId);
  expect(spans).toHaveLength(3);
  for (let i = 1; i < spans.length; i++) expect(spans[i].scheduled).toBeGreaterThan(spans[i - 1].closed!);

  const decision = await findDecision(stack.db, workflowId);
  expect(decision).toMatchObject({ arm: 'serial', propensity: 1, stateVersion: 0 });
  expect(decision!.context).toHaveLength(10);
  expect(decision!.state).toHaveLength(15);
  expect(decision!.reward).toBeGreaterThan(0.5);
  expect(decision!.rewardDetail!.measurement).toMatchObject({ succeeded: true, escalations: 0 });

  // The reward activity again, as a retry would run it: nothing changes.
  const again = await rewardRun(stack.db, { tenantId, workflowId, succeeded: true, durationSeconds: 1, escalations: 0 });
  expect(again.applied).toBe(false);
  expect(again.reward.reward).toBe(decision!.reward);
  const { states, version } = await loadArmStates(stack.db, tenantId, ['serial']);
  expect(states[0].pulls).toBe(1);
  expect(version).toBe(1);
  expect(states[0].rewardSum).toBeCloseTo(decision!.reward!, 12);
}, 60_000);

test('fast-rollout runs dev and stage side by side; a high-risk plan stays one environment at a time', async () => {
  const tenantId = `rollout_${suffix}`;
  await saveSettings(stack.db, tenantId, { arms: ['fast-rollout'], alpha: 1, epsilon: 0 });
  const overlap = async (tag: string, risk: 'low' | 'high') => {
    const { workflowId } = await stack.startRun(plan(tenantId, tag, { environments: ['dev', 'stage'], maxParallel: 1, plan: { tasks: [analysis('a'), analysis('b')] }, goal: { type: 'analyze', complexity: 'low', risk, maxCost: 10 } }));
    expect((await stack.result(workflowId)).completedEnvironments).toEqual(['dev', 'stage']);
    const spans = await activitySpans(workflowId);
    expect(spans).toHaveLength(4);
    // With maxParallel 1 per environment, a second task scheduled before the first closed means two environments at once.
    return spans.some((span, i) => i > 0 && span.scheduled < spans[i - 1].closed!);
  };
  expect(await overlap('fast-low', 'low')).toBe(true);
  expect(await overlap('fast-high', 'high')).toBe(false);
}, 60_000);
