/**
 * `ados workers`: per capability, the pollers Temporal sees on its task queue (identity, last access) and its
 * backlog, from Temporal's own DescribeTaskQueue (shared/node/task-queue-report.ts). ADOS keeps no worker registry
 * of its own: a worker exists when Temporal has seen it poll.
 */
import type { Client } from '@temporalio/client';
import { capabilitySpec, KNOWN_CAPABILITIES } from '../shared/contract/capabilities';
import { capabilityListProblem } from '../shared/contract/capability-list';
import type { CapabilityQueueReport } from '../shared/contract/routing';
import { POLLER_STALE_AFTER_SECONDS } from '../shared/contract/routing';
import { InputValidationError } from '../shared/contract/validation';
import type { AdosConfig } from '../shared/node/config';
import { describeCapabilities, describeControlQueue, type TaskQueueDescriber } from '../shared/node/task-queue-report';

export interface CapabilityWorkers extends CapabilityQueueReport {
  description: string;
  alternates: string[];
}

export interface WorkersReport {
  namespace: string;
  taskQueuePrefix: string;
  /** The control queue's workflow pollers (the control workers). */
  control: CapabilityQueueReport;
  capabilities: CapabilityWorkers[];
  notes: string[];
}

export const WORKERS_NOTES = [
  `backlog: Temporal's approximate count and age of tasks waiting on the queue (DescribeTaskQueue report_stats, default API mode; the server caches it for a few seconds)`,
  `pollers: as Temporal sees them; one last seen more than ${POLLER_STALE_AFTER_SECONDS}s ago is marked stale (Temporal lists a gone worker for ~5 minutes)`,
];

export async function listCapabilityWorkers(
  service: TaskQueueDescriber,
  config: Pick<AdosConfig, 'temporalNamespace' | 'taskQueuePrefix'>,
  capabilities: readonly string[] = KNOWN_CAPABILITIES,
): Promise<WorkersReport> {
  const problem = capabilityListProblem(capabilities);
  if (problem) throw new InputValidationError('--capabilities', [{ path: '--capabilities', message: problem }]);
  const options = { namespace: config.temporalNamespace };
  const [control, reports] = await Promise.all([
    describeControlQueue(service, config.taskQueuePrefix, options),
    describeCapabilities(service, capabilities, config.taskQueuePrefix, options),
  ]);
  return {
    namespace: config.temporalNamespace,
    taskQueuePrefix: config.taskQueuePrefix,
    control,
    capabilities: reports.map((report) => ({
      ...report,
      description: capabilitySpec(report.capability)?.description ?? '',
      alternates: [...(capabilitySpec(report.capability)?.alternates ?? [])],
    })),
    notes: [...WORKERS_NOTES],
  };
}

export function workersFromClient(client: Client): TaskQueueDescriber {
  return client.workflowService;
}

function seconds(value: number | undefined): string {
  if (value === undefined) return '?';
  if (value < 60) return `${Math.round(value)}s`;
  const minutes = Math.floor(value / 60);
  return `${minutes}m${String(Math.round(value - minutes * 60)).padStart(2, '0')}s`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ').trimEnd());
}

/** The text `ados workers` prints (pure; unit-tested). */
export function formatWorkers(report: WorkersReport): string {
  const rows: string[][] = [['CAPABILITY', 'TASK QUEUE', 'WORKERS', 'BACKLOG', 'OLDEST', 'RATE LIMIT']];
  const all: CapabilityQueueReport[] = [{ ...report.control, capability: 'control (workflows)' }, ...report.capabilities];
  for (const queue of all) {
    const workers = !queue.checked ? 'unknown' : queue.livePollers === 0 ? 'NONE' : String(queue.livePollers);
    const backlog = queue.backlog ? String(queue.backlog.approximateCount) : 'n/a';
    const oldest = queue.backlog && queue.backlog.approximateCount > 0 ? seconds(queue.backlog.approximateAgeSeconds) : '-';
    const limit = queue.rateLimit && queue.rateLimit.source !== 'system' ? `${queue.rateLimit.perSecond}/s (${queue.rateLimit.source})` : '-';
    rows.push([queue.capability, queue.taskQueue, workers, backlog, oldest, limit]);
  }
  const lines = table(rows);
  const details: string[] = [];
  for (const queue of all) {
    if (!queue.checked) {
      details.push(`${queue.capability}: not checked (${queue.error})`);
      continue;
    }
    if (queue.pollers.length === 0) continue;
    details.push(`${queue.capability}:`);
    for (const poller of queue.pollers) {
      details.push(
        `  ${poller.identity}  last poll ${seconds(poller.lastAccessAgeSeconds)} ago${poller.live ? '' : ' (stale)'}${poller.ratePerSecond ? `  rate limit ${poller.ratePerSecond}/s` : ''}`,
      );
    }
  }
  const unserved = report.capabilities.filter((c) => c.checked && c.livePollers === 0).map((c) => c.capability);
  return [
    `namespace ${report.namespace}, task queue prefix ${report.taskQueuePrefix}`,
    ...lines,
    ...(details.length > 0 ? ['', ...details] : []),
    ...(unserved.length > 0 ? ['', `no worker polls: ${unserved.join(', ')} (runs naming them wait, then escalate)`] : []),
    '',
    ...report.notes.map((note) => `note: ${note}`),
  ].join('\n');
}
