/**
 * remediationRun on real processes (the process runtime behind deploy.process), real Temporal (the time-skipping
 * test server: one per file) and PostgreSQL (PGlite): a crashed service really restarted (its pid killed, a new pid
 * answers on the port), the next restart blocked by the cooldown (audited with its reason, nothing restarted),
 * scale_up starting a second replica on another port, the uncertainty, conflict and forbidden gates, and prod
 * waiting for its approval. Every process started here is stopped in afterAll and checked gone by pid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decide } from '../../client/common/approval';
import { getHealthWatchStatus, getRemediationResult, getRemediationStatus, openIncident, startHealthWatch, stopHealthWatch } from '../../client/remediation';
import type { RemediationResult } from '../../shared/contract/remediation/input';
import { loadConfig } from '../../shared/node/config';
import { processAlive } from '../../shared/node/process/process-group';
import { processRuntime, type EnvironmentRef } from '../../shared/node/runtime';
import { eventually } from '../helpers/eventually';
import { deployPidService, pidAt } from '../helpers/pid-service';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { auditEvents } from '../workflows/fixtures';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-remediation-'));
// The capability worker of this process reads it when deploy.process's queue runs an action.
process.env.ADOS_DATA_DIR = path.join(scratch, 'data');
const runtime = processRuntime(loadConfig());
const seenPids = new Set<number>();

let stack: AdosStack;
useTimeSkippingStack('remediation-run', (ready) => {
  stack = ready.stack;
});

async function deployService(ref: EnvironmentRef): Promise<{ port: number; pid: number }> {
  const deployed = await deployPidService(runtime, ref, scratch);
  remember(deployed.pid, deployed.proxyPid);
  return deployed;
}

function remember(...pids: (number | undefined)[]): void {
  for (const pid of pids) if (pid) seenPids.add(pid);
}

async function remediate(fields: Record<string, unknown>): Promise<RemediationResult> {
  const { workflowId } = await openIncident(stack.client, stack.config, { tenantId: 'acme', requestedBy: 'ops', evidence: ['health check failed'], ...fields });
  const result = await getRemediationResult(stack.client, workflowId);
  remember(result.effect?.pid, ...(result.effect?.replicas ?? []).map((r) => r.pid));
  return result;
}

const blockedEntries = async (workflowId: string) => (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'governance.blocked').map((e) => e.detail);

afterAll(async () => {
  await runtime.stopAll();
  for (const pid of seenPids) expect({ pid, alive: processAlive(pid) }).toEqual({ pid, alive: false });
  fs.rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('a crashed service', () => {
  const ref: EnvironmentRef = { tenant: 'acme', service: 'api', environment: 'dev' };
  let port: number;
  let firstPid: number;
  let restartedPid: number;

  beforeAll(async () => {
    ({ port, pid: firstPid } = await deployService(ref));
  });

  it('is really restarted: its pid killed, the remediation starts a new process that answers on the same port', async () => {
    expect(await pidAt(port)).toBe(firstPid);
    process.kill(firstPid, 'SIGKILL');
    await eventually('the killed process is gone', 10_000, async () => (processAlive(firstPid) ? undefined : true));
    await expect(pidAt(port)).rejects.toThrow();

    const result = await remediate({ service: 'api', environment: 'dev', kind: 'crash', confidence: 0.9 });
    expect(result).toMatchObject({ outcome: 'remediated', proposed: 'restart', performed: 'restart', blocks: [], healthy: true });
    expect(result.effect?.previousPid).toBe(firstPid);
    restartedPid = result.effect?.pid as number;
    expect(restartedPid).not.toBe(firstPid);
    expect(processAlive(restartedPid)).toBe(true);
    expect(await pidAt(port)).toBe(restartedPid);

    const events = (await auditEvents(stack.db, result.workflowId)).map((e) => e.event);
    expect(events).toEqual(['run.started', 'remediation.proposed', 'remediation.action_done', 'remediation.verified', 'run.finished']);
    const actions = await stack.db.selectFrom('governance_actions').selectAll().where('workflow_id', '=', result.workflowId).execute();
    expect(actions.map((a) => ({ action: a.action, outcome: a.outcome, service: a.service, environment: a.environment }))).toEqual([
      { action: 'restart', outcome: 'succeeded', service: 'api', environment: 'dev' },
    ]);
    const run = await stack.db.selectFrom('runs').selectAll().where('workflow_id', '=', result.workflowId).executeTakeFirstOrThrow();
    expect({ kind: run.kind, status: run.status }).toEqual({ kind: 'remediation', status: 'remediated' });
  });

  it('the next restart within 60 s is blocked by the cooldown, audited with its reason, and nothing is restarted', async () => {
    const result = await remediate({ service: 'api', environment: 'dev', kind: 'crash', confidence: 0.95 });
    expect(result).toMatchObject({ outcome: 'blocked', proposed: 'restart', performed: 'noop' });
    expect(result.blocks.map((b) => b.gate)).toEqual(['cooldown']);
    expect(result.blocks[0].reason).toMatch(/^restart of acme\/api\/dev is cooling down: the last one was \d+ s ago, the cooldown is 60 s \(\d+ s left\)$/);
    expect(await blockedEntries(result.workflowId)).toEqual([expect.objectContaining({ gate: 'cooldown', action: 'restart', service: 'api', environment: 'dev', reason: result.blocks[0].reason })]);
    expect(await pidAt(port)).toBe(restartedPid);
    expect(await stack.db.selectFrom('governance_actions').selectAll().where('workflow_id', '=', result.workflowId).execute()).toEqual([]);
  });

  it('overload → scale_up: a second replica on another port, both serving through the environment port', async () => {
    const result = await remediate({ service: 'api', environment: 'dev', kind: 'overload', confidence: 0.8 });
    expect(result).toMatchObject({ outcome: 'remediated', performed: 'scale_up', healthy: true });
    const replicas = result.effect?.replicas ?? [];
    expect(replicas).toHaveLength(2);
    expect(replicas[0].pid).toBe(restartedPid);
    expect(replicas[1].privatePort).not.toBe(replicas[0].privatePort);
    expect(replicas.every((r) => processAlive(r.pid))).toBe(true);
    const status = runtime.status(ref);
    expect(status.replicas).toEqual([{ pid: replicas[1].pid, privatePort: replicas[1].privatePort, running: true }]);
    const served = new Set<number>();
    for (let i = 0; i < 6; i++) served.add(await pidAt(port));
    expect([...served].sort()).toEqual(replicas.map((r) => r.pid).sort());
  });
});

describe('gates that turn an action into a noop, an observation or a refusal', () => {
  it('confidence below 0.5: noop instead of the restart', async () => {
    const result = await remediate({ service: 'web', environment: 'dev', kind: 'crash', confidence: 0.3 });
    expect(result).toMatchObject({ outcome: 'blocked', performed: 'noop', blocks: [{ gate: 'uncertainty', reason: 'confidence 0.3 is below 0.5: noop instead of restart' }] });
  });

  it('conflicting signals: observe only', async () => {
    const result = await remediate({
      service: 'web',
      environment: 'dev',
      kind: 'crash',
      confidence: 0.9,
      signals: [{ source: 'health-check', kind: 'crash' }, { source: 'anomaly', kind: 'false_alarm' }],
    });
    expect(result).toMatchObject({ outcome: 'blocked', performed: 'observe', blocks: [{ gate: 'conflict' }] });
  });

  it('a forbidden action is refused and audited', async () => {
    const result = await remediate({ service: 'web', environment: 'dev', kind: 'crash', confidence: 1, action: 'drop database' });
    expect(result.blocks.map((b) => b.gate)).toEqual(['forbidden']);
    expect(await blockedEntries(result.workflowId)).toEqual([expect.objectContaining({ gate: 'forbidden', action: 'drop_database' })]);
  });

  it('a false alarm does nothing', async () => {
    expect(await remediate({ service: 'web', environment: 'dev', kind: 'false_alarm', confidence: 0.9 })).toMatchObject({ outcome: 'noop', performed: 'noop', blocks: [] });
  });
});

describe('prod', () => {
  const ref: EnvironmentRef = { tenant: 'acme', service: 'api', environment: 'prod' };

  beforeAll(async () => {
    await deployService(ref);
  });

  it('waits at the approval gate (the block audited), and restarts once approved', async () => {
    const { workflowId } = await openIncident(stack.client, stack.config, {
      tenantId: 'acme',
      service: 'api',
      environment: 'prod',
      kind: 'crash',
      confidence: 0.9,
      requestedBy: 'ops',
      approval: { approvers: ['alice'] },
    });
    await eventually('awaiting approval', 30_000, async () => ((await getRemediationStatus(stack.client, workflowId)).stage === 'awaiting_approval' ? true : undefined));
    expect(await blockedEntries(workflowId)).toEqual([expect.objectContaining({ gate: 'approval', action: 'restart', environment: 'prod' })]);
    await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'restart it' });
    const result = await getRemediationResult(stack.client, workflowId);
    remember(result.effect?.pid);
    expect(result).toMatchObject({ outcome: 'remediated', performed: 'restart', healthy: true });
    expect((await auditEvents(stack.db, workflowId)).map((e) => e.event)).toEqual(
      expect.arrayContaining(['governance.blocked', 'approval.requested', 'approval.granted', 'remediation.action_done', 'remediation.verified']),
    );
  });
});

describe('a health watch', () => {
  const ref: EnvironmentRef = { tenant: 'acme', service: 'billing', environment: 'dev' };

  it('opens an incident after failed checks in a row: the killed process is restarted by a remediationRun of source health-check', async () => {
    const { port, pid } = await deployService(ref);
    const { workflowId } = await startHealthWatch(stack.client, stack.config, { tenantId: 'acme', service: 'billing', environment: 'dev', interval: '1s', failuresToOpen: 2, requestedBy: 'ops' });
    expect(workflowId).toBe('health-watch-acme-billing-dev');
    expect(await startHealthWatch(stack.client, stack.config, { tenantId: 'acme', service: 'billing', environment: 'dev', requestedBy: 'ops' })).toMatchObject({ alreadyWatching: true });
    await eventually('two healthy checks', 30_000, async () => {
      const status = await getHealthWatchStatus(stack.client, workflowId);
      return status.checks >= 2 && status.lastCheck?.healthy ? status : undefined;
    });
    expect((await getHealthWatchStatus(stack.client, workflowId)).incidents).toEqual([]);

    process.kill(pid, 'SIGKILL');
    const watched = await eventually('an incident opened and closed', 60_000, async () => {
      const status = await getHealthWatchStatus(stack.client, workflowId);
      return status.incidents.length === 1 && status.stage === 'watching' && status.lastCheck?.healthy ? status : undefined;
    });
    const remediation = await getRemediationResult(stack.client, watched.incidents[0]);
    remember(remediation.effect?.pid);
    expect(remediation).toMatchObject({ outcome: 'remediated', proposed: 'restart', performed: 'restart', healthy: true });
    expect(remediation.effect?.previousPid).toBe(pid);
    expect(await pidAt(port)).toBe(remediation.effect?.pid);
    const run = await stack.db.selectFrom('runs').selectAll().where('workflow_id', '=', watched.incidents[0]).executeTakeFirstOrThrow();
    expect(run.input).toMatchObject({ source: 'health-check', kind: 'crash', confidence: 0.9, requestedBy: workflowId, signals: [{ source: 'health-check', kind: 'crash' }] });

    await stopHealthWatch(stack.client, workflowId, 'ops', 'test over');
    const result = await stack.client.workflow.getHandle(workflowId).result();
    expect(result).toMatchObject({ outcome: 'stopped', incidents: watched.incidents });
    expect(result.checks).toBeGreaterThanOrEqual(watched.checks);
    const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
    expect(events.filter((e) => e !== 'health-watch.recovered')).toEqual([
      'health-watch.watch_started',
      'health-watch.incident_opened',
      'health-watch.incident_closed',
      'health-watch.stop_requested',
      'health-watch.watch_stopped',
    ]);
    const row = await stack.db.selectFrom('runs').selectAll().where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
    expect({ kind: row.kind, status: row.status }).toEqual({ kind: 'health-watch', status: 'stopped' });
  });

  it('a watch of a prod service without approvers is refused naming the field; a malformed stop is audited and ignored', async () => {
    await expect(startHealthWatch(stack.client, stack.config, { tenantId: 'acme', service: 'billing', environment: 'prod', requestedBy: 'ops' })).rejects.toThrow(/approval: required to watch a prod service/);
    await expect(startHealthWatch(stack.client, stack.config, { tenantId: 'acme', service: 'billing', environment: 'stage', interval: 'often', requestedBy: 'ops' })).rejects.toThrow(/interval: must be a whole number and a unit/);
    const { workflowId } = await startHealthWatch(stack.client, stack.config, { tenantId: 'acme', service: 'nothing-here', environment: 'stage', interval: '1s', failuresToOpen: 20, requestedBy: 'ops' });
    const handle = stack.client.workflow.getHandle(workflowId);
    await handle.signal('stopHealthWatch', { by: 'ops', extra: true });
    await eventually('the bad stop audited', 20_000, async () => ((await auditEvents(stack.db, workflowId)).some((e) => e.event === 'health-watch.signal_ignored') ? true : undefined));
    const status = await getHealthWatchStatus(stack.client, workflowId);
    expect(status).toMatchObject({ stage: 'watching', stopRequested: false });
    expect(status.lastCheck).toMatchObject({ healthy: false, processRunning: false });
    await stopHealthWatch(stack.client, workflowId, 'ops');
    expect(await handle.result()).toMatchObject({ outcome: 'stopped', incidents: [] });
  });
});
