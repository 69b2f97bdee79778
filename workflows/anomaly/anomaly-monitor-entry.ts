import type { AnomalyFinding, AnomalyInvestigationInput } from '../../shared/contract/anomaly/investigation';
import type { AnomalyMonitorRequest, AnomalyMonitorResult, AnomalyMonitorState } from '../../shared/contract/anomaly/monitor';

/**
 * `anomalyMonitor` and its investigator `anomalyInvestigation`, whose modules are evaluated only when a run of them
 * starts (the SDK evaluates a bundle's module scope for every workflow run, and other kinds never need them). The
 * workflows themselves are workflows/anomaly/anomaly-monitor.ts and anomaly-monitor-investigation.ts.
 */
export async function anomalyMonitor(input: AnomalyMonitorRequest, carried?: AnomalyMonitorState): Promise<AnomalyMonitorResult> {
  const { anomalyMonitor: run } = require('./anomaly-monitor') as typeof import('./anomaly-monitor');
  return run(input, carried);
}

export async function anomalyInvestigation(input: AnomalyInvestigationInput): Promise<AnomalyFinding> {
  const { anomalyInvestigation: run } = require('./anomaly-monitor-investigation') as typeof import('./anomaly-monitor-investigation');
  return run(input);
}
