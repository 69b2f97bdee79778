import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { startDeliveryRun } from '../client/delivery';
import { benchDag } from './suites/routing-overhead';
import { startInProcessStack } from './lib/in-process-stack';
import { eventMs, workflowTaskBusyMs } from './lib/history';

async function main() {
  const stack = await startInProcessStack({
    capabilities: ['noop'],
    maxConcurrent: 20,
    extraWorkers: async ({ env, prefix }) => {
      const bare = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/bare-dag'), logger: new DefaultLogger('WARN') });
      return [await Worker.create({ connection: env.nativeConnection, namespace: 'default', taskQueue: `${prefix}.bare`, workflowBundle: bare, identity: `bench-bare@${hostname()}` })];
    },
  });
  const tasks = benchDag().map((t) => ({ ...t, capability: 'noop', input: {} }));
  const dump = async (id: string, file: string) => {
    const h = await stack.client.workflow.getHandle(id).fetchHistory();
    const ev = h.events ?? [];
    const t0 = eventMs(ev[0]);
    const lines = ev.map((e) => {
      const kind = Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '?';
      const a = (e as any)[kind];
      let extra = a?.activityType?.name ?? a?.markerName ?? '';
      if (extra === 'core_local_activity') {
        const d = a.details?.data?.payloads?.[0]?.data;
        if (d) { const m = JSON.parse(Buffer.from(d).toString()); const ms = (ts: any) => ts ? (Number(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)) - t0 : null; extra += ` ${m.activity_type} sched ${ms(m.original_schedule_time)} done ${ms(m.complete_time)}`; }
      }
      if (extra === 'recordEvents') {
        const payload = a.input?.payloads?.[0]?.data;
        if (payload) extra += ' ' + JSON.parse(Buffer.from(payload).toString()).map((x: any) => x.auditKey).join(',');
      }
      return `${String(eventMs(e) - t0).padStart(5)} ${e.eventId} ${kind.replace('EventAttributes', '')} ${extra}`;
    });
    writeFileSync(file, lines.join('\n'));
    const sched = new Set<string>(); let first = Infinity; let last = 0;
    for (const e of ev) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'noop') { sched.add(String(e.eventId)); first = Math.min(first, eventMs(e)); }
      const d = e.activityTaskCompletedEventAttributes; if (d && sched.has(String(d.scheduledEventId))) last = Math.max(last, eventMs(e));
    }
    return `head ${first - t0} dag ${last - first} tail ${eventMs(ev[ev.length - 1]) - last} wft ${ev.filter((e) => e.workflowTaskCompletedEventAttributes).length} busy ${workflowTaskBusyMs(ev)}`;
  };
  try {
    for (let i = 0; i < Number(process.env.N ?? 4); i++) {
      const runId = `p-${Date.now()}-${i}`;
      let t = Date.now();
      const { workflowId } = await startDeliveryRun(stack.client, stack.config, { tenantId: 'bench', runId, requestedBy: 'bench', goal: { type: 'build', complexity: 'low', risk: 'low', maxCost: 0 }, environments: ['dev'], maxParallel: 10, plan: { tasks } } as any);
      await stack.client.workflow.getHandle(workflowId).result();
      const a = Date.now() - t;
      t = Date.now();
      const fid = `f-${Date.now()}-${i}`;
      const h = await stack.client.workflow.start('bareDag', { taskQueue: `${stack.prefix}.bare`, workflowId: fid, args: [{ tenantId: 'bench', runId: fid, prefix: stack.prefix, environment: 'dev', maxParallel: 10, tasks }] });
      await h.result();
      const f = Date.now() - t;
      console.log(`ados ${a} ${await dump(workflowId, `/tmp/bw/ados-${i}.txt`)} | floor ${f} ${await dump(fid, `/tmp/bw/floor-${i}.txt`)}`);
    }
  } finally {
    await stack.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
