import type { AnomalyPipelineInput, AnomalyPipelineResult } from '../../shared/contract/anomaly/pipeline';

/**
 * `anomalyPipeline`, whose module (the detector and extraction contracts behind it) is evaluated only when a run of it
 * starts: the SDK evaluates a bundle's module scope for every workflow run. The workflow is anomaly-pipeline-run.ts.
 */
export async function anomalyPipeline(input: AnomalyPipelineInput): Promise<AnomalyPipelineResult> {
  const { anomalyPipeline: run } = require('./anomaly-pipeline-run') as typeof import('./anomaly-pipeline-run');
  return run(input);
}
