/**
 * Recorded scenarios of taskRuntime, listed in record-histories.ts's SCENARIOS
 * (test/histories/main/taskRuntime-*.json): controls during one run, and a chain that hands over by continue-as-new,
 * recorded from both sides of the hand-over: the first run's history (it ends with the continue-as-new) and the next
 * run's (it starts from the carried state).
 */
import { prepareTaskRuntime, startTaskRuntime } from '../../client/task-runtime';
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
import type { AdosStack } from '../helpers/stack';

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
