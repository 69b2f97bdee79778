/**
 * The transfer-learning cycle's activities, on the control queue: prepare the pair's domains (stored once, with their
 * independent models), extract the source's pattern, adapt it to the target, retrain the target with it, validate
 * both models on the target's holdout, and record the decision with its audit entry. Only the first and the last
 * write, each keyed, so a retry writes once.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { transferPairKey, type TransferPair } from '../../../shared/contract/learning/transfer/input';
import type { DecidedTransfer, HoldoutMetrics, LinearModel, TransferFigures } from '../../../shared/contract/learning/transfer/messages';
import type { Db } from '../../../shared/node/db';
import { buildDomain } from '../../../shared/node/learning/transfer/catalog';
import { evaluate } from '../../../shared/node/learning/transfer/model';
import { adaptPattern, extractPattern, TransferAdaptationError, type AdaptedPattern, type SourcePattern } from '../../../shared/node/learning/transfer/patterns';
import { ensureDomain, liveModel, modelVersion, readDomainSplit, recordTransfer, registerIndependentModel, type DomainSplit, type RecordedTransfer } from '../../../shared/node/learning/transfer/store';
import { trainIndependent, trainWithTransfer } from '../../../shared/node/learning/transfer/training';
import { appendAudit } from '../../common/run-records';

export interface PairRequest {
  pair: TransferPair;
}

export interface PreparedPair {
  sourceVersion: number;
  targetTrainRows: number;
}

export interface RecordDecisionRequest {
  tenantId: string;
  scheduledAt: string;
  pair: TransferPair;
  model: LinearModel;
  decided: DecidedTransfer;
  figures: TransferFigures;
}

/** A user-fixable adaptation problem as a non-retryable failure naming the pair. */
function refused(pair: TransferPair, error: unknown): never {
  if (error instanceof TransferAdaptationError) throw ApplicationFailure.create({ type: error.name, message: `${transferPairKey(pair)}: ${error.message}`, nonRetryable: true });
  throw error;
}

export function createTransferActivities(db: Db) {
  const split = (name: string): Promise<DomainSplit> => readDomainSplit(db, name);

  /** Stores the domain (once) and registers its independent model as version 1 (once). */
  async function prepareDomain(name: TransferPair['source']): Promise<DomainSplit> {
    await ensureDomain(db, name, () => buildDomain(name));
    const data = await split(name);
    if (!(await modelVersion(db, name, 1))) {
      const model = trainIndependent(name, data.featureNames, data.train);
      await registerIndependentModel(db, name, model, evaluate(model, data.holdout));
    }
    return data;
  }

  async function liveOf(name: string) {
    const live = await liveModel(db, name);
    if (!live) throw new Error(`domain ${name} has no live model; prepareTransferDomains registers one`);
    return live;
  }

  return {
    /** Both domains stored, both with an independent model; the source's live version and the target's training rows. */
    async prepareTransferDomains({ pair }: PairRequest): Promise<PreparedPair> {
      await prepareDomain(pair.source);
      const target = await prepareDomain(pair.target);
      return { sourceVersion: (await liveOf(pair.source)).version, targetTrainRows: target.train.labels.length };
    },

    /** The pair's pattern from the source's live model (or, for PCA, from the source's training features). */
    async extractTransferPattern({ pair }: PairRequest): Promise<SourcePattern> {
      const live = await liveOf(pair.source);
      const features = pair.pattern === 'pca' ? (await split(pair.source)).train.features : [];
      try {
        return extractPattern(live.model, features, pair);
      } catch (error) {
        return refused(pair, error);
      }
    },

    /** The pattern over the target's features (mapping by name and featureMap; weights are in standardized units). */
    async adaptTransferPattern({ pair, pattern }: PairRequest & { pattern: SourcePattern }): Promise<AdaptedPattern> {
      const target = await db.selectFrom('learning_domains').select(['feature_names']).where('name', '=', pair.target).executeTakeFirstOrThrow();
      try {
        return adaptPattern(pattern, target.feature_names as string[], pair.featureMap);
      } catch (error) {
        return refused(pair, error);
      }
    },

    /** The target trained on its own training rows with the adapted pattern, by the pair's method. */
    async retrainWithTransfer({ pair, adapted }: PairRequest & { adapted: AdaptedPattern }): Promise<LinearModel> {
      const target = await split(pair.target);
      return trainWithTransfer(transferPairKey(pair), pair.method, target.featureNames, target.train, adapted);
    },

    /** The transferred model and the target's independent model (version 1) on the target's holdout. */
    async validateTransfer({ pair, model }: PairRequest & { model: LinearModel }): Promise<{ independent: HoldoutMetrics; transferred: HoldoutMetrics }> {
      const target = await split(pair.target);
      const independent = await modelVersion(db, pair.target, 1);
      if (!independent) throw new Error(`domain ${pair.target} has no independent model (version 1)`);
      return { independent: evaluate(independent.model, target.holdout), transferred: evaluate(model, target.holdout) };
    },

    /**
     * Records the decision once per (scheduled time, pair) and audits it with its figures, under the workflow that
     * wrote the record: a second cycle of the same time under another ID (its time from TemporalScheduledStartTime, or
     * the same instant in another offset) adds no second audit entry.
     */
    async recordTransferDecision(request: RecordDecisionRequest): Promise<Omit<RecordedTransfer, 'writtenBy'>> {
      const { pair, decided, figures } = request;
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (!workflowId) throw new Error('recordTransferDecision runs inside a transfer cycle workflow only');
      const recorded = await recordTransfer(db, { scheduledAt: request.scheduledAt, workflowId, pair, decision: decided.decision, negative: decided.negative, improvement: decided.improvement, figures, model: request.model });
      const { writtenBy, ...result } = recorded;
      await appendAudit(db, {
        workflowId: writtenBy,
        tenantId: request.tenantId,
        auditKey: `transfer:${transferPairKey(pair)}`,
        event: decided.negative ? 'learning.transfer.negative' : `learning.transfer.${decided.decision}`,
        detail: { ...figures, decision: decided.decision, negative: decided.negative, liveVersion: result.liveVersion, registeredVersion: result.registeredVersion ?? null },
      });
      return result;
    },
  };
}

export type TransferActivities = ReturnType<typeof createTransferActivities>;
