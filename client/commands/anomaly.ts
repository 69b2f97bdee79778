import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { InputValidationError } from '../../shared/contract/validation';
import { loadConfig } from '../../shared/node/config';
import type { Db } from '../../shared/node/db';
import { anomalyDetailText, anomalyLine, getAnomaly, listAnomalies, recordFalsePositive } from '../anomaly';
import { checkedPipelineId } from '../anomaly-pipeline';
import { withCliDatabase } from '../common/database';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { checkedMetric } from '../metrics';
import { emit } from '../output';
import { addDecisionCommand } from './approve';


/** `ados anomaly list|show|feedback|approve|reject`. */
export function registerAnomalyCommands(program: Command): Command {
  const anomaly = program.command('anomaly').description('anomalies the monitors detected: their class, threshold and feedback');

  anomaly
    .command('list')
    .description("the tenant's anomalies, newest first")
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--metric <name>', 'of one metric only')
    .option('--limit <n>', 'at most this many (default 50)', (value) => {
      if (!/^\d+$/.test(value) || Number(value) < 1) throw new InputValidationError('option', [{ path: '--limit', message: `must be a whole number ≥ 1 (got "${value}")` }]);
      return Number(value);
    })
    .option('--json', 'print JSON')
    .action(async (opts: { tenant?: string; metric?: string; limit?: number; json?: boolean }) => {
      const tenantId = scopedTenant(opts.tenant);
      const metric = opts.metric === undefined ? undefined : checkedMetric(opts.metric);
      const anomalies = await withCliDatabase('`ados anomaly list`', (db) => listAnomalies(db, tenantId, { ...(metric ? { metric } : {}), ...(opts.limit ? { limit: opts.limit } : {}) }));
      emit(!!opts.json, anomalies, () => (anomalies.length === 0 ? `no anomalies of tenant ${tenantId}${metric ? ` on ${metric}` : ''}` : anomalies.map(anomalyLine).join('\n')));
    });

  anomaly
    .command('show')
    .description("one anomaly: span, peak, detectors, class and action, a known one's notification, the metric's current threshold and the feedback")
    .argument('<id>', 'the anomaly ID (anomaly-<tenant>-<metric>-<start>)')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { tenant?: string; json?: boolean }) => {
      const tenantId = scopedTenant(opts.tenant);
      const detail = await withCliDatabase('`ados anomaly show`', (db) => getAnomaly(db, tenantId, id));
      emit(!!opts.json, detail, () => anomalyDetailText(detail));
    });

  anomaly
    .command('feedback')
    .description("operator feedback on an anomaly: --false-positive records it and raises its metric's threshold one step")
    .argument('<id>', 'the anomaly ID')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--false-positive', 'the anomaly was not one')
    .option('--note <text>', 'why (kept with the feedback)')
    .option('--by <user>', 'who gives it (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { tenant?: string; falsePositive?: boolean; note?: string; by?: string; json?: boolean }) => {
      const tenantId = scopedTenant(opts.tenant);
      if (!opts.falsePositive) throw new InputValidationError('option', [{ path: '--false-positive', message: 'say what the feedback is: --false-positive' }]);
      const report = await withCliDatabase('`ados anomaly feedback`', (db) => recordFalsePositive(db, tenantId, id, opts.by ?? userInfo().username, opts.note));
      emit(!!opts.json, report, () =>
        report.recorded
          ? `recorded ${id} as a false positive; ${report.metric}'s threshold ${report.thresholdBefore} → ${report.thresholdAfter} (its monitor uses it from its next interval)`
          : `${id} was already recorded as a false positive; ${report.metric}'s threshold stays ${report.thresholdBefore}`,
      );
    });

  const pipelineId = { argument: '<id>', argumentDescription: 'the anomaly ID (its pipeline: anomaly-<tenant>-<metric>-<start>)', check: checkedPipelineId };
  addDecisionCommand(anomaly, { kind: 'approve', description: "approve the handler an anomaly's pipeline generated and tested on stage: it is promoted to prod", ...pipelineId });
  addDecisionCommand(anomaly, { kind: 'reject', description: "reject an anomaly's handler: it is removed from stage (its process stopped)", ...pipelineId });

  return anomaly;
}
