/**
 * `npm run bench -- semaphore-throughput`: how many acquire/release pairs per second one tenant gate serves. HOLDERS
 * minimal holder workflows (bench/workflows/gate-holder.ts) each acquire a `runs` slot, wait for the grant and release
 * it, CYCLES times, against a gate with capacity CAPACITY and rate limits far above the load; the throughput is the
 * pairs over the wall time from the first start to the last holder's end. Nothing here asserts.
 */
import { hostname } from 'node:os';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { controlTaskQueue } from '../../shared/contract/task-queues';
import { TENANT_GATE_WORKFLOW_TYPE, tenantGateStateQuery, type TenantGateInput } from '../../shared/contract/tenancy/gate';
import { tenantGateWorkflowId } from '../../shared/contract/workflow-ids';
import { createTenant } from '../../shared/node/tenancy/store';
import type { BenchReport, BenchSuite } from '../harness';
import { startInProcessStack } from '../lib/in-process-stack';
import type { GateHolderInput } from '../workflows/gate-holder';

const HOLDERS = 10;
const CYCLES = 20;
const CAPACITY = 5;
const TENANT = 'bench_semaphore';

export const suite: BenchSuite = {
  name: 'semaphore-throughput',
  description: `acquire/release pairs per second through one tenant gate (${HOLDERS} holders × ${CYCLES} cycles, capacity ${CAPACITY})`,
  async run(): Promise<BenchReport> {
    const stack = await startInProcessStack({
      capabilities: ['noop'],
      maxConcurrent: 2,
      extraWorkers: async ({ env, prefix }) => {
        const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows/gate-holder'), logger: new DefaultLogger('WARN') });
        return [await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue: `${prefix}.holders`, workflowBundle, identity: `bench-holders@${hostname()}` })];
      },
    });
    try {
      await createTenant(
        stack.db,
        TENANT,
        { limits: { maxConcurrentRuns: CAPACITY, runStartsPerMinute: 1_000_000, runStartBurst: 1_000_000 } },
        'bench',
      );
      const gateInput: TenantGateInput = { tenantId: TENANT, taskQueuePrefix: stack.prefix };
      const gate = await stack.client.workflow.start(TENANT_GATE_WORKFLOW_TYPE, {
        workflowId: tenantGateWorkflowId(TENANT),
        taskQueue: controlTaskQueue(stack.prefix),
        args: [gateInput],
      });
      await gate.query(tenantGateStateQuery);
      const started = Date.now();
      const holders = await Promise.all(
        Array.from({ length: HOLDERS }, (_, i) =>
          stack.client.workflow.start('gateHolder', {
            workflowId: `bench-gate-holder-${i}-${started}`,
            taskQueue: `${stack.prefix}.holders`,
            args: [{ gateWorkflowId: gate.workflowId, cycles: CYCLES } satisfies GateHolderInput],
          }),
        ),
      );
      await Promise.all(holders.map((h) => h.result()));
      const seconds = (Date.now() - started) / 1000;
      const view = await gate.query(tenantGateStateQuery);
      const pairs = HOLDERS * CYCLES;
      return {
        benchmark: 'semaphore-throughput',
        description: this.description,
        metrics: [
          { name: 'acquire_release_per_second', value: Math.round((pairs / seconds) * 10) / 10, unit: 'pairs/s' },
          { name: 'grants', value: view.totals.granted, unit: 'grants' },
        ],
        notes: [
          `${pairs} pairs in ${seconds.toFixed(1)} s; each pair is two signals to the gate and one grant signalled back; database: ${stack.database}.`,
          'The gate continues as new every 2000 events, inside the measured time.',
        ],
      };
    } finally {
      await stack.stop();
    }
  },
};
