import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { monitorStatusLine } from '../../shared/contract/anomaly/monitor';
import { InputValidationError } from '../../shared/contract/validation';
import { anomalyMonitorWorkflowId } from '../../shared/contract/workflow-ids';
import { ingestCsv, type IngestReport } from '../../shared/node/anomaly/samples';
import { loadConfig } from '../../shared/node/config';
import { openCliDatabase } from '../common/database';
import { scopedTenant, TENANT_OPTION_HELP } from '../common/tenant-scope';
import { checkedMetric, getMonitorStatus, prepareAnomalyMonitor, startAnomalyMonitor, stopAnomalyMonitor, type MonitorStatus } from '../metrics';
import { emit } from '../output';
import { withClient } from './context';

/** A flag's whole number ≥ `min`, or a usage error naming the flag. */
const wholeNumber = (flag: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new InputValidationError('option', [{ path: flag, message: `must be a whole number ≥ ${min} (got "${value}")` }]);
  return n;
};

/** `--label k=v`, repeatable, into an object. */
const collectLabel = (value: string, labels: Record<string, string>) => {
  const at = value.indexOf('=');
  if (at < 1) throw new InputValidationError('option', [{ path: '--label', message: `must be name=value, e.g. --label job=temporal (got "${value}")` }]);
  return { ...labels, [value.slice(0, at)]: value.slice(at + 1) };
};

/** A JSON file of detector configuration (shared/contract/anomaly/detection.ts), read before anything connects. */
function detectionOf(path: string | undefined): unknown {
  if (path === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InputValidationError('option', [{ path: '--detection', message: `${path}: not a readable JSON file (${(error as Error).message})` }]);
  }
}

function ingestText(metric: string, report: IngestReport): string {
  return [
    `ingested ${report.added} new sample(s) of ${report.lines} line(s) into ${metric} (${report.alreadyThere} already there${report.badCount > 0 ? `, ${report.badCount} bad line(s) skipped` : ''})`,
    ...report.badLines.map((bad) => `  line ${bad.line}: ${bad.reason}`),
    ...(report.badCount > report.badLines.length ? [`  … and ${report.badCount - report.badLines.length} more bad line(s)`] : []),
  ].join('\n');
}

function statusText(status: MonitorStatus): string {
  if (!status.status) return `${status.workflowId}: ${status.execution.toLowerCase()}`;
  return `${status.workflowId}: ${status.execution.toLowerCase()}\n  ${monitorStatusLine(status.status)}`;
}

/** `ados metrics ingest|watch|status|stop`. */
export function registerMetricsCommands(program: Command): void {
  const metrics = program.command('metrics').description("metrics in: NAB-format CSV files, Prometheus scrapes, and each metric's anomaly monitor");

  metrics
    .command('ingest')
    .description('ingest a `timestamp,value` CSV file (NAB format) into a metric; streamed, idempotent by timestamp; bad lines are reported by number (exit 2) and the good ones ingested')
    .argument('<file.csv>', 'the CSV file (any size)')
    .requiredOption('--metric <name>', 'the metric the samples are of')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (file: string, opts: { metric: string; tenant?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const tenantId = scopedTenant(opts.tenant);
      const metric = checkedMetric(opts.metric);
      const database = await openCliDatabase(cfg, '`ados metrics ingest`');
      let report: IngestReport;
      try {
        report = await ingestCsv(database.db, { tenantId, metric }, file);
      } finally {
        await database.close();
      }
      emit(!!opts.json, { tenantId, metric, ...report }, () => ingestText(metric, report));
      if (report.badCount > 0) {
        throw new InputValidationError(
          `metric file ${file}`,
          [...report.badLines.map((bad) => ({ path: `line ${bad.line}`, message: bad.reason })), { path: 'fix', message: `correct the ${report.badCount} bad line(s) (each is "timestamp,value") and ingest the file again: the good lines are in already and stay once` }],
        );
      }
    });

  metrics
    .command('watch')
    .description("start the metric's anomaly monitor anomaly-monitor-<tenant>-<metric> (idempotent: a running one is left as it is)")
    .requiredOption('--metric <name>', 'the metric to watch')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--interval <duration>', 'time between two reads of new samples, e.g. 30s (default 1m)')
    .option('--scrape <url>', 'scrape this Prometheus text endpoint every interval (default: watch the ingested samples)')
    .option('--series <name>', 'the Prometheus series to scrape (default: the metric name)')
    .option('--label <name=value>', 'a label the scraped sample must carry (repeatable)', collectLabel, {})
    .option('--approvers <list>', 'who approves the handlers generated for unknown anomalies, comma-separated (none: no pipeline starts)')
    .option('--persist-threshold <duration>', 'how long an unknown anomaly lasts before a handler pipeline starts (default 1h)')
    .option('--novel-after <n>', 'a signature seen more than n times in the window is novel: investigated (default 10)', wholeNumber('--novel-after', 1))
    .option('--novel-window <duration>', 'the window (in sample time) sightings are counted in, e.g. 7d (default 24h)')
    .option('--detection <file.json>', 'detector configuration (detectors, vote, threshold, mergeGap, rules)')
    .option('--batch-limit <n>', 'most samples scored per interval (default 20000)', wholeNumber('--batch-limit', 1))
    .option('--requested-by <user>', 'who starts it (default: your user name)')
    .option('--json', 'print JSON')
    .action(async (opts: { metric: string; tenant?: string; interval?: string; scrape?: string; series?: string; label: Record<string, string>; approvers?: string; persistThreshold?: string; novelAfter?: number; novelWindow?: string; detection?: string; batchLimit?: number; requestedBy?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const tenantId = scopedTenant(opts.tenant);
      if (opts.scrape === undefined && (opts.series !== undefined || Object.keys(opts.label).length > 0)) {
        throw new InputValidationError('option', [{ path: '--series', message: '--series and --label go with --scrape <url>' }]);
      }
      const detection = detectionOf(opts.detection);
      const input = prepareAnomalyMonitor({
        tenantId,
        metric: opts.metric,
        ...(opts.scrape !== undefined ? { source: { kind: 'scrape', url: opts.scrape, series: opts.series ?? opts.metric, labels: opts.label } } : {}),
        ...(opts.interval !== undefined ? { interval: opts.interval } : {}),
        ...(opts.approvers !== undefined ? { approvers: opts.approvers.split(',').map((a) => a.trim()).filter(Boolean) } : {}),
        ...(opts.persistThreshold !== undefined ? { persistThreshold: opts.persistThreshold } : {}),
        ...(opts.novelAfter !== undefined ? { novelAfter: opts.novelAfter } : {}),
        ...(opts.novelWindow !== undefined ? { novelWindow: opts.novelWindow } : {}),
        ...(detection !== undefined ? { detection } : {}),
        ...(opts.batchLimit !== undefined ? { batchLimit: opts.batchLimit } : {}),
        requestedBy: opts.requestedBy ?? userInfo().username,
      });
      await withClient(async ({ client }) => {
        const started = await startAnomalyMonitor(client, cfg, input);
        emit(!!opts.json, started, () => `${started.alreadyRunning ? 'already watching' : 'started'} ${started.workflowId}\n  Web UI:  ${started.webUrl}\n  follow:  ados metrics status --metric ${input.metric} --tenant ${tenantId}; ados anomaly list --tenant ${tenantId}`);
      });
    });

  metrics
    .command('status')
    .description("a monitor's status: samples scored, up to when, threshold, anomalies per class, run of the chain")
    .requiredOption('--metric <name>', 'the metric')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { metric: string; tenant?: string; json?: boolean }) => {
      const workflowId = anomalyMonitorWorkflowId(scopedTenant(opts.tenant), checkedMetric(opts.metric));
      await withClient(async ({ client }) => {
        const status = await getMonitorStatus(client, workflowId);
        emit(!!opts.json, status, () => statusText(status));
      });
    });

  metrics
    .command('stop')
    .description('stop a monitor after its current interval (its checkpoint stays: `ados metrics watch` continues from it)')
    .requiredOption('--metric <name>', 'the metric')
    .option('--tenant <id>', TENANT_OPTION_HELP)
    .option('--reason <text>', 'why (audited)')
    .option('--json', 'print JSON')
    .action(async (opts: { metric: string; tenant?: string; reason?: string; json?: boolean }) => {
      const workflowId = anomalyMonitorWorkflowId(scopedTenant(opts.tenant), checkedMetric(opts.metric));
      await withClient(async ({ client }) => {
        await stopAnomalyMonitor(client, workflowId, userInfo().username, opts.reason);
        emit(!!opts.json, { workflowId, stopRequested: true }, () => `asked ${workflowId} to stop after its current interval`);
      });
    });
}
