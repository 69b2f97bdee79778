/** The workflow bundle's entry: every workflow type a worker serves. */
export * from './delivery';
export * from './extraction';
export * from './task-runtime';
export * from './tenancy';
export * from './remediation';
export { anomalyPipeline } from './anomaly/anomaly-pipeline';
export * from './learning/transfer';
export * from './learning/strategy';
export * from './anomaly/anomaly-monitor-entry';
