/**
 * anomalyPipeline end to end on a NAB series (read in place from ../shared/data/nab), on real Temporal (the
 * time-skipping test server: one per file), PostgreSQL (PGlite) and real processes (the process runtime behind
 * deploy.process): the ensemble's first anomaly inside the labeled window → the handler's schema → schemaExtraction
 * as a child → the handler on stage as a real process (pid, port) serving through the extracted module → its tests on
 * the anomaly's own samples and the normal window from metric_samples → approved → prod (a second real process), which
 * watches the metric for a day: the samples after the anomaly, then new ones arriving after the promotion, its alert
 * rate read by read; rejected → the stage process gone; no decision within the hour → escalated to the tenant's
 * governance approvers → a second hour without one rejects. Last, the monitor starts one: `ados metrics watch
 * --approvers` on the series classifies its 30-minute anomaly unknown and starts its pipeline child, which `ados
 * anomaly approve` promotes once it waits at the gate. It runs last: once a monitor closed while its abandoned child
 * waits, the time-skipping test server skips no more time in this process (test/replay/record-histories.ts records
 * that scenario last too). Every process started here is stopped in afterAll and checked gone by pid.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getAnomalyPipelineResult, getAnomalyPipelineStatus, startAnomalyPipeline } from '../../client/anomaly-pipeline';
import { runCli } from '../../client/cli';
import { decide } from '../../client/common/approval';
import { getMonitorStatus } from '../../client/metrics';
import type { AnomalyPipelineResult, HandlerAlertRate } from '../../shared/contract/anomaly/pipeline';
import type { ExtractionResult } from '../../shared/contract/extraction/messages';
import { AdosStage } from '../../shared/contract/search-attributes';
import { anomalyMonitorWorkflowId, anomalyPipelineWorkflowId } from '../../shared/contract/workflow-ids';
import { loadConfig } from '../../shared/node/config';
import { processAlive } from '../../shared/node/process/process-group';
import { processRuntime } from '../../shared/node/runtime';
import { createTenant } from '../../shared/node/tenancy/store';
import { anomalySamples, appendSamples, awaitingHandlerApproval, ingestNabSeries, nabPipelineInput, nabSamples } from '../helpers/anomaly-pipeline';
import { eventually } from '../helpers/eventually';
import { useTimeSkippingStack, type AdosStack } from '../helpers/stack';
import { auditEvents } from '../workflows/fixtures';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ados-anomaly-pipeline-'));
// The capability worker of this process reads it when deploy.process's queue deploys a handler.
process.env.ADOS_DATA_DIR = path.join(scratch, 'data');
const runtime = processRuntime(loadConfig());
const seenPids = new Set<number>();

let stack: AdosStack;
useTimeSkippingStack('anomaly-pipeline', (ready) => {
  stack = ready.stack;
});

async function about(port: number): Promise<{ pid: number; name: string; environment: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (await response.json()) as { pid: number; name: string; environment: string };
}

const handlerRows = (workflowId: string) => stack.db.selectFrom('anomaly_handlers').selectAll().where('workflow_id', '=', workflowId).orderBy('environment').execute();

afterAll(async () => {
  await runtime.stopAll();
  for (const pid of seenPids) expect({ pid, alive: processAlive(pid) }).toEqual({ pid, alive: false });
  fs.rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe('an unknown anomaly of ec2_cpu_utilization_825cc2, approved', () => {
  const metric = 'ec2_cpu_825cc2';
  const afterAnomaly = nabSamples.filter((s) => s.ts > anomalySamples[anomalySamples.length - 1].ts);
  // An hour of samples after the series' last one, 5 minutes apart, the seventh a spike far above anything before.
  const last = nabSamples[nabSamples.length - 1];
  const arriving = Array.from({ length: 12 }, (_, i) => ({ ts: new Date(Date.parse(last.ts) + (i + 1) * 300_000).toISOString(), value: i === 6 ? 50 * Math.max(...nabSamples.map((s) => s.value)) : last.value }));
  let workflowId: string;
  let result: AnomalyPipelineResult;
  let backlog: HandlerAlertRate;

  beforeAll(async () => {
    await ingestNabSeries(stack, 'acme', metric);
    ({ workflowId } = await startAnomalyPipeline(stack.client, stack.config, nabPipelineInput('acme', metric)));
    const waiting = await awaitingHandlerApproval(stack, workflowId);
    seenPids.add(waiting.staging!.pid);
    await decide(stack.client, workflowId, { decision: 'approve', approver: 'alice', comment: 'handler looks right' });
    // Promoted, the handler reads the series' samples after the anomaly at once, then waits for the next interval (the
    // time-skipping server skips no time while nobody awaits the result): new samples arrive meanwhile, a spike among them.
    backlog = await eventually('the watch read the samples after the anomaly', 60_000, async () => {
      const status = await getAnomalyPipelineStatus(stack.client, workflowId);
      if (status.stage === 'finished') throw new Error(`finished before its watch: ${status.outcome} ${status.reason}`);
      return status.stage === 'watching' && status.alertRate?.samples === afterAnomaly.length ? status.alertRate : undefined;
    });
    await appendSamples(stack, 'acme', metric, arriving);
    result = await getAnomalyPipelineResult(stack.client, workflowId);
    if (result.production) seenPids.add(result.production.pid);
  }, 80_000);

  it('generated the handler schema from the template and extracted it in a schemaExtraction child', async () => {
    expect(result.outcome).toBe('promoted');
    expect(result.handler).toBe(`Ec2Cpu825cc2_${result.anomalyType.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}_Handler_v1`);
    expect(result.extractionWorkflowId).toMatch(/^extraction-acme-ec2-cpu825cc2-[a-z-]+-handler-v1-[0-9a-f]{8}$/);
    const extraction = (await stack.client.workflow.getHandle(result.extractionWorkflowId).result()) as ExtractionResult;
    expect(extraction.outcome).toBe('succeeded');
    expect(extraction.nodes[result.handler].state).toBe('done');
    expect(extraction.nodes[result.handler].artifacts?.map((a) => a.kind).sort()).toEqual(['manifest', 'module', 'readme', 'test']);
    const generated = (await auditEvents(stack.db, workflowId)).find((e) => e.event === 'handler.generated')!.detail;
    expect(generated).toMatchObject({
      name: result.handler,
      parameters: { handler: { metric, anomalyType: result.anomalyType, affectedMetrics: [metric, 'elb_request_count_8c0756'], firstObserved: anomalySamples[0].ts, severity: 'high' } },
    });
  });

  it('staged it as a real process that passed both tests on the metric\'s own samples', async () => {
    const staging = result.staging!;
    expect(processAlive(staging.pid)).toBe(true);
    expect(await about(staging.port)).toEqual(expect.objectContaining({ pid: staging.pid, name: result.handler, environment: 'stage' }));
    expect(result.tests.map((t) => ({ name: t.name, passed: t.passed, judged: t.judged }))).toEqual([
      { name: 'flags-anomaly', passed: true, judged: anomalySamples.length },
      { name: 'quiet-on-normal', passed: true, judged: 600 },
    ]);
    expect(result.tests[0].flagged).toBeGreaterThan(0);
    // The release holds what extraction generated, beside handler.json.
    const release = path.join(runtime.environmentDir({ tenant: 'acme', service: staging.service, environment: 'stage' }), 'current');
    expect(fs.readdirSync(path.join(release, 'extracted', fs.readdirSync(path.join(release, 'extracted'))[0])).sort()).toEqual(['README.md', 'index.test.ts', 'index.ts', 'manifest.yaml']);
    // It serves through the extracted module: the one the extraction generated, byte for byte.
    const served = ((await about(staging.port)) as unknown as { generated: { module: string; agent: string } }).generated;
    const extraction = (await stack.client.workflow.getHandle(result.extractionWorkflowId).result()) as ExtractionResult;
    const module = extraction.nodes[result.handler].artifacts!.find((a) => a.kind === 'module')!;
    expect(served).toMatchObject({ module: `extracted/${module.path}`, agent: expect.stringMatching(/Agent$/) });
    expect(createHash('sha256').update(fs.readFileSync(path.join(release, served.module))).digest('hex')).toBe(module.sha256);
  });

  it('promoted it to prod (another real pid and port, the same release) and recorded its alert rate', async () => {
    const { production, staging, alertRate } = result;
    expect(production).toBeDefined();
    expect(production!.pid).not.toBe(staging!.pid);
    expect(production!.port).not.toBe(staging!.port);
    expect(production!.release).toBe(staging!.release);
    expect(processAlive(production!.pid)).toBe(true);
    expect(await about(production!.port)).toEqual(expect.objectContaining({ pid: production!.pid, environment: 'prod' }));
    expect(alertRate).toMatchObject({ samples: afterAnomaly.length + arriving.length, to: arriving[arriving.length - 1].ts });
    expect(alertRate!.rate).toBe(alertRate!.alerts / alertRate!.samples);
    const rows = await handlerRows(workflowId);
    expect(rows.map((r) => ({ environment: r.environment, status: r.status, pid: r.pid, port: r.port }))).toEqual([
      { environment: 'prod', status: 'serving', pid: production!.pid, port: production!.port },
      { environment: 'stage', status: 'serving', pid: staging!.pid, port: staging!.port },
    ]);
    expect({ samples: rows[0].alert_samples, alerts: rows[0].alerts, rate: rows[0].alert_rate }).toEqual({ samples: alertRate!.samples, alerts: alertRate!.alerts, rate: alertRate!.rate });
  });

  it('watched the metric in prod for a day: the samples that arrived after its promotion were scored, the spike alerted', async () => {
    const { alertRate } = result;
    // The backlog took reads of watchSamples (300); the arrivals one more, at the next interval.
    expect(backlog.reads).toBe(Math.ceil(afterAnomaly.length / 300));
    expect(alertRate!.reads).toBe(backlog.reads! + 1);
    expect(alertRate!.alerts).toBeGreaterThan(backlog.alerts);
    const recorded = (await auditEvents(stack.db, workflowId)).filter((e) => e.event === 'handler.alert_rate').map((e) => e.detail as unknown as HandlerAlertRate);
    expect(recorded.map((r) => r.samples)).toEqual([...Array.from({ length: backlog.reads! }, (_, i) => Math.min((i + 1) * 300, afterAnomaly.length)), afterAnomaly.length + arriving.length]);
    // The watch lasted the default day (watchFor 24h) on the server's clock: from the prod deploy's end to the close.
    const events = (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const seconds = (e: (typeof events)[number]) => Number(e.eventTime!.seconds);
    const deploys = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployHandler').map((e) => String(e.eventId));
    const prodDeployed = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === deploys.at(-1))!;
    const watchedSeconds = seconds(events.at(-1)!) - seconds(prodDeployed);
    expect(watchedSeconds).toBeGreaterThanOrEqual(24 * 3600);
    expect(watchedSeconds).toBeLessThan(24 * 3600 + 15 * 60);
  });

  it('audited every stage, and recorded the run', async () => {
    expect((await auditEvents(stack.db, workflowId)).map((e) => e.event)).toEqual([
      'run.started',
      'anomaly.classified',
      'handler.generated',
      'handler.extracted',
      'handler.staged',
      'handler.tests_passed',
      'approval.requested',
      'approval.granted',
      'handler.promoted',
      ...Array.from({ length: result.alertRate!.reads! }, () => 'handler.alert_rate'),
      'run.finished',
    ]);
    const run = await stack.db.selectFrom('runs').selectAll().where('workflow_id', '=', workflowId).executeTakeFirstOrThrow();
    expect({ kind: run.kind, status: run.status }).toEqual({ kind: 'anomaly', status: 'promoted' });
  });
});

describe('a handler rejected at the gate', () => {
  it('`ados anomaly reject` → removed from stage: its process stopped and gone, its port closed', async () => {
    const metric = 'ec2_cpu_825cc2_rejected';
    await ingestNabSeries(stack, 'acme', metric);
    const { workflowId } = await startAnomalyPipeline(stack.client, stack.config, nabPipelineInput('acme', metric));
    const waiting = await awaitingHandlerApproval(stack, workflowId);
    const { pid, port } = waiting.staging!;
    seenPids.add(pid);
    expect(processAlive(pid)).toBe(true);
    // Through the CLI: `ados anomaly reject` on this stack's server.
    process.env.TEMPORAL_ADDRESS = stack.env.address;
    expect(await runCli(['anomaly', 'reject', workflowId, '--tenant', 'acme', '--as', 'bob', '--comment', 'too noisy for prod', '--unsigned'])).toBe(0);
    const result = await getAnomalyPipelineResult(stack.client, workflowId);
    expect(result).toMatchObject({ outcome: 'rejected', reason: 'rejected by bob', removed: { pid, stopped: true }, escalated: false });
    expect(result.production).toBeUndefined();
    expect(processAlive(pid)).toBe(false);
    await expect(about(port)).rejects.toThrow();
    expect((await handlerRows(workflowId)).map((r) => ({ environment: r.environment, status: r.status }))).toEqual([{ environment: 'stage', status: 'removed' }]);
    const events = (await auditEvents(stack.db, workflowId)).map((e) => e.event);
    expect(events.slice(-4)).toEqual(['approval.requested', 'approval.refused', 'handler.removed', 'run.finished']);
  }, 80_000);
});

describe('nobody decides', () => {
  it('after the hour the gate escalates to the tenant\'s governance approvers; a second hour without a decision rejects', async () => {
    await createTenant(stack.db, 'gov', { approvals: { roles: { governance: ['gina', 'gus'] }, prod: { roles: ['governance'] } } }, 'test');
    const metric = 'ec2_cpu_825cc2_unattended';
    await ingestNabSeries(stack, 'gov', metric);
    const { workflowId } = await startAnomalyPipeline(stack.client, stack.config, nabPipelineInput('gov', metric));
    const waiting = await awaitingHandlerApproval(stack, workflowId);
    seenPids.add(waiting.staging!.pid);
    expect(waiting.approval?.policy).toMatchObject({ approvers: ['alice', 'bob'], timeout: '1h' });
    // The time-skipping server skips both hours while the result is awaited.
    const result = await getAnomalyPipelineResult(stack.client, workflowId);
    expect(result).toMatchObject({
      outcome: 'rejected',
      escalated: true,
      reason: 'no decision within 1h, nor within 1h after the escalation to gina, gus',
      removed: { pid: waiting.staging!.pid, stopped: true },
    });
    expect(processAlive(waiting.staging!.pid)).toBe(false);
    const events = await auditEvents(stack.db, workflowId);
    expect(events.map((e) => e.event).slice(-7)).toEqual(['approval.requested', 'approval.expired', 'approval.escalated', 'approval.requested', 'approval.expired', 'handler.removed', 'run.finished']);
    expect(events.find((e) => e.event === 'approval.escalated')!.detail).toMatchObject({ after: '1h', to: { approvers: ['gina', 'gus'], quorum: 1, timeout: '1h' } });
    const requested = events.filter((e) => e.event === 'approval.requested').map((e) => e.detail as { gate: string; policy: { approvers: string[] } });
    expect(requested.map((r) => [r.gate, r.policy.approvers])).toEqual([
      ['anomaly-handler', ['alice', 'bob']],
      ['anomaly-handler-escalated', ['gina', 'gus']],
    ]);
  }, 80_000);
});

describe('the monitor starts the pipeline of an unknown anomaly', () => {
  it('`ados metrics watch --approvers` → classified unknown → its anomalyPipeline child waits at the gate → `ados anomaly approve` promotes it', async () => {
    const metric = 'ec2_cpu_825cc2_watched';
    await ingestNabSeries(stack, 'acme', metric);
    // The CLI in this process, on this stack's server and queues (the monitor runs on its control worker).
    process.env.TEMPORAL_ADDRESS = stack.env.address;
    process.env.ADOS_TASK_QUEUE_PREFIX = stack.taskQueuePrefix;
    // The default ensemble closes three anomalies on this series; only the one of 03:34–04:04 lasts 30 min, so with a
    // 30 min persistence threshold it alone is unknown (the two single-sample ones are transient).
    expect(await runCli(['metrics', 'watch', '--metric', metric, '--tenant', 'acme', '--interval', '1s', '--persist-threshold', '30m', '--approvers', 'alice,bob', '--json'])).toBe(0);
    const monitorId = anomalyMonitorWorkflowId('acme', metric);
    const pipelineId = anomalyPipelineWorkflowId('acme', metric, '2014-04-16T03:34:00.000Z');
    const classified = await eventually('the monitor classified the whole series', 30_000, async () => {
      const rows = await stack.db.selectFrom('anomalies').select(['id', 'class', 'action', 'child_workflow_id', 'status']).where('tenant_id', '=', 'acme').where('metric', '=', metric).orderBy('id').execute();
      return rows.length === 3 && rows.every((r) => r.class !== null) ? rows : undefined;
    }, 200);
    expect(classified.map((r) => ({ id: r.id, class: r.class, action: r.action, child: r.child_workflow_id }))).toEqual([
      { id: anomalyPipelineWorkflowId('acme', metric, '2014-04-15T15:44:00.000Z'), class: 'transient', action: 'record', child: null },
      { id: anomalyPipelineWorkflowId('acme', metric, '2014-04-15T16:54:00.000Z'), class: 'transient', action: 'record', child: null },
      { id: pipelineId, class: 'unknown', action: 'pipeline', child: pipelineId },
    ]);

    const waiting = await awaitingHandlerApproval(stack, pipelineId);
    seenPids.add(waiting.staging!.pid);
    expect(waiting.tests.map((t) => [t.name, t.passed])).toEqual([['flags-anomaly', true], ['quiet-on-normal', true]]);
    const described = await stack.client.workflow.getHandle(pipelineId).describe();
    expect({ type: described.type, parent: described.parentExecution?.workflowId, stage: described.typedSearchAttributes.get(AdosStage) }).toEqual({ type: 'anomalyPipeline', parent: monitorId, stage: 'awaiting_approval' });
    const run = await stack.db.selectFrom('runs').select(['kind', 'requested_by', 'input']).where('workflow_id', '=', pipelineId).executeTakeFirstOrThrow();
    // The anomaly's own seven samples (03:34 … 04:04, 5 min apart), handed over by the monitor.
    expect({ kind: run.kind, requestedBy: run.requested_by, input: run.input }).toMatchObject({
      kind: 'anomaly',
      requestedBy: monitorId,
      input: { approval: { approvers: ['alice', 'bob'] }, anomaly: { samples: 7, start: '2014-04-16T03:34:00.000Z', end: '2014-04-16T04:04:00.000Z' } },
    });
    expect((await auditEvents(stack.db, pipelineId)).map((e) => e.event).slice(-1)).toEqual(['approval.requested']);
    expect((await getMonitorStatus(stack.client, monitorId)).status?.classified).toMatchObject({ unknown: 1, transient: 2 });

    // The monitor stops; its child (abandoned on close) waits on. It is polled, not awaited, so no time skips past the gate.
    expect(await runCli(['metrics', 'stop', '--metric', metric, '--tenant', 'acme', '--reason', 'test done'])).toBe(0);
    await eventually('the monitor stopped', 15_000, async () => ((await stack.client.workflow.getHandle(monitorId).describe()).status.name === 'COMPLETED' ? true : undefined), 200);
    expect((await stack.client.workflow.getHandle(pipelineId).describe()).status.name).toBe('RUNNING');

    expect(await runCli(['anomaly', 'approve', pipelineId, '--tenant', 'acme', '--as', 'alice', '--comment', 'handles it', '--unsigned'])).toBe(0);
    const result = await getAnomalyPipelineResult(stack.client, pipelineId);
    if (result.production) seenPids.add(result.production.pid);
    expect(result).toMatchObject({ outcome: 'promoted', escalated: false, staging: { pid: waiting.staging!.pid } });
    expect(processAlive(result.production!.pid)).toBe(true);
    const tail = (await auditEvents(stack.db, pipelineId)).map((e) => e.event).slice(-(4 + result.alertRate!.reads!));
    expect(tail).toEqual(['approval.requested', 'approval.granted', 'handler.promoted', ...Array.from({ length: result.alertRate!.reads! }, () => 'handler.alert_rate'), 'run.finished']);
  }, 80_000);
});
