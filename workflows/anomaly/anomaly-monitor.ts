import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AnomalyMonitorActivities, ScoredInterval } from '../../activities/anomaly/monitor-activities';
import type { AuditEntry } from '../../activities/common/run-records';
import type { AnomalyInvestigationInput } from '../../shared/contract/anomaly/investigation';
import {
  anomalyMonitorStatusQuery,
  monitorStatusLine,
  noneClassified,
  stopMonitorSignal,
  validateAnomalyMonitorInput,
  type AnomalyMonitorInput,
  type AnomalyMonitorRequest,
  type AnomalyMonitorResult,
  type AnomalyMonitorStage,
  type AnomalyMonitorState,
  type AnomalyMonitorStatus,
  type AnomalyToClassify,
} from '../../shared/contract/anomaly/monitor';
import { ANOMALY_PIPELINE_WORKFLOW, type AnomalyPipelineInput } from '../../shared/contract/anomaly/pipeline';
import { durationToMs } from '../../shared/contract/duration';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { formatIssues } from '../../shared/contract/validation';
import { anomalyInvestigationWorkflowId } from '../../shared/contract/workflow-ids';
import { AuditTrail } from '../common/audit-trail';
import { classifyAnomaly, severityOf, type Classification } from './classify-rules';

/** Events a run keeps in reserve for one interval's work when it decides whether to hand over. */
const INTERVAL_EVENT_RESERVE = 60;

/**
 * An anomaly monitor: once per interval it reads the metric's new samples (after scraping its Prometheus endpoint,
 * when that is its source) and scores them in an activity with the detectors continued from their checkpoint, which
 * commits the anomalies they closed with the new checkpoint; then it classifies each anomaly still to classify
 * (workflows/anomaly/classify-rules.ts) and acts: known → audited and notified, novel → an investigator child,
 * unknown → an `anomalyPipeline` child, false positive and transient → recorded. Every run hands over
 * (continue-as-new, plain-JSON state) when Temporal suggests it or its events near `handOverAtEvents`, with every
 * handler finished. `stop` ends it; `status` is the query, and the Web UI's current details show the same line.
 */
export async function anomalyMonitor(raw: AnomalyMonitorRequest, carried?: AnomalyMonitorState): Promise<AnomalyMonitorResult> {
  const checked = validateAnomalyMonitorInput(raw);
  if (!checked.ok) {
    throw ApplicationFailure.create({
      type: 'InvalidAnomalyMonitorInput',
      message: `invalid anomaly monitor input:\n${formatIssues(checked.issues)}`,
      details: [checked.issues],
      nonRetryable: true,
    });
  }
  return new AnomalyMonitor(checked.value, carried).run();
}

class AnomalyMonitor {
  private readonly workflowId = workflowInfo().workflowId;
  private readonly records = proxyLocalActivities<AnomalyMonitorActivities>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '1s', maximumInterval: '30s' },
  });
  private readonly audit: AuditTrail;
  private readonly pendingAudit: AuditEntry[] = [];
  private state!: AnomalyMonitorState;
  private stage: AnomalyMonitorStage = 'starting';
  /** The AdosStage last upserted: an interval's scoring and classifying stay `watching` there (fewer history events). */
  private searchStage?: string;

  constructor(
    private readonly input: AnomalyMonitorInput,
    private readonly carried: AnomalyMonitorState | undefined,
  ) {
    this.audit = new AuditTrail(input.tenantId);
  }

  async run(): Promise<AnomalyMonitorResult> {
    await this.open();
    setHandler(stopMonitorSignal, (payload) => {
      if (this.state.stopRequested) return;
      this.state.stopRequested = true;
      this.state.stopBy = typeof payload?.by === 'string' ? payload.by.slice(0, 128) : undefined;
      this.record('stop-requested', { by: this.state.stopBy, reason: typeof payload?.reason === 'string' ? payload.reason.slice(0, 500) : undefined });
    });
    setHandler(anomalyMonitorStatusQuery, () => this.status());
    const intervalMs = durationToMs(this.input.interval);
    while (!this.state.stopRequested) {
      if (this.handOverDue()) return this.handOver();
      await this.watchOnce();
      this.setStage('watching');
      setCurrentDetails(monitorStatusLine(this.status()));
      await condition(() => this.state.stopRequested, intervalMs, { summary: `next interval (${this.input.interval})` });
    }
    return this.finish();
  }

  /** The state this run starts from: carried by continue-as-new, or a fresh start (the checkpoint is the database's). */
  private async open(): Promise<void> {
    const { threshold } = await this.records.openAnomalyMonitor({ workflowId: this.workflowId, input: this.input });
    this.state = this.carried
      ? { ...this.carried }
      : { chainIndex: 0, intervals: 0, samplesScored: 0, threshold, classified: noneClassified(), stopRequested: false, auditSeq: 0 };
    if (!this.carried) this.record('started', { source: this.input.source, interval: this.input.interval, threshold, persistThreshold: this.input.persistThreshold, novelAfter: this.input.novelAfter });
    this.setStage('watching');
  }

  /** One interval: scrape (when the source is an endpoint), score, classify and act on each anomaly to classify. */
  private async watchOnce(): Promise<void> {
    const request = { workflowId: this.workflowId, input: this.input };
    if (this.input.source.kind === 'scrape') {
      await this.records.scrapeMetricSample.executeWithOptions({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 }, summary: `scrape ${this.input.source.series} from ${this.input.source.url}` }, [request]);
    }
    this.setStage('scoring');
    const scored: ScoredInterval = await this.records.scoreAnomalyInterval.executeWithOptions(
      { startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumInterval: '30s' }, summary: `score ${this.input.metric} after ${this.state.lastTs ?? 'the first sample'}` },
      [request],
    );
    this.state.intervals += 1;
    this.state.samplesScored = scored.samplesScored;
    this.state.threshold = scored.threshold;
    if (scored.lastTs) this.state.lastTs = scored.lastTs;
    // The database's tally: it holds a class a crashed attempt committed, which no retry returns as still to classify.
    if (scored.classified) this.state.classified = { ...noneClassified(), ...scored.classified };
    if (scored.toClassify.length > 0) {
      this.setStage('classifying');
      for (const item of scored.toClassify) await this.act(item);
    }
    if (this.pendingAudit.length > 0) await this.records.recordAnomalyMonitorAudit(this.pendingAudit.splice(0));
    setCurrentDetails(monitorStatusLine(this.status()));
  }

  /** Classifies one anomaly, acts on its class, and records the class (once, with its audit entry and notification). */
  private async act(item: AnomalyToClassify): Promise<void> {
    const classification = classifyAnomaly(item, { novelAfter: this.input.novelAfter, persistThresholdMs: durationToMs(this.input.persistThreshold) });
    let childWorkflowId: string | undefined;
    let outcome: Classification = classification;
    if (classification.action === 'investigate') childWorkflowId = await this.investigate(item);
    if (classification.action === 'pipeline') {
      const started = await this.startPipeline(item);
      childWorkflowId = started.workflowId;
      if (started.problem) outcome = { ...classification, reason: `${classification.reason}; ${started.problem}` };
    }
    // Counted by the class stored: an attempt that recorded it before a worker crash answers the retry with it.
    const { storedClass } = await this.records.recordAnomalyClassification.executeWithOptions(
      { startToCloseTimeout: '1m', summary: `${item.anomaly.id}: ${classification.class} → ${classification.action}` },
      [{ workflowId: this.workflowId, anomaly: item.anomaly, id: item.anomaly.id, class: outcome.class, action: outcome.action, reason: outcome.reason, ...(childWorkflowId ? { childWorkflowId } : {}) }],
    );
    if (storedClass === outcome.class) this.state.classified[outcome.class] += 1;
  }

  /** Starts the investigator of a novel anomaly (once per anomaly; it outlives the monitor's run). */
  private async investigate(item: AnomalyToClassify): Promise<string> {
    const workflowId = anomalyInvestigationWorkflowId(item.anomaly.id);
    const args: [AnomalyInvestigationInput] = [{ anomaly: item.anomaly, seenBefore: item.seenBefore, novelWindow: this.input.novelWindow }];
    await this.startOnce('anomalyInvestigation', workflowId, args, 'anomaly-investigation', `${this.input.tenantId}: investigate recurring ${item.anomaly.signature} on ${this.input.metric} (${item.anomaly.start})`);
    return workflowId;
  }

  /**
   * Starts the handler pipeline of an unknown anomaly (ID: the anomaly's), with the input its contract defines
   * (shared/contract/anomaly/pipeline.ts): the anomaly's samples, its severity, the detectors' configuration, the
   * metric's approvers. Without approvers it starts nothing and says so.
   */
  private async startPipeline(item: AnomalyToClassify): Promise<{ workflowId?: string; problem?: string }> {
    const { anomaly } = item;
    if (this.input.approvers.length === 0) return { problem: 'no pipeline started: the monitor has no approvers (`ados metrics watch --approvers alice,bob`)' };
    const samples = await this.records.readAnomalySamples.executeWithOptions({ startToCloseTimeout: '1m', summary: `samples of ${anomaly.id}` }, [{ tenantId: anomaly.tenantId, metric: anomaly.metric, start: anomaly.start, end: anomaly.end }]);
    const input: AnomalyPipelineInput = {
      tenantId: anomaly.tenantId,
      metric: anomaly.metric,
      anomaly: { start: anomaly.start, end: anomaly.end, peakTs: anomaly.peakTs, peakScore: anomaly.peakScore, detectors: anomaly.detectors, samples },
      severity: severityOf(anomaly.peakScore),
      detection: { ...this.input.detection, threshold: anomaly.threshold },
      requestedBy: this.workflowId,
      approval: { approvers: this.input.approvers },
    };
    await this.startOnce(ANOMALY_PIPELINE_WORKFLOW, anomaly.id, [input], 'anomaly', `${this.input.tenantId}: handler pipeline for ${anomaly.signature} on ${this.input.metric} from ${anomaly.start}`);
    return { workflowId: anomaly.id };
  }

  /** Starts a child that outlives this run (abandoned on close); one already started under its ID is left as it is. */
  private async startOnce(workflowType: string, workflowId: string, args: unknown[], kind: string, summary: string): Promise<void> {
    try {
      await startChild(workflowType, {
        workflowId,
        args,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: summary,
        typedSearchAttributes: [
          { key: AdosTenant, value: this.input.tenantId },
          { key: AdosKind, value: kind },
          { key: AdosStage, value: 'starting' },
          { key: AdosAwaitingApproval, value: false },
        ],
      });
    } catch (error) {
      if ((error as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw error;
      log.info('anomaly monitor: child already started', { workflowId });
    }
  }

  private handOverDue(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength + INTERVAL_EVENT_RESERVE >= this.input.handOverAtEvents;
  }

  /** Hands over to the next run with plain-JSON state, once every signal and query handler has finished. */
  private async handOver(): Promise<never> {
    this.setStage('handing-over');
    this.record('handed-over', { intervals: this.state.intervals, lastTs: this.state.lastTs, historyLength: workflowInfo().historyLength });
    await this.records.recordAnomalyMonitorAudit(this.pendingAudit.splice(0));
    await condition(allHandlersFinished);
    return continueAsNew<typeof anomalyMonitor>(this.input, { ...this.state, chainIndex: this.state.chainIndex + 1 });
  }

  private async finish(): Promise<AnomalyMonitorResult> {
    this.setStage('stopped');
    this.record('stopped', { by: this.state.stopBy, intervals: this.state.intervals, samplesScored: this.state.samplesScored, classified: this.state.classified });
    await condition(allHandlersFinished);
    const result: AnomalyMonitorResult = { ...this.status(), outcome: 'stopped' };
    await this.records.finishAnomalyMonitor({ workflowId: this.workflowId, audit: this.pendingAudit.splice(0), result });
    return result;
  }

  private record(event: string, detail: Record<string, unknown>): void {
    const entry = this.audit.next(event);
    this.state.auditSeq += 1;
    // Keys stay unique across the chain: each run numbers its own entries, under its chain index.
    this.pendingAudit.push({ ...entry, auditKey: `${String(this.state.chainIndex).padStart(4, '0')}.${entry.auditKey}`, event: `anomaly-monitor.${event}`, detail: { ...detail, chainIndex: this.state.chainIndex } });
  }

  private setStage(stage: AnomalyMonitorStage): void {
    if (stage === this.stage) return;
    this.stage = stage;
    const searchStage = stage === 'scoring' || stage === 'classifying' ? 'watching' : stage;
    if (searchStage !== this.searchStage) {
      this.searchStage = searchStage;
      upsertSearchAttributes([{ key: AdosStage, value: searchStage }]);
      setCurrentDetails(monitorStatusLine(this.status()));
    }
  }

  private status(): AnomalyMonitorStatus {
    return {
      ...this.state,
      classified: { ...this.state.classified },
      workflowId: this.workflowId,
      tenantId: this.input.tenantId,
      metric: this.input.metric,
      stage: this.stage,
      interval: this.input.interval,
      source: this.input.source,
      historyLength: workflowInfo().historyLength,
    };
  }
}
