/**
 * Recorded scenarios of anomalyPipeline on the NAB series of test/helpers/anomaly-pipeline.ts, with real handler
 * processes (under a scratch ADOS_DATA_DIR set for the recording; every process stopped at the end of its scenario):
 * approved and promoted to prod, rejected and removed from stage, and unattended (escalated after the hour, rejected
 * after the second). Spread into record-histories.ts's SCENARIOS (test/histories/<set>/anomalyPipeline-*.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAnomalyPipelineResult, startAnomalyPipeline } from '../../client/anomaly-pipeline';
import { decide } from '../../client/common/approval';
import type { AnomalyPipelineOutcome } from '../../shared/contract/anomaly/pipeline';
import { loadConfig } from '../../shared/node/config';
import { processRuntime } from '../../shared/node/runtime';
import { createTenant, getTenant } from '../../shared/node/tenancy/store';
import { awaitingHandlerApproval, ingestNabSeries, nabPipelineInput } from '../helpers/anomaly-pipeline';
import type { AdosStack } from '../helpers/stack';

export interface AnomalyPipelineScenario {
  workflowType: 'anomalyPipeline';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; outcome: string }>;
  expected: AnomalyPipelineOutcome;
}

/** Runs `body` under a fresh data directory (the capability worker of this process reads ADOS_DATA_DIR), then stops every process. */
export async function withDataDir<T>(body: () => Promise<T>): Promise<T> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-replay-anomaly-'));
  const previous = process.env.ADOS_DATA_DIR;
  process.env.ADOS_DATA_DIR = path.join(scratch, 'data');
  const runtime = processRuntime(loadConfig());
  try {
    return await body();
  } finally {
    await runtime.stopAll();
    if (previous === undefined) delete process.env.ADOS_DATA_DIR;
    else process.env.ADOS_DATA_DIR = previous;
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Starts the pipeline for the NAB anomaly under `metric`, lets `decideAt` act at the gate, and awaits the result. */
async function pipeline(stack: AdosStack, tenantId: string, metric: string, decideAt?: (workflowId: string) => Promise<void>) {
  await ingestNabSeries(stack, tenantId, metric);
  const { workflowId } = await startAnomalyPipeline(stack.client, stack.config, nabPipelineInput(tenantId, metric));
  await awaitingHandlerApproval(stack, workflowId);
  await decideAt?.(workflowId);
  return { workflowId, outcome: (await getAnomalyPipelineResult(stack.client, workflowId)).outcome };
}

export const ANOMALY_PIPELINE_SCENARIOS: AnomalyPipelineScenario[] = [
  {
    workflowType: 'anomalyPipeline',
    name: 'handler-promoted',
    description: 'a NAB anomaly → handler schema → extraction child → stage process (serving through the extracted module) → tests pass → alice approves by Update → prod process, a day of watching: its alert rate read by read',
    expected: 'promoted',
    run: (stack) =>
      withDataDir(() => pipeline(stack, 'replay', 'cpu_825cc2_promoted', (id) => decide(stack.client, id, { decision: 'approve', approver: 'alice', comment: 'ship it' }).then(() => undefined))),
  },
  {
    workflowType: 'anomalyPipeline',
    name: 'handler-rejected',
    description: 'a NAB anomaly → … → stage tests pass → bob rejects by signal → the stage process stopped and checked gone',
    expected: 'rejected',
    run: (stack) =>
      withDataDir(() => pipeline(stack, 'replay', 'cpu_825cc2_rejected', (id) => decide(stack.client, id, { decision: 'reject', approver: 'bob', comment: 'too noisy' }, 'signal').then(() => undefined))),
  },
  {
    workflowType: 'anomalyPipeline',
    name: 'handler-escalation-expired',
    description: 'a NAB anomaly → … → nobody decides for 1h → escalated to the tenant\'s governance role → another hour → rejected, removed from stage',
    expected: 'rejected',
    run: async (stack) => {
      if (!(await getTenant(stack.db, 'replaygov'))) {
        await createTenant(stack.db, 'replaygov', { approvals: { roles: { governance: ['gina'] }, prod: { roles: ['governance'] } } }, 'replay');
      }
      return withDataDir(() => pipeline(stack, 'replaygov', 'cpu_825cc2_unattended'));
    },
  },
];
