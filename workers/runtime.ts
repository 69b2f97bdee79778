import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';
import type { Logger } from '../shared/node/logger';
import { runLogFieldsOf } from '../shared/node/metrics/log-fields';

let installed = false;

export interface RuntimeOptions {
  /** host:port for the Temporal Runtime's own Prometheus exporter (its worker and connection metrics); none: off. */
  prometheusBindAddress?: string;
}

/**
 * Installs the Temporal Runtime once per process: its logger (SDK, worker, workflow and activity context logs) bridged
 * to pino, so a process writes one log stream, and, when asked, its Prometheus exporter (workers/metrics.ts serves
 * its text with ADOS's). Workflow and activity lines carry workflowId, runId, tenant and activityType (README,
 * "Observe"). Returns false when a Runtime was already installed (the first options stay).
 */
export function installRuntime(logger: Logger, options: RuntimeOptions = {}): boolean {
  if (installed) return false;
  installed = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    // Signals are handled by the worker process itself (workers/run-worker-process.ts): from start-up on, and a
    // second signal (Ctrl-C under `npm start` sends SIGINT, then SIGTERM) must not cut the drain short.
    shutdownSignals: [],
    logger: new DefaultLogger(logger.isLevelEnabled('debug') ? 'DEBUG' : 'INFO', (entry: LogEntry) => {
      temporalLogger[levels[entry.level]]({ ...entry.meta, ...runLogFieldsOf(entry.meta) }, entry.message);
    }),
    ...(options.prometheusBindAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: options.prometheusBindAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } }
      : {}),
  });
  return true;
}

/** The Runtime with its logger bridged and no metrics exporter (or the one already installed). */
export function installRuntimeLogger(logger: Logger): void {
  installRuntime(logger);
}
