import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AuditActivities } from '../../activities/common/audit-activities';
import type { RemediationControlActivities } from '../../activities/remediation/control-activities';
import type { RemediationProcessActivities } from '../../activities/remediation/process-actions';
import { durationToMs } from '../../shared/contract/duration';
import {
  healthWatchStatusQuery,
  incidentOfFailures,
  stopHealthWatchPayloadSchema,
  stopHealthWatchSignal,
  validateHealthWatchInput,
  type HealthCheck,
  type HealthWatchInput,
  type HealthWatchRequest,
  type HealthWatchResult,
  type HealthWatchStage,
  type HealthWatchState,
  type HealthWatchStatus,
} from '../../shared/contract/remediation/health-watch';
import { remediationSummary, validateRemediationInput, type RemediationResult } from '../../shared/contract/remediation/input';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { capabilityTaskQueue } from '../../shared/contract/task-queues';
import { formatIssues, issuesFromZod } from '../../shared/contract/validation';
import { remediationWorkflowId } from '../../shared/contract/workflow-ids';
import { AuditTrail } from '../common/audit-trail';
import { controlLocalActivities } from '../common/control-activities';
import { runTaskQueuePrefix } from '../common/task-queue';
import type { remediationRun } from './remediation-run';

/**
 * A health watch (README, "Remediation" → "Health watches"), ID `health-watch-<tenant>-<service>-<env>`: checks a
 * service deploy.process serves through its public port every interval; after `failuresToOpen` failed checks in a
 * row it opens an incident, a remediationRun child (source `health-check`: the process gone → crash → restart, a
 * process answering badly → overload → scale_up), waits for it, and watches on. The governance gates of that run
 * decide what is really done (cooldowns, repetition, prod's approval). Long-lived: it hands over to a new run
 * (continue-as-new, plain-JSON state) every `handOverAfterChecks` checks.
 */
export async function healthWatch(request: HealthWatchRequest, carried?: HealthWatchState): Promise<HealthWatchResult> {
  const checked = validateHealthWatchInput(request);
  if (!checked.ok) {
    throw ApplicationFailure.create({ type: 'InvalidHealthWatchInput', message: `invalid health watch input:\n${formatIssues(checked.issues)}`, details: [checked.issues], nonRetryable: true });
  }
  return new HealthWatch(checked.value, carried).run();
}

/** The queue deploy.process serves: the check runs on the machine whose process runtime holds the service. */
const PROCESS_CAPABILITY = 'deploy.process';

class HealthWatch {
  private readonly workflowId = workflowInfo().workflowId;
  private readonly control = controlLocalActivities<AuditActivities & RemediationControlActivities>();
  private readonly process = proxyActivities<RemediationProcessActivities>({
    taskQueue: capabilityTaskQueue(PROCESS_CAPABILITY, runTaskQueuePrefix()),
    scheduleToStartTimeout: '5m',
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '1s' },
  });
  private readonly audit: AuditTrail;
  private readonly state: HealthWatchState;
  private stage: HealthWatchStage = 'watching';

  constructor(
    private readonly input: HealthWatchInput,
    carried: HealthWatchState | undefined,
  ) {
    this.audit = new AuditTrail(input.tenantId);
    this.state = carried ? { ...carried, chainIndex: carried.chainIndex + 1 } : { chainIndex: 0, checks: 0, consecutiveFailures: 0, incidents: [], stopRequested: false };
    setHandler(healthWatchStatusQuery, () => this.status());
    setHandler(stopHealthWatchSignal, (payload) => this.onStop(payload));
  }

  async run(): Promise<HealthWatchResult> {
    await this.open();
    while (!this.state.stopRequested) {
      await this.checkOnce();
      if (this.state.stopRequested) break;
      if (this.handOverDue()) return this.handOver();
      await condition(() => this.state.stopRequested, durationToMs(this.input.interval), { summary: `next health check (${this.input.interval})` });
    }
    return this.finish();
  }

  /** A malformed stop is audited and ignored; the watch goes on. */
  private async onStop(payload: unknown): Promise<void> {
    const parsed = stopHealthWatchPayloadSchema.safeParse(payload ?? {});
    if (!parsed.success) {
      await this.record('signal_ignored', { signal: 'stopHealthWatch', reason: formatIssues(issuesFromZod(parsed.error)) });
      return;
    }
    this.state.stopRequested = true;
    this.state.stopBy = parsed.data.by ?? 'unknown';
    await this.record('stop_requested', { by: this.state.stopBy, reason: parsed.data.reason });
  }

  private async open(): Promise<void> {
    const { input } = this;
    upsertSearchAttributes([
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'remediation' },
      { key: AdosStage, value: 'watching' },
      { key: AdosAwaitingApproval, value: false },
    ]);
    if (this.state.chainIndex > 0) return;
    await this.control.recordRemediationStarted({
      ...this.key('watch_started'),
      kind: 'health-watch',
      runId: this.workflowId,
      requestedBy: input.requestedBy,
      input,
      detail: { service: input.service, environment: input.environment, interval: input.interval, failuresToOpen: input.failuresToOpen },
    });
  }

  private async checkOnce(): Promise<void> {
    const where = `${this.input.tenantId}/${this.input.service}/${this.input.environment}`;
    const check: HealthCheck = await this.process.checkWatchedService.executeWithOptions({ summary: `health check of ${where}` }, [this.target()]);
    this.state.checks += 1;
    this.state.lastCheck = { ...check, at: new Date().toISOString() };
    if (check.healthy) {
      if (this.state.consecutiveFailures > 0) await this.record('recovered', { after: this.state.consecutiveFailures, url: check.url });
      this.state.consecutiveFailures = 0;
    } else {
      this.state.consecutiveFailures += 1;
      if (this.state.consecutiveFailures >= this.input.failuresToOpen) await this.openIncident(check);
    }
    setCurrentDetails(this.detailsLine());
  }

  /** Opens the incident as a remediationRun child and waits for it; the failures count again from zero after it. */
  private async openIncident(check: HealthCheck): Promise<void> {
    const { input } = this;
    const { kind, confidence } = incidentOfFailures(check);
    const openedAt = new Date().toISOString();
    const incident = validateRemediationInput({
      tenantId: input.tenantId,
      service: input.service,
      environment: input.environment,
      kind,
      confidence,
      evidence: [`${this.state.consecutiveFailures} failed health checks in a row, every ${input.interval}; the last: ${check.url}: ${check.detail}`, `process running: ${check.processRunning}`],
      signals: [{ source: 'health-check', kind }],
      requestedBy: this.workflowId,
      source: 'health-check',
      openedAt,
      ...(input.approval ? { approval: input.approval } : {}),
    });
    if (!incident.ok) throw ApplicationFailure.nonRetryable(`the incident of ${this.workflowId} is invalid: ${formatIssues(incident.issues)}`, 'InvalidHealthWatchInput');
    const childId = remediationWorkflowId(input.tenantId, input.service, openedAt);
    this.state.incidents.push(childId);
    await this.record('incident_opened', { remediation: childId, kind, confidence, failures: this.state.consecutiveFailures, detail: check.detail });
    this.setStage('remediating');
    const result: RemediationResult = await executeChild<typeof remediationRun>('remediationRun', {
      workflowId: childId,
      args: [incident.value],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      ...remediationSummary(incident.value),
      typedSearchAttributes: [
        { key: AdosTenant, value: input.tenantId },
        { key: AdosKind, value: 'remediation' },
        { key: AdosStage, value: 'proposing' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    await this.record('incident_closed', { remediation: childId, outcome: result.outcome, performed: result.performed, healthy: result.healthy });
    log.info('health watch: incident closed', { remediation: childId, outcome: result.outcome });
    this.state.consecutiveFailures = 0;
    this.setStage('watching');
  }

  private handOverDue(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || this.state.checks >= (this.state.chainIndex + 1) * this.input.handOverAfterChecks;
  }

  /** Hands over to the next run with plain-JSON state, once every signal and query handler has finished. */
  private async handOver(): Promise<never> {
    await this.record('handed_over', { checks: this.state.checks, historyLength: workflowInfo().historyLength });
    await condition(allHandlersFinished);
    return continueAsNew<typeof healthWatch>(this.input, { ...this.state, lastCheck: this.state.lastCheck ? { ...this.state.lastCheck } : undefined });
  }

  private async finish(): Promise<HealthWatchResult> {
    this.setStage('stopped');
    const result: HealthWatchResult = { workflowId: this.workflowId, outcome: 'stopped', checks: this.state.checks, incidents: [...this.state.incidents] };
    await condition(allHandlersFinished);
    await this.control.recordRemediationFinished({ ...this.key('watch_stopped'), detail: { by: this.state.stopBy, checks: this.state.checks, incidents: this.state.incidents.length }, status: 'stopped', result });
    return result;
  }

  private target() {
    return { tenantId: this.input.tenantId, service: this.input.service, environment: this.input.environment };
  }

  /** Audit keys stay unique across the chain and across a watch started again under the same ID. */
  private key(event: string) {
    const entry = this.audit.next(`health-watch.${event}`);
    return { ...entry, auditKey: `${workflowInfo().firstExecutionRunId.slice(0, 8)}.${String(this.state.chainIndex).padStart(4, '0')}.${entry.auditKey}` };
  }

  private async record(event: string, detail: Record<string, unknown>): Promise<void> {
    await this.control.recordAudit({ ...this.key(event), detail: { ...detail, chainIndex: this.state.chainIndex } });
  }

  private setStage(stage: HealthWatchStage): void {
    this.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
    setCurrentDetails(this.detailsLine());
  }

  private detailsLine(): string {
    const last = this.state.lastCheck;
    return [
      `${this.stage}: ${this.state.checks} check(s), ${this.state.incidents.length} incident(s)`,
      last ? `last ${last.healthy ? 'healthy' : `failed (${last.detail})`} at ${last.at}` : 'no check yet',
      `${this.state.consecutiveFailures}/${this.input.failuresToOpen} failures in a row`,
      `run #${this.state.chainIndex}`,
    ].join(' · ');
  }

  private status(): HealthWatchStatus {
    const { input } = this;
    return { ...this.state, incidents: [...this.state.incidents], workflowId: this.workflowId, tenantId: input.tenantId, service: input.service, environment: input.environment, stage: this.stage };
  }
}
