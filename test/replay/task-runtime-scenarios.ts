/**
 * Recorded scenarios of taskRuntime, listed in record-histories.ts's SCENARIOS
 * (test/histories/main/taskRuntime-*.json): controls during one run, and a run that hands over by continue-as-new
 * (the history recorded is the first run's, which ends with the hand-over).
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
      const { workflowId, runId, handle } = await start(stack, request('handed-over', { source: { kind: 'generator', items: 1500 }, maxParallel: 2, handOverAtEvents: 200 }));
      await handle.signal(pauseSignal, { by: 'carol' });
      for (;;) {
        const progress = await handle.query(taskRuntimeProgressQuery);
        if (progress.stage === 'paused') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.signal(resumeSignal, { by: 'carol' });
      const result = (await handle.result()) as TaskRuntimeResult;
      if (result.chainIndex < 1) throw new Error(`scenario handed-over did not hand over (chain index ${result.chainIndex})`);
      return { workflowId, runId, outcome: result.outcome };
    },
  },
];
