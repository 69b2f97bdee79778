/**
 * `npm run bench -- extraction-seed`: the 5-agent seed set (examples/schemas), cold and warm, with real generation
 * only (no simulated work), and once with 200 ms of simulated work per agent against its critical path (3 agents:
 * TensorAIOS → Main → PlastOS Adapter / Auditor).
 */
import { seedDocuments } from '../../test/helpers/extraction';
import { measureRun, round, startExtractionBench, type MeasuredRun } from '../extraction-stack';
import { median, type BenchReport, type BenchSuite } from '../harness';

const REPEATS = 5;
const WORK_MS = 200;
const DEPTH = 3;

export const suite: BenchSuite = {
  name: 'extraction-seed',
  description: 'schemaExtraction of the 5-agent seed set (examples/schemas), maxParallel 5: cold and warm; Temporal dev server, in-process workers',
  async run(): Promise<BenchReport> {
    const bench = await startExtractionBench(10);
    try {
      const documents = seedDocuments();
      for (let i = 0; i < 2; i++) await measureRun(bench, documents, {});
      const cold: MeasuredRun[] = [];
      for (let i = 0; i < REPEATS; i++) cold.push(await measureRun(bench, documents, {}));
      const warm: MeasuredRun[] = [];
      for (let i = 0; i < REPEATS; i++) warm.push(await measureRun(bench, documents, { tenantId: cold[0].result.tenantId }));
      const worked: MeasuredRun[] = [];
      for (let i = 0; i < REPEATS; i++) worked.push(await measureRun(bench, documents, { simulatedWorkMs: WORK_MS }));

      const coldWorkflow = median(cold.map((m) => m.workflowMs));
      const warmWorkflow = median(warm.map((m) => m.workflowMs));
      const workedMakespan = median(worked.map((m) => m.makespanMs));
      return {
        benchmark: 'extraction-seed',
        description: `${suite.description}; ${bench.database}`,
        metrics: [
          { name: 'cold workflow duration (median)', value: coldWorkflow, unit: 'ms' },
          { name: 'cold makespan of the extract activities (median)', value: median(cold.map((m) => m.makespanMs)), unit: 'ms' },
          { name: 'cold extract activity duration (median over agents and runs)', value: median(cold.flatMap((m) => Object.values(m.result.nodes).map((n) => n.durationMs ?? 0))), unit: 'ms' },
          { name: 'warm workflow duration (median)', value: warmWorkflow, unit: 'ms' },
          { name: 'warm / cold workflow duration', value: round(warmWorkflow / coldWorkflow), unit: 'ratio' },
          { name: 'extract activities executed in warm runs (total)', value: warm.reduce((n, m) => n + m.extractActivities, 0), unit: 'activities', target: { op: '<=', value: 0 } },
          { name: `with ${WORK_MS} ms per agent: makespan / critical path (${DEPTH} × ${WORK_MS} ms)`, value: round(workedMakespan / (DEPTH * WORK_MS)), unit: 'ratio', target: { op: '<=', value: 1.15 } },
          { name: `with ${WORK_MS} ms per agent: workflow duration (median)`, value: median(worked.map((m) => m.workflowMs)), unit: 'ms' },
          { name: 'cold: workflow task scheduled → started (median over runs of the run medians)', value: median(cold.map((m) => m.workflowTaskWaitMs)), unit: 'ms' },
          { name: 'cold: activity task scheduled → started (median over runs of the run medians)', value: median(cold.map((m) => m.activityTaskWaitMs)), unit: 'ms' },
        ],
        notes: [
          'Without simulated work a cold run is dominated by fixed costs (validation, the start and finish activities, three layers of workflow-task round trips), so its warm/cold ratio is bound to be far above the 50-agent one; the issue\'s 10% target is for the 50-agent DAG (extraction-dag).',
          `${REPEATS} runs each after 2 unmeasured ones; medians. Cold runs use a fresh tenant each; warm runs repeat the first cold run's tenant.`,
          'Scheduled → started (from the histories) is how long each task waited for a worker to take it. In runs this short every such wait is on the critical path; when it grows (as on this machine after the first few short runs, workflow and activity tasks alike, which suggests delayed ACKs on an idle worker-to-server connection) it roughly doubles a run. Compare extraction-dag\'s figure, measured with work in flight.',
        ],
        samples: {
          coldWorkflowMs: cold.map((m) => m.workflowMs),
          warmWorkflowMs: warm.map((m) => m.workflowMs),
          workedMakespanMs: worked.map((m) => m.makespanMs),
        },
      };
    } finally {
      await bench.stop();
    }
  },
};
