/**
 * Recorded scenarios of taskRuntime, listed in record-histories.ts's SCENARIOS
 * (test/histories/main/taskRuntime-*.json): controls during one run, a chain that hands over by continue-as-new,
 * recorded from both sides of the hand-over: the first run's history (it ends with the continue-as-new) and the next
 * run's (it starts from the carried state), and a failing item settled by sub-batches into one dead letter.
 */
import { hostname } from 'node:os';
import { Worker } from '@temporalio/worker';
import { createCapabilityActivities } from '../../activities';
import { specOf, type CapabilityDefinition } from '../../activities/capabilities/define';
import { prepareTaskRuntime, startTaskRuntime } from '../../client/task-runtime';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import type { TaskRuntimeRequest } from '../../shared/contract/task-runtime/input';
import {
  extendBudgetUpdate,
  pauseSignal,
  resumeSignal,
  setParallelismUpdate,
  taskRuntimeProgressQuery,
  type TaskRuntimeOutcome,
  type TaskRuntimeResult,
} from '../../shared/contract/task-runtime/messages';
import { createLogger } from '../../shared/node/logger';
import { loadWorkItems } from '../../shared/node/task-runtime/store';
import flakyBatch from '../fixtures/plugins/task-runtime-flaky';
import type { AdosStack } from '../helpers/stack';
import { writeWorkItems } from '../helpers/task-runtime';

export interface TaskRuntimeScenario {
  workflowType: 'taskRuntime';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: TaskRuntimeOutcome;
}

async function start(stack: AdosStack, request: TaskRuntimeRequest) {
  const started = await startTaskRuntime(stack.client, stack.config, prepareTaskRuntime(request, undefined));
  return { ...started, handle: stack.client.workflow.getHandle(started.workflowId) };
}

const request = (taskId: string, extra: Partial<TaskRuntimeRequest>): TaskRuntimeRequest => ({
  tenantId: 'replay',
  taskId,
  source: { kind: 'generator', items: 600 },
  capability: 'batch',
  batchSize: 100,
  maxParallel: 1,
  requestedBy: 'carol',
  ...extra,
});

export const TASK_RUNTIME_SCENARIOS: TaskRuntimeScenario[] = [
  {
    workflowType: 'taskRuntime',
    name: 'controls',
    description: '600 generated items, pacing 10m: pause, a refused signal, resume, setParallelism (one refused), extendBudget, completed',
    expected: 'completed',
    async run(stack) {
      const { workflowId, handle } = await start(stack, request('controls', { pacing: '10m' }));
      await handle.signal(pauseSignal, { by: 'carol' });
      await handle.signal(pauseSignal, { by: 42 } as never);
      await handle.executeUpdate(setParallelismUpdate, { args: [{ parallelism: 0 }] }).catch(() => undefined);
      await handle.executeUpdate(setParallelismUpdate, { args: [{ parallelism: 2 }] });
      await handle.executeUpdate(extendBudgetUpdate, { args: [{ by: '1h' }] });
      await handle.signal(resumeSignal, { by: 'carol' });
      const result = (await handle.result()) as TaskRuntimeResult;
      return { workflowId, outcome: result.outcome };
    },
  },
  {
    workflowType: 'taskRuntime',
    name: 'handed-over',
    description: '1,500 generated items, hand-over at 200 events: the first run, to its continue-as-new (a pause sent during it), the chain completes',
    expected: 'completed',
    async run(stack) {
      const { workflowId, runId } = await handOverChain(stack, 'handed-over');
      return { workflowId, runId, outcome: 'completed' };
    },
  },
  {
    workflowType: 'taskRuntime',
    name: 'continued',
    description: '1,500 generated items, hand-over at 200 events: the second run of the chain, from the state the first carried over',
    expected: 'completed',
    async run(stack) {
      const { workflowId, runId } = await handOverChain(stack, 'continued');
      const first = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
      const next = first.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (!next) throw new Error('scenario continued: the first run did not end by continue-as-new');
      return { workflowId, runId: next, outcome: 'completed' };
    },
  },
  {
    workflowType: 'taskRuntime',
    name: 'dead-letter',
    description: '30 loaded items in batches of 10 by the test.flaky-batch plugin, item 7 failing: its batch is settled by sub-batches, item 7 alone a dead letter',
    expected: 'completed',
    async run(stack) {
      await loadWorkItems(stack.db, { tenantId: 'replay', taskId: 'dead-letter' }, writeWorkItems(30, { payload: (n) => (n === 7 ? { fail: true } : { n }) }));
      const worker = await Worker.create({
        connection: stack.env.nativeConnection,
        namespace: stack.env.namespace ?? 'default',
        taskQueue: capabilityTaskQueue(flakyBatch.name, stack.taskQueuePrefix),
        activities: createCapabilityActivities(flakyBatch.name, { db: stack.db, logger: createLogger('flaky', 'error'), workerIdentity: `flaky@${hostname()}`, workspaceRoot: '/tmp/ados-flaky' }, [flakyBatch]),
        shutdownGraceTime: '2s',
      });
      const running = worker.run();
      try {
        const { workflowId, handle } = await start(stack, request('dead-letter', {
          source: { kind: 'table' },
          capability: flakyBatch.name,
          capabilitySpec: specOf(flakyBatch as CapabilityDefinition) as TaskRuntimeRequest['capabilitySpec'],
          batchSize: 10,
          onFailure: { retries: 1, then: 'dead-letter' },
        }));
        const result = (await handle.result()) as TaskRuntimeResult;
        if (result.deadLettered !== 1) throw new Error(`scenario dead-letter: ${result.deadLettered} dead letters, expected 1`);
        return { workflowId, outcome: result.outcome };
      } finally {
        worker.shutdown();
        await running;
      }
    },
  },
];

/** A chain that hands over at least once, with a pause sent during the first run; its workflow id and first run id. */
async function handOverChain(stack: AdosStack, taskId: string): Promise<{ workflowId: string; runId: string }> {
  const { workflowId, runId, handle } = await start(stack, request(taskId, { source: { kind: 'generator', items: 1500 }, maxParallel: 2, handOverAtEvents: 200 }));
  await handle.signal(pauseSignal, { by: 'carol' });
  for (;;) {
    const progress = await handle.query(taskRuntimeProgressQuery);
    if (progress.stage === 'paused') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await handle.signal(resumeSignal, { by: 'carol' });
  const result = (await handle.result()) as TaskRuntimeResult;
  if (result.outcome !== 'completed') throw new Error(`scenario ${taskId} ended ${result.outcome}`);
  if (result.chainIndex < 1) throw new Error(`scenario ${taskId} did not hand over (chain index ${result.chainIndex})`);
  return { workflowId, runId };
}
