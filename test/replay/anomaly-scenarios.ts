/**
 * Recorded scenarios of the anomaly monitor, listed in record-histories.ts's SCENARIOS
 * (test/histories/main/anomalyMonitor-*.json, anomalyInvestigation-*.json): a NAB series from the shared set (read in
 * place) ingested into the stack's database and watched 1000 samples per 1 s interval until every sample is scored,
 * then stopped; the same with a chain that hands over (continue-as-new) on the way, recorded from its first run; the
 * investigator a recurring anomaly started; and a monitor with approvers whose unknown anomaly starts its
 * anomalyPipeline child (real handler processes, as in anomaly-pipeline-scenarios.ts).
 */
import path from 'node:path';
import { loadNabDataDir } from '../../shared/node/config';
import { getAnomalyPipelineResult } from '../../client/anomaly-pipeline';
import { decide } from '../../client/common/approval';
import { prepareAnomalyMonitor, startAnomalyMonitor, stopAnomalyMonitor } from '../../client/metrics';
import { anomalyMonitorStatusQuery, type AnomalyMonitorRequest, type AnomalyMonitorResult } from '../../shared/contract/anomaly/monitor';
import type { AnomalyFinding } from '../../shared/contract/anomaly/investigation';
import { ingestCsv } from '../../shared/node/anomaly/samples';
import { awaitingHandlerApproval, ingestNabSeries } from '../helpers/anomaly-pipeline';
import { eventually } from '../helpers/eventually';
import type { AdosStack } from '../helpers/stack';
import { PROJECT_ROOT } from '../helpers/toolchain';
import { withDataDir } from './anomaly-pipeline-scenarios';

const NAB_FILE = path.join(loadNabDataDir(), 'data', 'artificialWithAnomaly', 'art_daily_jumpsup.csv');
const SERIES_SAMPLES = 4032;

/** How an anomaly scenario ends: the monitor stopped, or the investigator recorded its finding. */
export type AnomalyScenarioOutcome = AnomalyMonitorResult['outcome'] | 'finding-recorded';

export interface AnomalyScenario {
  workflowType: 'anomalyMonitor' | 'anomalyInvestigation';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: AnomalyScenarioOutcome;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ingests the series as `metric` of tenant `replay` and starts its monitor (1 s intervals of 1000 samples). */
async function watch(stack: AdosStack, metric: string, extra: Partial<AnomalyMonitorRequest> = {}) {
  await ingestCsv(stack.db, { tenantId: 'replay', metric }, NAB_FILE);
  const input = prepareAnomalyMonitor({ tenantId: 'replay', metric, interval: '1s', batchLimit: 1000, persistThreshold: '10m', novelAfter: 2, novelWindow: '7d', requestedBy: 'carol', ...extra });
  const started = await startAnomalyMonitor(stack.client, stack.config, input);
  return { ...started, handle: stack.client.workflow.getHandle(started.workflowId) };
}

/** Polls the monitor's status until every sample is scored and every anomaly classified (real time, 60 s at most). */
async function untilScored(stack: AdosStack, handle: ReturnType<AdosStack['client']['workflow']['getHandle']>, metric: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await handle.query(anomalyMonitorStatusQuery).catch(() => undefined);
    const detected = await stack.db.selectFrom('anomalies').select('id').where('tenant_id', '=', 'replay').where('metric', '=', metric).where('status', '=', 'detected').execute();
    if (status?.samplesScored === SERIES_SAMPLES && detected.length === 0 && status.stage === 'watching') return;
    if (Date.now() > deadline) throw new Error(`monitor of ${metric}: not done within 60 s (status ${JSON.stringify(status)})`);
    await sleep(200);
  }
}

/**
 * ec2_cpu_utilization_825cc2 watched with approvers and a 30 min persistence threshold: the default ensemble closes
 * three anomalies, two single-sample (transient) and one of 30 min (unknown), whose pipeline child the monitor starts.
 * Once the child waits at its gate the monitor is stopped (polled, so no time skips past the gate), then bob rejects.
 */
async function monitorStartingPipeline(stack: AdosStack): Promise<{ workflowId: string; outcome: string }> {
  const metric = 'cpu_825cc2_watched';
  await ingestNabSeries(stack, 'replay', metric);
  const input = prepareAnomalyMonitor({ tenantId: 'replay', metric, interval: '1s', persistThreshold: '30m', approvers: ['alice', 'bob'], requestedBy: 'carol' });
  const { workflowId } = await startAnomalyMonitor(stack.client, stack.config, input);
  const unknown = await eventually('the unknown anomaly started its pipeline', 60_000, async () => {
    const row = await stack.db.selectFrom('anomalies').select('child_workflow_id').where('tenant_id', '=', 'replay').where('metric', '=', metric).where('class', '=', 'unknown').executeTakeFirst();
    return row?.child_workflow_id ?? undefined;
  }, 200);
  await awaitingHandlerApproval(stack, unknown);
  await stopAnomalyMonitor(stack.client, workflowId, 'carol', 'recorded');
  const handle = stack.client.workflow.getHandle(workflowId);
  await eventually('the monitor stopped', 30_000, async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 200);
  const result = (await handle.result()) as AnomalyMonitorResult;
  await decide(stack.client, unknown, { decision: 'reject', approver: 'bob', comment: 'recorded' }, 'signal');
  const pipeline = await getAnomalyPipelineResult(stack.client, unknown);
  if (pipeline.outcome !== 'rejected') throw new Error(`scenario monitor-started-pipeline: its pipeline ended ${pipeline.outcome}`);
  return { workflowId, outcome: result.outcome };
}

export const ANOMALY_SCENARIOS: AnomalyScenario[] = [
  {
    workflowType: 'anomalyMonitor',
    name: 'monitor-watched',
    description: 'art_daily_jumpsup (4,032 samples) in 1 s intervals of 1000: unknown (no approvers: no pipeline), novel (an investigator), known and transient anomalies; stopped',
    expected: 'stopped',
    async run(stack) {
      const { workflowId, handle } = await watch(stack, 'jumpsup');
      await untilScored(stack, handle, 'jumpsup');
      await stopAnomalyMonitor(stack.client, workflowId, 'carol', 'recorded');
      const result = (await handle.result()) as AnomalyMonitorResult;
      return { workflowId, outcome: result.outcome };
    },
  },
  {
    workflowType: 'anomalyMonitor',
    name: 'monitor-handed-over',
    description: 'the same series with a hand-over at 200 events: the first run of the chain, to its continue-as-new after idle intervals; the chain then stops',
    expected: 'stopped',
    async run(stack) {
      const { workflowId, runId, handle } = await watch(stack, 'jumpsup_chain', { handOverAtEvents: 200 });
      await untilScored(stack, handle, 'jumpsup_chain');
      // Idle intervals add events until the first run hands over.
      for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
        const status = await handle.query(anomalyMonitorStatusQuery).catch(() => undefined);
        if ((status?.chainIndex ?? 0) >= 1) break;
        if (Date.now() > deadline) throw new Error('scenario monitor-handed-over: no hand-over within 60 s');
      }
      await stopAnomalyMonitor(stack.client, workflowId, 'carol');
      const result = (await handle.result()) as AnomalyMonitorResult;
      if (result.chainIndex < 1) throw new Error(`scenario monitor-handed-over did not hand over (chain index ${result.chainIndex})`);
      return { workflowId, runId, outcome: result.outcome };
    },
  },
  {
    workflowType: 'anomalyMonitor',
    name: 'monitor-started-pipeline',
    description: 'ec2_cpu_utilization_825cc2 with approvers and a 30 min persistence threshold: two transient anomalies and an unknown one, whose anomalyPipeline child it starts; stopped while the child waits at its gate',
    expected: 'stopped',
    run: (stack) => withDataDir(() => monitorStartingPipeline(stack)),
  },
  {
    workflowType: 'anomalyInvestigation',
    name: 'investigated',
    description: 'the investigator of a recurring anomaly of art_daily_jumpsup: its context gathered, its finding and signature recorded',
    expected: 'finding-recorded',
    async run(stack) {
      const { workflowId, handle } = await watch(stack, 'jumpsup_novel');
      await untilScored(stack, handle, 'jumpsup_novel');
      await stopAnomalyMonitor(stack.client, workflowId, 'carol');
      await handle.result();
      const novel = await stack.db.selectFrom('anomalies').select('child_workflow_id').where('tenant_id', '=', 'replay').where('metric', '=', 'jumpsup_novel').where('class', '=', 'novel').orderBy('start_ts').executeTakeFirst();
      if (!novel?.child_workflow_id) throw new Error('scenario investigated: no novel anomaly started an investigator');
      const finding = (await stack.client.workflow.getHandle(novel.child_workflow_id).result()) as AnomalyFinding;
      return { workflowId: novel.child_workflow_id, outcome: finding.summary ? 'finding-recorded' : 'no finding' };
    },
  },
];
