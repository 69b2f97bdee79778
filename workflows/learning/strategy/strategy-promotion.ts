import { allHandlersFinished, ApplicationFailure, condition, continueAsNew, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { AuditActivities } from '../../../activities/common/audit-activities';
import type { ApprovalSubject } from '../../../shared/contract/approval';
import { canonicalJson } from '../../../shared/contract/canonical';
import { durationToMs } from '../../../shared/contract/duration';
import {
  judgeWatch,
  strategyPromotionInputSchema,
  strategyPromotionStatusQuery,
  type PromotionEvaluation,
  type PromotionOutcome,
  type StrategyPromotion,
  type StrategyPromotionActivities,
  type StrategyPromotionInput,
  type StrategyPromotionResult,
  type StrategyPromotionStatus,
} from '../../../shared/contract/learning/strategy/promotion';
import { AdosAwaitingApproval, AdosKind, AdosStage, AdosTenant } from '../../../shared/contract/search-attributes';
import { formatIssues, issuesFromZod } from '../../../shared/contract/validation';
import type { ApprovalGate } from '../../approval';
import { AuditTrail } from '../../common/audit-trail';
import { approvalGateFor, controlLocalActivities } from '../../common/control-activities';
import { sha256Hex } from '../../common/signature';

/**
 * Promotes a tenant's shadow strategy model to live (README, "Strategy learning"): its off-policy estimate must beat
 * the live policy by the margin at its lower confidence bound; then a human approves at the shared approval gate
 * (gate `strategy-promotion`); then the model chooses the tenant's strategies, and the workflow watches its next
 * `watchRuns` rewarded runs: their mean reward below the pre-promotion level rolls it back. Every step is audited.
 * A long watch continues as new every `watchChecksPerRun` checks (or when Temporal suggests it), carrying where it
 * stands as plain JSON (`carried`); the continued run resumes the watch.
 */
export async function strategyPromotion(input: StrategyPromotionInput): Promise<StrategyPromotionResult> {
  return new StrategyPromotionWorkflow(validated(input), input).run();
}

/** The audit trail of a continued run: its keys carry the chain index, so they never repeat an earlier run's. */
class ChainAuditTrail extends AuditTrail {
  constructor(
    tenantId: string,
    private readonly chainIndex: number,
  ) {
    super(tenantId);
  }

  override next(event: string) {
    const key = super.next(event);
    return this.chainIndex === 0 ? key : { ...key, auditKey: `c${this.chainIndex}.${key.auditKey}` };
  }
}

function validated(input: StrategyPromotionInput): StrategyPromotion {
  const parsed = strategyPromotionInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({ type: 'InvalidPromotionInput', message: `invalid strategy promotion input:\n${formatIssues(issuesFromZod(parsed.error))}`, nonRetryable: true });
}

class StrategyPromotionWorkflow {
  private readonly workflowId = workflowInfo().workflowId;
  /** Control writes and reads as local activities, retried until they land (as in deliveryRun). */
  private readonly control = controlLocalActivities<AuditActivities & StrategyPromotionActivities>();
  private readonly audit: AuditTrail;
  private readonly gate: ApprovalGate;
  private readonly status: StrategyPromotionStatus = { stage: 'evaluating' };

  constructor(
    private readonly input: StrategyPromotion,
    /** The input as given: what a continue-as-new passes on (plain JSON, defaults not yet applied). */
    private readonly given: StrategyPromotionInput,
  ) {
    this.audit = input.carried ? new ChainAuditTrail(input.tenantId, input.carried.chainIndex) : new AuditTrail(input.tenantId);
    this.gate = approvalGateFor({
      gate: 'strategy-promotion',
      policy: input.approval,
      requestedBy: input.requestedBy,
      stage: () => this.status.stage,
      audit: this.audit,
      control: this.control,
      workflowId: this.workflowId,
      tenantId: input.tenantId,
      subject: async () => this.subject(),
    });
    setHandler(strategyPromotionStatusQuery, () => ({ ...this.status, approval: this.gate.snapshot() }));
  }

  async run(): Promise<StrategyPromotionResult> {
    const { input } = this;
    if (input.carried) return this.resumeWatch(input.carried);
    upsertSearchAttributes([
      { key: AdosTenant, value: input.tenantId },
      { key: AdosKind, value: 'learning' },
      { key: AdosStage, value: 'evaluating' },
      { key: AdosAwaitingApproval, value: false },
    ]);
    await this.control.recordPromotionStarted({ ...this.audit.next('run.started'), detail: { modelVersion: input.modelVersion }, requestedBy: input.requestedBy, input });
    const evaluation = await this.control.evaluateStrategyPromotion({ tenantId: input.tenantId, modelVersion: input.modelVersion, margin: input.margin });
    this.status.evaluation = evaluation;
    await this.record('strategy.promotion_evaluated', { ...evaluation });
    if (!evaluation.better) return this.finish('not_better');

    this.stageTo('awaiting_approval');
    const decision = await this.gate.wait({ modelVersion: input.modelVersion, evaluation });
    if (decision !== 'approved') return this.finish(decision === 'rejected' ? 'rejected' : 'approval_expired');

    const baseline = evaluation.live.value;
    await this.control.promoteStrategyModel({ tenantId: input.tenantId, modelVersion: input.modelVersion, workflowId: this.workflowId, baseline });
    await this.record('strategy.promoted', { modelVersion: input.modelVersion, baseline });

    this.stageTo('watching');
    return this.watch(baseline, evaluation, 0);
  }

  /** A continued run: the promotion was evaluated, approved and made live by an earlier run of the chain. */
  private async resumeWatch(carried: NonNullable<StrategyPromotion['carried']>): Promise<StrategyPromotionResult> {
    this.status.evaluation = carried.evaluation;
    this.status.chainIndex = carried.chainIndex;
    this.stageTo('watching');
    return this.watch(carried.baseline, carried.evaluation, carried.checks);
  }

  /** Counts the live model's rewarded runs every checkEvery until judgeWatch keeps or rolls it back. */
  private async watch(baseline: number, evaluation: PromotionEvaluation, checksBefore: number): Promise<StrategyPromotionResult> {
    const { input } = this;
    let checks = 0;
    for (;;) {
      const watched = await this.control.countLiveModelRuns({ tenantId: input.tenantId, modelVersion: input.modelVersion });
      this.status.watched = watched;
      this.status.checks = checksBefore + checks;
      const verdict = judgeWatch(watched, input.watchRuns, baseline);
      if (verdict === 'watch') {
        checks += 1;
        // No patch: strategyPromotion is in no release (test/histories/v0.2.0), and no recorded history reaches a
        // hand-over (the default is 500 checks; Temporal suggests continue-as-new only for long histories).
        if (checks >= input.watchChecksPerRun || workflowInfo().continueAsNewSuggested) {
          return this.handOver({ chainIndex: (input.carried?.chainIndex ?? 0) + 1, baseline, evaluation, checks: checksBefore + checks });
        }
        await sleep(durationToMs(input.checkEvery));
        continue;
      }
      const status = verdict === 'keep' ? 'kept' : 'rolled_back';
      await this.control.closeStrategyPromotion({ tenantId: input.tenantId, modelVersion: input.modelVersion, status, watched });
      await this.record(verdict === 'keep' ? 'strategy.promotion_kept' : 'strategy.rolled_back', { modelVersion: input.modelVersion, baseline, ...watched, watchRuns: input.watchRuns });
      return this.finish(status, baseline);
    }
  }

  /** Continues as new with where the watch stands, once every handler has finished. */
  private async handOver(carried: NonNullable<StrategyPromotion['carried']>): Promise<never> {
    await this.record('strategy.watch_continued', { chainIndex: carried.chainIndex, checks: carried.checks });
    await condition(allHandlersFinished);
    return continueAsNew<typeof strategyPromotion>({ ...this.given, carried: JSON.parse(JSON.stringify(carried)) as typeof carried });
  }

  /** What the approvers approve: this model version, judged by these figures. */
  private subject(): ApprovalSubject {
    const plan = { tenantId: this.input.tenantId, modelVersion: this.input.modelVersion, evaluation: this.status.evaluation };
    return { kind: 'learning', workflowId: this.workflowId, gate: 'strategy-promotion', target: 'live', planSha256: sha256Hex(canonicalJson(plan)), artifacts: {} };
  }

  private stageTo(stage: StrategyPromotionStatus['stage']): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: AdosStage, value: stage }]);
  }

  private record(event: string, detail: Record<string, unknown>): Promise<void> {
    return this.control.recordAudit({ ...this.audit.next(event), detail });
  }

  private async finish(outcome: PromotionOutcome, baseline?: number): Promise<StrategyPromotionResult> {
    this.stageTo('finished');
    this.status.outcome = outcome;
    const result: StrategyPromotionResult = {
      workflowId: this.workflowId,
      outcome,
      evaluation: this.status.evaluation!,
      ...(baseline !== undefined ? { baseline } : {}),
      ...(this.status.watched ? { watched: this.status.watched } : {}),
    };
    await this.control.recordPromotionFinished({ ...this.audit.next('run.finished'), detail: { outcome }, status: outcome, result });
    await condition(allHandlersFinished);
    return result;
  }
}
