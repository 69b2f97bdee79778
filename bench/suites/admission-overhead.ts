/**
 * `npm run bench -- admission-overhead`: what admission and the tenant gate add to a delivery run. The same one-task
 * run (capability `noop`, dev only) is started alternately through admission (the tenant's profile, spend and active
 * flag read from the database: client/tenancy.ts admitDeliveryRun) and without it, against the same dev server and
 * workers; both wait for a run slot at the tenant gate (every run from ados-tenant-gate-v1 on does), and the gate's
 * share is read from each run's history: workflow start → the grant of its `runs` slot. Nothing here asserts.
 */
import { startDeliveryRun } from '../../client/delivery';
import { admitDeliveryRun } from '../../client/tenancy';
import type { DeliveryRunInput } from '../../shared/contract/delivery/input';
import type { DeliveryResult } from '../../shared/contract/delivery/status';
import { loadBenchConfig } from '../../shared/node/config';
import { createLogger } from '../../shared/node/logger';
import { median, type BenchReport, type BenchSuite } from '../harness';
import { eventMs } from '../lib/history';
import { startInProcessStack, type InProcessStack } from '../lib/in-process-stack';

const REPEATS = Math.max(5, loadBenchConfig().repeats * 5);
const TENANT = 'bench_admission';

function run(runId: string): DeliveryRunInput {
  return {
    tenantId: TENANT,
    runId,
    requestedBy: 'bench',
    goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 },
    environments: ['dev'],
    plan: { tasks: [{ id: 'noop', capability: 'noop', input: {} }] },
  };
}

/** Start to result (ms, wall clock) and, from the history, start → run slot granted. */
async function measure(stack: InProcessStack, runId: string, admitted: boolean): Promise<{ ms: number; gateMs: number }> {
  const started = Date.now();
  const admit = admitted ? admitDeliveryRun({ db: stack.db, logger: createLogger('bench-admission', 'silent'), requireTenants: false }) : undefined;
  const { workflowId } = await startDeliveryRun(stack.client, stack.config, run(runId), admit);
  const handle = stack.client.workflow.getHandle(workflowId);
  const result = (await handle.result()) as DeliveryResult;
  const ms = Date.now() - started;
  if (result.outcome !== 'succeeded') throw new Error(`${workflowId} ended ${result.outcome}: ${result.reason}`);
  const events = (await handle.fetchHistory()).events ?? [];
  const grant = events.find((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'tenantSlotsGranted');
  return { ms, gateMs: eventMs(grant) - eventMs(events[0]) };
}

export const suite: BenchSuite = {
  name: 'admission-overhead',
  description: 'ms per one-task delivery run with admission and the tenant gate, against the same run started without admission',
  async run(): Promise<BenchReport> {
    const stack = await startInProcessStack({ capabilities: ['noop'], maxConcurrent: 4 });
    try {
      // Warm-up: the gate starts, the workers and the database pool are busy once.
      await measure(stack, 'warmup-a', true);
      await measure(stack, 'warmup-b', false);
      const samples = { admitted: [] as number[], unadmitted: [] as number[], gate: [] as number[] };
      for (let i = 0; i < REPEATS; i++) {
        const a = await measure(stack, `admitted-${i}`, true);
        const b = await measure(stack, `unadmitted-${i}`, false);
        samples.admitted.push(a.ms);
        samples.unadmitted.push(b.ms);
        samples.gate.push(a.gateMs, b.gateMs);
      }
      const admitted = median(samples.admitted);
      const unadmitted = median(samples.unadmitted);
      return {
        benchmark: 'admission-overhead',
        description: this.description,
        metrics: [
          { name: 'run_with_admission_ms', value: admitted, unit: 'ms (median)' },
          { name: 'run_without_admission_ms', value: unadmitted, unit: 'ms (median)' },
          { name: 'admission_overhead_ms', value: Math.round((admitted - unadmitted) * 10) / 10, unit: 'ms per run (median difference)' },
          { name: 'gate_acquire_ms', value: median(samples.gate), unit: 'ms from workflow start to run slot granted (median, from history)' },
        ],
        notes: [
          `${REPEATS} runs each way, alternately, one at a time (the gate never queues them); database: ${stack.database}.`,
          'Both sides hold a run slot of the tenant gate: gate_acquire_ms is its share of every run (signal-with-start from a local activity, the grant signalled back).',
        ],
        samples,
      };
    } finally {
      await stack.stop();
    }
  },
};
