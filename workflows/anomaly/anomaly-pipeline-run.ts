import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  executeChild,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PipelineControlActivities } from '../../activities/anomaly/pipeline-control';
import type { HandlerTarget, PipelineProcessActivities } from '../../activities/anomaly/pipeline-process';
import type { AuditActivities } from '../../activities/common/audit-activities';
import {
  anomalyPipelineStatusQuery,
  validateAnomalyPipelineInput,
  type AnomalyPipelineInput,
  type AnomalyPipelineOutcome,
  type AnomalyPipelineRequest,
  type AnomalyPipelineResult,
  type AnomalyPipelineStage,
  type AnomalyPipelineStatus,
  type HandlerAlertRate,
  type HandlerDeployment,
  type HandlerEnvironment,
  type MetricSample,
} from '../../shared/contract/anomaly/pipeline';
import type { ApprovalGateOutcome, ApprovalPolicy, ApprovalSubject } from '../../shared/contract/approval';
import { canonicalJson } from '../../shared/contract/canonical';
import { durationToMs } from '../../shared/contract/duration';
import type { ExtractionInput, ExtractionResult } from '../../shared/contract/extraction/messages';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../shared/contract/search-attributes';
import { capabilityTaskQueue, controlTaskQueue } from '../../shared/contract/task-queues';
import { formatIssues } from '../../shared/contract/validation';
import { extractionWorkflowId } from '../../shared/contract/workflow-ids';
import type { ApprovalGate } from '../approval';
import { AuditTrail } from '../common/audit-trail';
import { approvalGateFor, controlLocalActivities } from '../common/control-activities';
import { sha256Hex } from '../common/signature';
import { runTaskQueuePrefix } from '../common/task-queue';
import { errorMessage } from '../dag';
import { classifyAnomalyType } from './handler-root-cause';
import { generateHandlerSchema, singleDocumentHash8, type GeneratedHandlerSchema } from './handler-schema';
import { addAlerts, alertRateOf, judgeFlagsAnomaly, judgeQuietOnNormal } from './handler-tests';

/** The gates' names in the `approvals` table and the audit: the first, then the escalated one. */
const HANDLER_GATE = 'anomaly-handler';
const ESCALATED_GATE = 'anomaly-handler-escalated';
/** The queue of deploy.process: the handler's processes live with the process runtime it serves. */
const PROCESS_CAPABILITY = 'deploy.process';

/** Why the pipeline stops before approval, and what the gate decided. */
type Ending = { outcome: AnomalyPipelineOutcome; reason?: string };

/**
 * An anomaly pipeline (README, "Anomaly pipeline"): classify the anomaly against the normal window before it →
 * generate its handler's schema from the template → extract it (schemaExtraction, a child) → deploy the handler to
 * stage as a real process → test it on the anomaly's samples (it must flag them) and on the normal window (it must
 * stay quiet) → the approval gate (escalated to the tenant's governance approvers after its timeout; a second timeout
 * rejects) → deploy it to prod and watch the metric with it for `watchFor`, recording its alert rate read by read,
 * or remove it from stage. Every stage shows in AdosStage and the current details, and is audited.
 */
export async function anomalyPipeline(input: AnomalyPipelineInput): Promise<AnomalyPipelineResult> {
  // The detector configuration goes into the handler's schema as given, not with the defaults of this code's
  // detection contract filled in: those may change, and the schema's hash is the extraction child's ID.
  return new AnomalyPipeline(validated(input), input.detection).run();
}

function validated(input: AnomalyPipelineInput): AnomalyPipelineRequest {
  const checked = validateAnomalyPipelineInput(input);
  if (checked.ok) return checked.value;
  throw ApplicationFailure.create({ type: 'InvalidAnomalyPipelineInput', message: `invalid anomaly pipeline input:\n${formatIssues(checked.issues)}`, details: [checked.issues], nonRetryable: true });
}

class AnomalyPipeline {
  private readonly workflowId = workflowInfo().workflowId;
  private readonly prefix = runTaskQueuePrefix();
  /** The database's reads and writes, as local activities of the control worker, retried until they land. */
  private readonly control = controlLocalActivities<AuditActivities & PipelineControlActivities>();
  private readonly process = proxyActivities<PipelineProcessActivities>({
    taskQueue: capabilityTaskQueue(PROCESS_CAPABILITY, this.prefix),
    scheduleToStartTimeout: '5m',
    startToCloseTimeout: '3m',
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: ['HandlerDeployInvalid', 'HandlerUnhealthy', 'HandlerRefused'] },
  });
  private readonly audit: AuditTrail;
  private readonly status: AnomalyPipelineStatus;
  private gate: ApprovalGate;
  private handler?: GeneratedHandlerSchema;
  private extraction?: ExtractionResult;

  constructor(
    private readonly input: AnomalyPipelineRequest,
    private readonly detection: AnomalyPipelineInput['detection'],
  ) {
    this.audit = new AuditTrail(input.tenantId);
    this.status = { workflowId: this.workflowId, tenantId: input.tenantId, metric: input.metric, stage: 'classifying', tests: [], escalated: false };
    // The first gate is registered at the start, so an early decision is answered as such (workflows/approval.ts).
    this.gate = this.approvalGate(HANDLER_GATE, input.approval);
    setHandler(anomalyPipelineStatusQuery, () => ({ ...this.status, tests: [...this.status.tests], approval: this.gate.snapshot() }));
  }

  async run(): Promise<AnomalyPipelineResult> {
    await this.start();
    const normal = await this.normalWindow();
    const anomalyType = this.classify(normal);
    await this.control.recordAudit({ ...this.audit.next('anomaly.classified'), detail: { anomalyType, given: this.input.anomalyType !== undefined, baselineSamples: normal.length } });
    const handler = await this.generate(anomalyType);
    const extraction = await this.extract(handler);
    if (extraction.outcome !== 'succeeded') return this.finish({ outcome: 'extraction_failed', reason: `extraction ${extraction.workflowId} ${extraction.outcome}: ${extraction.reason ?? ''}`.trim() });
    const staging = await this.deployOrReason('stage');
    if (typeof staging === 'string') return this.finish({ outcome: 'deploy_failed', reason: staging });
    this.status.staging = staging;
    if (!(await this.test(normal))) {
      await this.remove(staging);
      return this.finish({ outcome: 'tests_failed', reason: this.status.tests.filter((t) => !t.passed).map((t) => `${t.name}: ${t.detail}`).join('; ') });
    }
    const decision = await this.approve();
    if (decision.outcome !== 'promoted') {
      await this.remove(staging);
      return this.finish(decision);
    }
    const production = await this.deployOrReason('prod');
    if (typeof production === 'string') return this.finish({ outcome: 'deploy_failed', reason: production });
    this.status.production = production;
    await this.watch(normal);
    return this.finish({ outcome: 'promoted' });
  }

  private async start(): Promise<void> {
    const { input } = this;
    upsertSearchAttributes([
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'anomaly' },
      { key: AdosStage, value: 'classifying' },
      { key: AdosAwaitingApproval, value: false },
    ]);
    setCurrentDetails(`classifying the anomaly of ${input.metric} from ${input.anomaly.start} (severity ${input.severity})`);
    await this.control.recordPipelineStarted({
      ...this.audit.next('run.started'),
      runId: this.workflowId,
      requestedBy: input.requestedBy,
      input: { ...input, anomaly: { ...input.anomaly, samples: input.anomaly.samples.length } },
      detail: { kind: 'anomaly', metric: input.metric, severity: input.severity, start: input.anomaly.start, end: input.anomaly.end, detectors: input.anomaly.detectors },
    });
  }

  /** The normal window: the span the input names, else the samples right before the anomaly. */
  private normalWindow(): Promise<MetricSample[]> {
    const { tenantId, metric, normalWindow, baselineSamples, anomaly } = this.input;
    const window = normalWindow
      ? { tenantId, metric, from: normalWindow.start, to: normalWindow.end, limit: baselineSamples }
      : { tenantId, metric, before: anomaly.start, limit: baselineSamples };
    return this.control.readMetricSamples.executeWithOptions({ summary: `normal window of ${metric}` }, [window]);
  }

  private classify(normal: MetricSample[]) {
    const { anomaly } = this.input;
    const anomalyType = this.input.anomalyType ?? classifyAnomalyType(anomaly.samples, normal, anomaly.peakTs);
    this.status.anomalyType = anomalyType;
    return anomalyType;
  }

  private async generate(anomalyType: NonNullable<AnomalyPipelineStatus['anomalyType']>): Promise<GeneratedHandlerSchema> {
    const { input } = this;
    this.stageTo('generating', `generating the handler of a ${anomalyType} of ${input.metric}`);
    const { samples: _samples, ...anomaly } = input.anomaly;
    const handler = generateHandlerSchema({
      tenantId: input.tenantId,
      metric: input.metric,
      anomalyType,
      affectedMetrics: input.affectedMetrics,
      firstObserved: input.anomaly.start,
      severity: input.severity,
      detection: this.detection,
      anomaly,
      approvers: input.approval.approvers,
      approvalTimeout: input.approval.timeout,
    });
    this.handler = handler;
    this.status.handler = handler.name;
    await this.control.recordAudit({ ...this.audit.next('handler.generated'), detail: { name: handler.name, file: handler.file, parameters: handler.document.metadata } });
    return handler;
  }

  /** schemaExtraction as a child, on this run's queues: the handler's module, test, manifest and README. */
  private async extract(handler: GeneratedHandlerSchema): Promise<ExtractionResult> {
    const documents = [{ file: handler.file, document: handler.document }];
    const childId = extractionWorkflowId(this.input.tenantId, handler.slug, singleDocumentHash8(handler.file, handler.document));
    this.status.extractionWorkflowId = childId;
    this.stageTo('extracting', `extracting ${handler.name} (${childId})`);
    const extractionInput: ExtractionInput = { tenantId: this.input.tenantId, setName: handler.slug, requestedBy: this.workflowId, documents, strict: false };
    const result = await executeChild<(input: ExtractionInput) => Promise<ExtractionResult>>('schemaExtraction', {
      workflowId: childId,
      args: [extractionInput],
      taskQueue: controlTaskQueue(this.prefix),
      staticSummary: `${this.input.tenantId}: extraction of ${handler.name}, the handler of ${this.workflowId}`,
      typedSearchAttributes: [
        { key: AdosTenant, value: this.input.tenantId },
        { key: AdosKind, value: 'extraction' },
        { key: AdosStage, value: 'validating' },
        { key: AdosAwaitingApproval, value: false },
      ],
    });
    this.extraction = result;
    await this.control.recordAudit({
      ...this.audit.next('handler.extracted'),
      detail: { extractionWorkflowId: childId, outcome: result.outcome, reason: result.reason, artifacts: (result.nodes[handler.name]?.artifacts ?? []).map((a) => a.path) },
    });
    return result;
  }

  private target(environment: HandlerEnvironment): HandlerTarget {
    return { tenantId: this.input.tenantId, service: this.handler!.slug, environment };
  }

  /** The deployment, or why it failed (a handler that never became healthy, its artifacts gone): the run ends on it. */
  private async deployOrReason(environment: HandlerEnvironment): Promise<HandlerDeployment | string> {
    try {
      return await this.deploy(environment);
    } catch (error) {
      const reason = `deploy to ${environment} failed: ${errorMessage(error)}`;
      await this.control.recordAudit({ ...this.audit.next('handler.deploy_failed'), detail: { environment, reason } });
      return reason;
    }
  }

  /** The extracted handler as a real process in `environment`, recorded in anomaly_handlers. */
  private async deploy(environment: HandlerEnvironment): Promise<HandlerDeployment> {
    const handler = this.handler!;
    this.stageTo(environment === 'stage' ? 'staging' : 'promoting', `deploying ${handler.name} to ${environment}`);
    const deployment = await this.process.deployHandler.executeWithOptions({ summary: `deploy ${handler.name} to ${environment}` }, [
      {
        ...this.target(environment),
        workflowId: this.workflowId,
        name: handler.name,
        extractionWorkflowId: this.extraction!.workflowId,
        schema: handler.document,
        artifacts: this.extraction!.nodes[handler.name]?.artifacts ?? [],
      },
    ]);
    await this.control.recordHandlerDeployed({
      ...this.audit.next(environment === 'stage' ? 'handler.staged' : 'handler.promoted'),
      detail: { ...deployment },
      metric: this.input.metric,
      handler: handler.name,
      deployment,
    });
    return deployment;
  }

  /** The stage tests; true when both pass. */
  private async test(normal: MetricSample[]): Promise<boolean> {
    const { anomaly } = this.input;
    this.stageTo('testing', `testing ${this.handler!.name} on the anomaly's ${anomaly.samples.length} samples and ${normal.length} normal ones`);
    const score = (what: string, samples: MetricSample[]) => this.process.scoreWithHandler.executeWithOptions({ summary: `score ${what} with ${this.handler!.name} (stage)` }, [{ ...this.target('stage'), samples }]);
    const flags = judgeFlagsAnomaly(normal, anomaly.samples, await score('the anomaly', [...normal, ...anomaly.samples]));
    const quiet = judgeQuietOnNormal(normal, await score('the normal window', normal));
    this.status.tests = [flags, quiet];
    const passed = flags.passed && quiet.passed;
    await this.control.recordAudit({ ...this.audit.next(passed ? 'handler.tests_passed' : 'handler.tests_failed'), detail: { tests: this.status.tests } });
    return passed;
  }

  /** The gate, then (after its timeout) the escalated gate; a second timeout rejects. */
  private async approve(): Promise<Ending> {
    const first = await this.waitAtGate(this.input.approval, 'awaiting_approval');
    if (first !== 'expired') return this.ending(first);
    const policy = this.input.escalation ?? (await this.control.readGovernanceApprovers({ tenantId: this.input.tenantId }));
    await this.control.recordAudit({ ...this.audit.next('approval.escalated'), detail: { after: this.input.approval.timeout, to: policy ?? null } });
    if (!policy) return { outcome: 'rejected', reason: `no decision within ${this.input.approval.timeout}, and tenant ${this.input.tenantId} names no governance approvers to escalate to (approvals.prod)` };
    this.status.escalated = true;
    this.gate = this.approvalGate(ESCALATED_GATE, policy);
    const second = await this.waitAtGate(policy, 'escalated');
    if (second !== 'expired') return this.ending(second);
    return { outcome: 'rejected', reason: `no decision within ${this.input.approval.timeout}, nor within ${policy.timeout} after the escalation to ${policy.approvers.join(', ')}` };
  }

  private ending(decision: Exclude<ApprovalGateOutcome, 'expired'>): Ending {
    return decision === 'approved' ? { outcome: 'promoted' } : { outcome: 'rejected', reason: `rejected by ${this.gate.snapshot()?.rejectedBy}` };
  }

  private async waitAtGate(policy: ApprovalPolicy, stage: 'awaiting_approval' | 'escalated'): Promise<ApprovalGateOutcome> {
    const waitingFor = `approval of ${this.handler!.name} by ${policy.quorum} of ${policy.approvers.join(', ')} (within ${policy.timeout})`;
    this.stageTo(stage, waitingFor);
    const outcome = await this.gate.wait({ handler: this.handler!.name, tests: this.status.tests, staging: this.status.staging }, () => {
      this.status.waitingFor = waitingFor;
    });
    this.status.waitingFor = undefined;
    return outcome;
  }

  private approvalGate(gate: string, policy: ApprovalPolicy): ApprovalGate {
    return approvalGateFor({
      gate,
      policy,
      requestedBy: this.input.requestedBy,
      stage: () => this.status.stage,
      audit: this.audit,
      control: this.control,
      workflowId: this.workflowId,
      tenantId: this.input.tenantId,
      subject: async () => this.approvalSubject(gate),
    });
  }

  /** What the approvers approve: this handler, as extracted and as it passed its tests on stage (its release). */
  private approvalSubject(gate: string): ApprovalSubject {
    const handler = this.handler!;
    const plan = { handler: handler.name, schema: handler.document, tests: this.status.tests };
    return {
      kind: 'anomaly',
      workflowId: this.workflowId,
      gate,
      target: 'prod',
      planSha256: sha256Hex(canonicalJson(plan)),
      artifacts: { [handler.slug]: this.status.staging?.release ?? '' },
    };
  }

  /** A handler removed from `deployment`'s environment: its process stopped and checked gone. */
  private async remove(deployment: HandlerDeployment): Promise<void> {
    this.stageTo('removing', `removing ${this.handler!.name} from ${deployment.environment}`);
    const removed = await this.process.removeHandler.executeWithOptions({ summary: `remove ${this.handler!.name} from ${deployment.environment}` }, [this.target(deployment.environment)]);
    this.status.removed = removed;
    await this.control.recordHandlerRemoved({ ...this.audit.next('handler.removed'), detail: { environment: deployment.environment, ...removed }, environment: deployment.environment, ...removed });
  }

  /**
   * The promoted handler watches the metric in prod for `watchFor`: every `watchInterval` it scores the samples that
   * came since the last read (after the normal window, the warm-up its stage tests had; a backlog in reads of
   * `watchSamples`), and its alert rate so far is recorded (anomaly_handlers, audit) after each read that found some,
   * and after the first read whatever it found. The pipeline then finishes; the handler keeps serving.
   */
  private async watch(normal: MetricSample[]): Promise<void> {
    const { tenantId, metric, anomaly, watchSamples, watchFor, watchInterval } = this.input;
    const name = this.handler!.name;
    this.stageTo('watching', `${name} watches ${metric} in prod for ${watchFor}`);
    const endsAt = Date.now() + durationToMs(watchFor);
    let after = anomaly.end;
    let rate: HandlerAlertRate = { samples: 0, alerts: 0, rate: 0, reads: 0 };
    for (let read = 0; ; read++) {
      const watched = await this.control.readMetricSamples.executeWithOptions({ summary: `new samples of ${metric} after ${after}` }, [{ tenantId, metric, after, limit: watchSamples }]);
      if (watched.length > 0 || read === 0) {
        const answer = watched.length > 0 ? await this.process.scoreWithHandler.executeWithOptions({ summary: `score ${watched.length} samples of ${metric} with ${name} (prod)` }, [{ ...this.target('prod'), samples: [...normal, ...watched] }]) : undefined;
        rate = addAlerts(rate, answer ? alertRateOf(watched, answer) : undefined);
        this.status.alertRate = rate;
        await this.control.recordAlertRate({ ...this.audit.next('handler.alert_rate'), detail: { ...rate }, environment: 'prod', alertRate: rate });
        if (watched.length > 0) after = watched[watched.length - 1].ts;
        setCurrentDetails(`${name} watches ${metric} in prod: ${rate.alerts} alerts in ${rate.samples} samples so far (until ${new Date(endsAt).toISOString()})`);
      }
      // A full read may have more behind it: read on before waiting.
      if (watched.length === watchSamples) continue;
      const left = endsAt - Date.now();
      if (left <= 0) return;
      await sleep(Math.min(durationToMs(watchInterval), left), { summary: `next read of ${metric} (every ${watchInterval})` });
    }
  }

  private stageTo(stage: AnomalyPipelineStage, details: string): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
    setCurrentDetails(details);
  }

  private async finish(ending: Ending): Promise<AnomalyPipelineResult> {
    const { status } = this;
    const result: AnomalyPipelineResult = {
      workflowId: this.workflowId,
      outcome: ending.outcome,
      anomalyType: status.anomalyType!,
      handler: this.handler?.name ?? '',
      extractionWorkflowId: status.extractionWorkflowId ?? '',
      tests: status.tests,
      escalated: status.escalated,
      ...(status.staging ? { staging: status.staging } : {}),
      ...(status.production ? { production: status.production } : {}),
      ...(status.removed ? { removed: status.removed } : {}),
      ...(status.alertRate ? { alertRate: status.alertRate } : {}),
      ...(ending.reason ? { reason: ending.reason } : {}),
    };
    status.outcome = ending.outcome;
    status.reason = ending.reason;
    this.stageTo('finished', `${ending.outcome}${ending.reason ? `: ${ending.reason}` : ''}`);
    await this.control.recordPipelineFinished({ ...this.audit.next('run.finished'), detail: { outcome: result.outcome, handler: result.handler, reason: result.reason }, status: result.outcome, result });
    log.info('anomaly pipeline finished', { outcome: result.outcome, handler: result.handler });
    await condition(allHandlersFinished);
    return result;
  }
}
