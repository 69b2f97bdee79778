/**
 * An anomaly pipeline's input from a NAB series read in place (../shared/data/nab): ec2_cpu_utilization_825cc2, its
 * first anomaly as the default ensemble detects it (causally, over the whole series) inside the labeled window, and the
 * series in metric_samples under any metric name. For the integration test and the recorded scenarios.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadNabDataDir } from '../../shared/node/config';
import { getAnomalyPipelineStatus } from '../../client/anomaly-pipeline';
import { defaultEnsembleConfig } from '../../shared/contract/anomaly/detection';
import type { AnomalyPipelineStatus, MetricSample } from '../../shared/contract/anomaly/pipeline';
import { createEnsemble } from '../../shared/node/anomaly/detection';
import { parseNabCsv, parseNabTimestamp } from '../../shared/node/anomaly/nab/corpus';
import { eventually } from './eventually';
import type { AdosStack } from './stack';
import { PROJECT_ROOT } from './toolchain';

const NAB = loadNabDataDir();
export const NAB_FILE = 'realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv';

function readSeries(): { samples: MetricSample[]; window: [number, number] } {
  const { timestamps, values } = parseNabCsv(fs.readFileSync(path.join(NAB, 'data', NAB_FILE), 'utf8'), NAB_FILE);
  const windows = JSON.parse(fs.readFileSync(path.join(NAB, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, [string, string][]>;
  const [start, end] = windows[NAB_FILE][0].map(parseNabTimestamp);
  return { samples: timestamps.map((ts, i) => ({ ts: new Date(ts).toISOString(), value: values[i] })), window: [start, end] };
}

export const { samples: nabSamples, window: labeledWindow } = readSeries();

/** The ensemble's first run of anomalous samples inside the labeled window. */
function firstDetectedAnomaly(): MetricSample[] {
  const ensemble = createEnsemble(defaultEnsembleConfig());
  const flagged = nabSamples.map((s) => ensemble.push({ ts: Date.parse(s.ts), value: s.value }).anomalous);
  const inWindow = (i: number) => Date.parse(nabSamples[i].ts) >= labeledWindow[0] && Date.parse(nabSamples[i].ts) <= labeledWindow[1];
  const first = flagged.findIndex((f, i) => f && inWindow(i));
  if (first < 0) throw new Error(`the default ensemble flags nothing inside the labeled window of ${NAB_FILE}`);
  let last = first;
  while (flagged[last + 1]) last += 1;
  return nabSamples.slice(first, last + 1);
}

export const anomalySamples = firstDetectedAnomaly();

/** The series under `metric` in metric_samples, as `ados metrics ingest` stores it. */
export async function ingestNabSeries(stack: AdosStack, tenantId: string, metric: string): Promise<void> {
  const rows = nabSamples.map((s) => ({ tenant_id: tenantId, metric, ts: new Date(s.ts), value: s.value }));
  for (let i = 0; i < rows.length; i += 1000) await stack.db.insertInto('metric_samples').values(rows.slice(i, i + 1000)).onConflict((oc) => oc.doNothing()).execute();
}

/** The pipeline's input for the detected anomaly of `metric`: first approvers alice and bob. */
export function nabPipelineInput(tenantId: string, metric: string, fields: Record<string, unknown> = {}) {
  const peak = anomalySamples.reduce((high, s) => (s.value > high.value ? s : high));
  return {
    tenantId,
    metric,
    severity: 'high',
    detection: defaultEnsembleConfig(),
    affectedMetrics: ['elb_request_count_8c0756'],
    anomaly: { start: anomalySamples[0].ts, end: anomalySamples[anomalySamples.length - 1].ts, peakTs: peak.ts, peakScore: 0.9, detectors: ['robustZ', 'isolationForest'], samples: anomalySamples },
    approval: { approvers: ['alice', 'bob'] },
    ...fields,
  };
}

/** Polls the status until the first gate waits (fails if the pipeline finishes first). */
export function awaitingHandlerApproval(stack: AdosStack, workflowId: string): Promise<AnomalyPipelineStatus> {
  return eventually('awaiting approval', 60_000, async () => {
    const status = await getAnomalyPipelineStatus(stack.client, workflowId);
    if (status.stage === 'finished') throw new Error(`finished before the gate: ${status.outcome} ${status.reason}`);
    return status.stage === 'awaiting_approval' ? status : undefined;
  });
}

/** Samples that arrive later under `metric` (metric_samples rows, as ingest writes them). */
export async function appendSamples(stack: AdosStack, tenantId: string, metric: string, samples: readonly MetricSample[]): Promise<void> {
  await stack.db.insertInto('metric_samples').values(samples.map((s) => ({ tenant_id: tenantId, metric, ts: new Date(s.ts), value: s.value }))).execute();
}
