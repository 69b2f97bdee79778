/**
 * Streaming, causal anomaly detection for one metric: an isolation forest, a robust z-score and a Mahalanobis distance
 * over sliding windows, the metric's YAML rules, an ensemble vote, and de-duplication of anomalous samples into
 * anomalies. Pure and deterministic (no clock, no I/O, seeded randomness): a monitor's activity runs it, checkpoints
 * snapshot() and restores from it.
 */
export type { EnsembleConfig, EnsembleConfigInput, Rule, RuleSet } from '../../../contract/anomaly/detection';
export { createEnsemble, ensembleStateSchema, type Ensemble, type EnsembleState, type Sample, type ScoredSample } from './ensemble';
export { createGrouper, grouperStateSchema, type DetectedAnomaly, type Grouper, type GrouperState } from './grouper';
export { parseRules, RuleParseError, type RuleIssue } from './rules';
