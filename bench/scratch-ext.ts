import { layeredDocuments } from '../test/helpers/extraction';
import { topologicalOrder } from '../shared/contract/graph';
import { measureRun, startExtractionBench } from './extraction-stack';
import { eventMs } from './lib/history';
async function main() {
  const bench = await startExtractionBench(20, { floor: true });
  try {
    const documents = layeredDocuments(10, 5, 3);
    const dependsOn = new Map(documents.map((d) => [d.document.name as string, (d.document.dependsOn as string[]) ?? []]));
    const tasks = topologicalOrder([...dependsOn].map(([id, deps]) => ({ id, dependsOn: deps }))).map((id) => ({ id, dependsOn: dependsOn.get(id)! }));
    for (let i = 0; i < Number(process.env.N ?? 3); i++) {
      const fl = await bench.measureFloor(tasks, 200, 10); console.log(`floor makespan ${fl.makespanMs} busy ${fl.workflowTaskBusyMs}`);
      const m = await measureRun(bench, documents, { maxParallel: 10, simulatedWorkMs: 200 });
      const events = (await bench.client.workflow.getHandle(m.result.workflowId).fetchHistory()).events ?? [];
      let inBytes = 0, outBytes = 0, n = 0;
      const sched = new Map<string, string>();
      for (const e of events) {
        const s = e.activityTaskScheduledEventAttributes;
        if (s) { sched.set(String(e.eventId), s.activityType!.name!); if (s.activityType?.name === 'extractAgent') { inBytes += s.input?.payloads?.[0]?.data?.length ?? 0; n++; } else void 0; }
        const c = e.activityTaskCompletedEventAttributes;
        if (c) { const name = sched.get(String(c.scheduledEventId)); if (name === 'extractAgent') outBytes += c.result?.payloads?.[0]?.data?.length ?? 0; else void 0; }
      }
      const t0 = eventMs(events[0]);
      const wft = events.filter((e) => e.workflowTaskStartedEventAttributes || e.workflowTaskCompletedEventAttributes).map((e) => eventMs(e) - t0);
      console.log(`makespan ${m.makespanMs} extract n=${n} in avg ${(inBytes / n).toFixed(0)} out avg ${(outBytes / n).toFixed(0)} busy ${m.workflowTaskBusyMs}`);
    }
  } finally { await bench.stop(); }
}
main().catch((e) => { console.error(e); process.exit(1); });
