/**
 * What a transfer-learning cycle produces and reads back: the model a registry version holds, holdout metrics, the
 * figures and decision of one transfer, and the cycle's result. Bundle-safe (plain JSON).
 */
import type { TransferMethod, TransferPattern } from './input';

/**
 * A logistic model over a domain's features: standardized by the training set's means and standard deviations,
 * optionally projected onto a basis (rows: components, columns: the domain's features), then `weights` · z + `bias`.
 */
export interface LinearModel {
  featureNames: string[];
  means: number[];
  stds: number[];
  weights: number[];
  bias: number;
  basis?: number[][];
}

/** A model's figures on a domain's holdout rows. ROC AUC is the one the decision compares. */
export interface HoldoutMetrics {
  auc: number;
  accuracy: number;
  logLoss: number;
  rows: number;
  positives: number;
}

/** The transfer outcomes: promote the transferred model, keep the live one, or revert (a negative transfer). */
export const TRANSFER_DECISIONS = ['promote', 'keep', 'revert'] as const;
export type TransferDecision = (typeof TRANSFER_DECISIONS)[number];

/** A decision and the figure it was made on (workflows/learning/transfer/transfer-decision.ts). */
export interface DecidedTransfer {
  decision: TransferDecision;
  /** (transferred − independent) / independent of the AUC, rounded to 1e-9. */
  improvement: number;
  negative: boolean;
}

/** The relative AUC improvement a transfer must exceed to be promoted (and the loss past which it is negative). */
export const TRANSFER_SIGNIFICANCE = 0.02;

/** How the source's features met the target's: which mapped, which the target had alone, which the source had alone. */
export interface FeatureMapping {
  /** [target feature, source feature] */
  mapped: Array<[string, string]>;
  targetOnly: string[];
  sourceOnly: string[];
}

/** One transfer's figures, as audited and stored. */
export interface TransferFigures {
  pair: string;
  source: string;
  target: string;
  pattern: TransferPattern;
  method: TransferMethod;
  metric: 'auc';
  /** The target's independent model (registry version 1), on the target's holdout. */
  independent: HoldoutMetrics;
  /** The target retrained with the transfer, on the same holdout. */
  transferred: HoldoutMetrics;
  /** (transferred − independent) / independent, of the AUC. */
  improvement: number;
  mapping: FeatureMapping;
  sourceVersion: number;
  targetTrainRows: number;
}

/** What the cycle did for one pair. */
export interface TransferOutcome {
  pair: string;
  decision: TransferDecision;
  negative: boolean;
  improvement: number;
  /** The version the transfer registered (promote only). */
  registeredVersion?: number;
  /** The target's live version after the decision. */
  liveVersion: number;
  /** False when this scheduled time's decision was already recorded (a retry or a second backfill): nothing was written. */
  recorded: boolean;
}

export interface TransferCycleResult {
  scheduledAt: string;
  outcomes: TransferOutcome[];
}
