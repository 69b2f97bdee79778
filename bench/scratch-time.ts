import { startInProcessStack } from './lib/in-process-stack';
import { describeCapabilities } from '../shared/node/task-queue-report';
import { createDeliveryControlActivities } from '../activities/delivery/control-activities';

async function main() {
  const stack = await startInProcessStack({ capabilities: ['noop'], maxConcurrent: 20 });
  try {
    const ctl = createDeliveryControlActivities(stack.db);
    for (let i = 0; i < 8; i++) {
      let t = performance.now();
      await describeCapabilities(stack.env.nativeConnection.workflowService as any, ['noop'], stack.prefix, { namespace: 'default' });
      const d = performance.now() - t;
      t = performance.now();
      const wf = `x-${i}-${Date.now()}`;
      await ctl.recordRunStarted({ workflowId: wf, tenantId: 'bench', runId: wf, kind: 'delivery', requestedBy: 'b', input: {}, auditKey: '00001:run.started' });
      const r = performance.now() - t;
      t = performance.now();
      await ctl.recordEvents(Array.from({ length: 10 }, (_, k) => ({ kind: 'task' as const, workflowId: wf, tenantId: 'bench', auditKey: `0001${k}:task.running`, event: 'task.running', detail: {}, environment: 'dev', taskId: `t${k}`, capability: 'noop', state: 'running' })));
      const e = performance.now() - t;
      console.log(`describe ${d.toFixed(1)} runStarted ${r.toFixed(1)} events10 ${e.toFixed(1)}`);
    }
  } finally {
    await stack.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
