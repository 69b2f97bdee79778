/**
 * Recorded scenarios of remediationRun, on real processes of the process runtime (under a scratch ADOS_DATA_DIR set
 * for the recording; every process stopped at the end of its scenario): a crash really restarted, the next restart
 * blocked by the cooldown, a low-confidence report turned into a noop, and a prod restart after approval; and health
 * watches: one that opens an incident for a killed process, one spanning a continue-as-new. Spread into
 * record-histories.ts's SCENARIOS (test/histories/<set>/remediationRun-*.json, healthWatch-*.json).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decide } from '../../client/common/approval';
import { getHealthWatchStatus, getRemediationResult, getRemediationStatus, openIncident, startHealthWatch, stopHealthWatch } from '../../client/remediation';
import type { HealthWatchResult } from '../../shared/contract/remediation/health-watch';
import type { RemediationOutcome } from '../../shared/contract/remediation/input';
import { loadConfig } from '../../shared/node/config';
import { processRuntime, type EnvironmentRef } from '../../shared/node/runtime';
import { eventually } from '../helpers/eventually';
import { deployPidService } from '../helpers/pid-service';
import type { AdosStack } from '../helpers/stack';

export interface RemediationScenario {
  workflowType: 'remediationRun' | 'healthWatch';
  name: string;
  description: string;
  run(stack: AdosStack): Promise<{ workflowId: string; runId?: string; outcome: string }>;
  expected: RemediationOutcome | HealthWatchResult['outcome'];
}

/**
 * Runs `body` with a service deployed on `ref` under a fresh data directory (the capability worker of this process
 * reads ADOS_DATA_DIR when it acts), then stops every process and removes the directory.
 */
async function withService<T>(ref: EnvironmentRef, body: (deployed: { pid: number }) => Promise<T>): Promise<T> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-replay-remediation-'));
  const previous = process.env.ADOS_DATA_DIR;
  process.env.ADOS_DATA_DIR = path.join(scratch, 'data');
  const runtime = processRuntime(loadConfig());
  try {
    return await body(await deployPidService(runtime, ref, scratch));
  } finally {
    await runtime.stopAll();
    if (previous === undefined) delete process.env.ADOS_DATA_DIR;
    else process.env.ADOS_DATA_DIR = previous;
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const incident = (service: string, fields: Record<string, unknown> = {}) => ({
  tenantId: 'replay',
  service,
  environment: 'dev',
  kind: 'crash',
  confidence: 0.9,
  requestedBy: 'carol',
  evidence: ['health check failed 3 times'],
  ...fields,
});

async function remediate(stack: AdosStack, fields: Record<string, unknown>): Promise<{ workflowId: string; outcome: string }> {
  const { workflowId } = await openIncident(stack.client, stack.config, fields);
  return { workflowId, outcome: (await getRemediationResult(stack.client, workflowId)).outcome };
}

export const REMEDIATION_SCENARIOS: RemediationScenario[] = [
  {
    workflowType: 'remediationRun',
    name: 'crash-restarted',
    description: 'dev: the service process is killed; crash (0.9) → restart passes every gate, a new process serves, the health check passes',
    expected: 'remediated',
    run: (stack) =>
      withService({ tenant: 'replay', service: 'api', environment: 'dev' }, async ({ pid }) => {
        process.kill(pid, 'SIGKILL');
        return remediate(stack, incident('api'));
      }),
  },
  {
    workflowType: 'remediationRun',
    name: 'cooldown-blocked',
    description: 'dev: a restart, then (recorded) another crash report within 60 s: blocked by the cooldown, audited, nothing restarted',
    expected: 'blocked',
    run: (stack) =>
      withService({ tenant: 'replay', service: 'web', environment: 'dev' }, async () => {
        await remediate(stack, incident('web'));
        return remediate(stack, incident('web', { confidence: 0.95 }));
      }),
  },
  {
    workflowType: 'remediationRun',
    name: 'low-confidence',
    description: 'dev: a crash reported with confidence 0.3: the uncertainty gate turns the restart into a noop',
    expected: 'blocked',
    run: (stack) => remediate(stack, incident('api', { confidence: 0.3 })),
  },
  {
    workflowType: 'remediationRun',
    name: 'prod-approved',
    description: 'prod: crash → restart blocked until approved (audited); alice approves by Update; the restart runs and the check passes',
    expected: 'remediated',
    run: (stack) =>
      withService({ tenant: 'replay', service: 'api', environment: 'prod' }, async () => {
        const { workflowId } = await openIncident(stack.client, stack.config, incident('api', { environment: 'prod', approval: { approvers: ['alice', 'bob'] } }));
        await eventually('awaiting approval', 30_000, async () => ((await getRemediationStatus(stack.client, workflowId)).stage === 'awaiting_approval' ? true : undefined));
        await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'restart it' });
        return { workflowId, outcome: (await getRemediationResult(stack.client, workflowId)).outcome };
      }),
  },
  {
    workflowType: 'healthWatch',
    name: 'watch-incident-opened',
    description: 'dev, every 1 s: healthy checks, the process killed, 2 failed checks open an incident (a remediationRun child restarts it), healthy again, stopped',
    expected: 'stopped',
    run: (stack) =>
      withService({ tenant: 'replay', service: 'watched', environment: 'dev' }, async ({ pid }) => {
        const { workflowId } = await startHealthWatch(stack.client, stack.config, { tenantId: 'replay', service: 'watched', environment: 'dev', interval: '1s', failuresToOpen: 2, requestedBy: 'carol' });
        await eventually('a healthy check', 30_000, async () => ((await getHealthWatchStatus(stack.client, workflowId)).lastCheck?.healthy ? true : undefined));
        process.kill(pid, 'SIGKILL');
        await eventually('the incident closed', 60_000, async () => {
          const status = await getHealthWatchStatus(stack.client, workflowId);
          return status.incidents.length === 1 && status.stage === 'watching' && status.lastCheck?.healthy ? true : undefined;
        });
        await stopHealthWatch(stack.client, workflowId, 'carol', 'recorded');
        return { workflowId, outcome: (await stack.client.workflow.getHandle(workflowId).result()).outcome };
      }),
  },
  {
    workflowType: 'healthWatch',
    name: 'watch-handed-over',
    description: 'dev, every 1 s, a hand-over after 10 checks: the first run of the chain, to its continue-as-new; the chain then stops',
    expected: 'stopped',
    run: (stack) =>
      withService({ tenant: 'replay', service: 'chained', environment: 'dev' }, async () => {
        const { workflowId } = await startHealthWatch(stack.client, stack.config, { tenantId: 'replay', service: 'chained', environment: 'dev', interval: '1s', handOverAfterChecks: 10, requestedBy: 'carol' });
        const handle = stack.client.workflow.getHandle(workflowId);
        const { runId } = await handle.describe();
        await eventually('handed over', 60_000, async () => ((await getHealthWatchStatus(stack.client, workflowId)).chainIndex >= 1 ? true : undefined));
        await stopHealthWatch(stack.client, workflowId, 'carol');
        return { workflowId, runId, outcome: (await handle.result()).outcome };
      }),
  },
];
