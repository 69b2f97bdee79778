/**
 * Recorded scenarios of deliveryRun: the main path through the approval gate by Update, and each way the escalation
 * ladder ends. Listed in record-histories.ts's SCENARIOS (test/histories/<release>/deliveryRun-escalation-*.json).
 */
import { decide } from '../../client/common/approval';
import { resolveTask } from '../../client/delivery';
import { resolveSignal } from '../../shared/contract/delivery/escalation';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryStatus } from '../../shared/contract/delivery/status';
import type { AdosStack } from '../helpers/stack';
import { exampleRun } from '../workflows/fixtures';

export interface DeliveryScenario {
  workflowType: 'deliveryRun';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; outcome: string }>;
  expected: 'succeeded' | 'failed' | 'aborted';
}

const QUICK_RETRY = { maximumAttempts: 2, initialIntervalSeconds: 1, backoffCoefficient: 1, maximumIntervalSeconds: 1 };

function demoTextRun(runId: string, textInput: Record<string, unknown>, overrides: Partial<DeliveryRunInput> = {}): DeliveryRunInput {
  return {
    tenantId: 'replay',
    runId,
    requestedBy: 'carol',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 1 },
    environments: ['dev'],
    maxParallel: 4,
    plan: {
      tasks: [
        { id: 'story', capability: 'demo.text', input: { prompt: 'Release notes for {{tenant}}: faster builds, fewer flakes', ...textInput }, retry: QUICK_RETRY },
        { id: 'review', capability: 'analysis', input: { series: [1, 2, 3] }, dependsOn: ['story'] },
        { id: 'baseline', capability: 'analysis', input: { series: [4, 5, 6] } },
      ],
    },
    ...overrides,
  };
}

/** The example plan through dev and stage to the gate, where alice approves by Update; prod then runs. */
export async function approvedByAlice(stack: AdosStack, runId: string): Promise<{ workflowId: string; outcome: string }> {
  const { workflowId } = await stack.startRun(exampleRun({ tenantId: 'replay', runId, requestedBy: 'carol', approval: { approvers: ['alice', 'bob'] } }));
  await stack.waitForStatus(workflowId, (s) => s.stage === 'awaiting_approval');
  await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'ship it' });
  return { workflowId, outcome: (await stack.result(workflowId)).outcome };
}

const escalated = (stack: AdosStack, workflowId: string, steps = 0) =>
  stack.waitForStatus(workflowId, (s: DeliveryStatus) => (s.escalations ?? []).some((e) => e.taskId === 'story' && e.steps.length > steps), 60_000);

export const ESCALATION_SCENARIOS: DeliveryScenario[] = [
  {
    workflowType: 'deliveryRun',
    name: 'approved-by-update',
    description: 'routing check, batched audit by local activities, dev → stage → gate, alice approves by Update → prod',
    expected: 'succeeded',
    run: (stack) => approvedByAlice(stack, 'approved-by-update'),
  },
  {
    workflowType: 'deliveryRun',
    name: 'escalation-retry-skip',
    description:
      'demo.text always fails: retry → swap (demo.text.fallback) → mutate (halved) → human; alice resolves retry, it fails again → human; bob resolves skip → succeeded',
    expected: 'succeeded',
    async run(stack) {
      const { workflowId } = await stack.startRun(demoTextRun('escalation-retry-skip', { simulateOutage: ['demo.text', 'demo.text.fallback'] }));
      await escalated(stack, workflowId);
      await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'retry', by: 'alice', comment: 'pool restarted' });
      await escalated(stack, workflowId, 6);
      await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'skip', by: 'bob', comment: 'notes can wait' });
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'escalation-refusal-abort',
    description: 'a policy refusal goes straight to the human rung; a stray resolve signal is ignored and audited; bob aborts by Update → aborted',
    expected: 'aborted',
    async run(stack) {
      const { workflowId, handle } = await stack.startRun(demoTextRun('escalation-refusal-abort', { denyTerms: ['flakes'] }));
      await escalated(stack, workflowId);
      await handle.signal(resolveSignal, { taskId: 'nope', action: 'skip', by: 'mallory' });
      await resolveTask(stack.client, workflowId, { taskId: 'story', action: 'abort', by: 'bob', comment: 'policy says no' });
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'escalation-swap',
    description: 'the demo.text primary fails past its retries; the ladder swaps to demo.text.fallback, which succeeds',
    expected: 'succeeded',
    async run(stack) {
      const { workflowId } = await stack.startRun(demoTextRun('escalation-swap', { simulateOutage: ['demo.text'] }));
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
  {
    workflowType: 'deliveryRun',
    name: 'escalation-expired',
    description: 'a policy refusal at the human rung; nobody resolves within escalationTimeout 2h (time skipped) → the task and the run fail',
    expected: 'failed',
    async run(stack) {
      const { workflowId } = await stack.startRun(demoTextRun('escalation-expired', { denyTerms: ['faster'] }, { escalationTimeout: '2h' }));
      return { workflowId, outcome: (await stack.result(workflowId)).outcome };
    },
  },
];
