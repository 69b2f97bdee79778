/**
 * Recorded scenarios of tenantGate, listed in record-histories.ts's SCENARIOS (test/histories/main/tenantGate-*.json):
 * runs queued behind a cap of 1 with their agent slots, a gate that continues as new with a queue (the first run's
 * history, which ends with the hand-over), a terminated holder the gate finds closed, and a holder recalled while
 * another run waits for its agent. Each gate ends idle: the test server skips its idle wait.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { agentResource, TENANT_GATE_WORKFLOW_TYPE, tenantGateStateQuery, type TenantGateInput } from '../../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../../shared/contract/workflow-ids';
import { createTenant } from '../../shared/node/tenancy/store';
import { eventually } from '../helpers/eventually';
import type { AdosStack } from '../helpers/stack';
import { tasksRun } from '../workflows/fixtures';

export interface TenantGateScenario {
  workflowType: 'tenantGate';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: 'succeeded';
}

const noopRun = (tenantId: string, runId: string, tasks = 1): DeliveryRunInput =>
  tasksRun(tenantId, runId, Array.from({ length: tasks }, (_, i) => ({ id: `noop-${i}`, capability: 'noop', input: {} })));

/** Starts the runs, waits for each, then for the gate to end idle. */
async function queuedRuns(stack: AdosStack, tenantId: string, runs: DeliveryRunInput[]): Promise<string> {
  const started = [];
  for (const run of runs) started.push(await stack.startRun(run));
  for (const { workflowId } of started) {
    const { outcome } = await stack.result(workflowId);
    if (outcome !== 'succeeded') return `unexpected: ${workflowId} ${outcome}`;
  }
  await stack.client.workflow.getHandle(tenantGateWorkflowId(tenantId)).result();
  return 'succeeded';
}

export const TENANT_GATE_SCENARIOS: TenantGateScenario[] = [
  {
    workflowType: 'tenantGate',
    name: 'queued-runs',
    description: 'cap 1 run, 2 tasks per agent: 3 runs of 3 noop tasks queue, each gets its run slot in turn and its agent slots in one batch',
    expected: 'succeeded',
    async run(stack) {
      const tenantId = 'replay_gate';
      await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'replay');
      const outcome = await queuedRuns(stack, tenantId, ['q1', 'q2', 'q3'].map((id) => noopRun(tenantId, id, 3)));
      return { workflowId: tenantGateWorkflowId(tenantId), outcome };
    },
  },
  {
    workflowType: 'tenantGate',
    name: 'continued-as-new',
    description: 'a gate started to continue as new after 30 events: 4 queued runs; the first run hands its holders and queue over',
    expected: 'succeeded',
    async run(stack) {
      const tenantId = 'replay_gate_can';
      await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'replay');
      const input: TenantGateInput = { tenantId, taskQueuePrefix: stack.taskQueuePrefix, continueAsNewAfterEvents: 30 };
      const gate = await stack.client.workflow.start(TENANT_GATE_WORKFLOW_TYPE, {
        workflowId: tenantGateWorkflowId(tenantId),
        taskQueue: controlTaskQueue(stack.taskQueuePrefix),
        args: [input],
      });
      const outcome = await queuedRuns(stack, tenantId, ['c1', 'c2', 'c3', 'c4'].map((id) => noopRun(tenantId, id)));
      const first = await stack.client.workflow.getHandle(gate.workflowId, gate.firstExecutionRunId).fetchHistory();
      const handedOver = first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes;
      return { workflowId: gate.workflowId, runId: gate.firstExecutionRunId, outcome: handedOver ? outcome : 'unexpected: the first run did not continue as new' };
    },
  },
  {
    workflowType: 'tenantGate',
    name: 'terminated-holder',
    description: 'cap 1: the holder (an exec task that never ends) is terminated; the holder check finds it closed and the queued run goes',
    expected: 'succeeded',
    async run(stack) {
      const tenantId = 'replay_gate_term';
      await createTenant(stack.db, tenantId, { limits: { maxConcurrentRuns: 1 } }, 'replay');
      const never = join(mkdtempSync(join(tmpdir(), 'ados-gate-replay-')), 'never');
      const holder = noopRun(tenantId, 'holder');
      holder.plan.tasks = [{ id: 'wait', capability: 'exec', input: { argv: [`until [ -e "${never}" ]; do sleep 0.05; done`], shell: true } }];
      const { workflowId: holderId } = await stack.startRun(holder);
      const gate = stack.client.workflow.getHandle(tenantGateWorkflowId(tenantId));
      await eventually('the holder holds the run slot', 30_000, async () => ((await gate.query(tenantGateStateQuery)).resources[0]?.held.length === 1 ? true : undefined));
      const { workflowId: waiterId } = await stack.startRun(noopRun(tenantId, 'waiter'));
      await eventually('the waiter is queued', 30_000, async () => ((await gate.query(tenantGateStateQuery)).resources[0]?.queue.length === 1 ? true : undefined));
      await stack.client.workflow.getHandle(holderId).terminate('replay: a holder that never releases');
      const { outcome } = await stack.result(waiterId);
      if (outcome !== 'succeeded') return { workflowId: gate.workflowId, outcome: `unexpected: the waiter ${outcome}` };
      await gate.result();
      // A closed gate still answers queries (its worker replays it).
      const closed = (await gate.query(tenantGateStateQuery)).totals.closedHolders;
      return { workflowId: gate.workflowId, outcome: closed === 1 ? 'succeeded' : `unexpected: ${closed} closed holders` };
    },
  },
  {
    workflowType: 'tenantGate',
    name: 'recalled-holder',
    description: '2 tasks per agent: a run holds both units of builder, one idle after its no-op task; a second run asks, the gate recalls the first, whose idle unit goes to the second',
    expected: 'succeeded',
    async run(stack) {
      const tenantId = 'replay_gate_recall';
      const builder = agentResource('builder');
      const done = join(mkdtempSync(join(tmpdir(), 'ados-gate-replay-')), 'done');
      const holder = noopRun(tenantId, 'holder');
      holder.plan.tasks = [
        { id: 'long', capability: 'exec', agent: 'builder', input: { argv: [`until [ -e "${done}" ]; do sleep 0.05; done`], shell: true } },
        { id: 'quick', capability: 'noop', agent: 'builder', input: {} },
      ];
      const { workflowId: holderId } = await stack.startRun(holder);
      const gate = stack.client.workflow.getHandle(tenantGateWorkflowId(tenantId));
      const builderOf = async () => (await gate.query(tenantGateStateQuery)).resources.find((r) => r.resource === builder);
      await eventually('the holder holds both units of builder', 30_000, async () => ((await builderOf())?.held.length === 2 ? true : undefined));
      await eventually('its quick task is done', 30_000, async () => ((await stack.status(holderId)).tasks.dev?.quick?.state === 'succeeded' ? true : undefined));
      const waiter = noopRun(tenantId, 'waiter');
      waiter.plan.tasks = [{ id: 'b', capability: 'noop', agent: 'builder', input: {} }];
      const { workflowId: waiterId } = await stack.startRun(waiter);
      const { outcome } = await stack.result(waiterId);
      writeFileSync(done, '');
      const held = await stack.result(holderId);
      await gate.result();
      const { recalls } = (await gate.query(tenantGateStateQuery)).totals;
      if (outcome !== 'succeeded' || held.outcome !== 'succeeded') return { workflowId: gate.workflowId, outcome: `unexpected: waiter ${outcome}, holder ${held.outcome} (${held.reason})` };
      return { workflowId: gate.workflowId, outcome: recalls === 1 ? 'succeeded' : `unexpected: ${recalls} recalls` };
    },
  },
];
