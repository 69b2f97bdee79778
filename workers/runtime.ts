import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';
import type { Logger } from '../shared/node/logger';

let installed = false;

/**
 * Bridges the Temporal Runtime's logger (SDK, worker and activity context logs) to pino, once
 * per process, so that a process writes one log stream.
 */
export function installRuntimeLogger(logger: Logger): void {
  if (installed) return;
  installed = true;
  const temporalLogger = logger.child({ component: 'temporal' });
  const levels = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;
  Runtime.install({
    // Signals are handled by the worker process itself (workers/run-worker-process.ts): from start-up on, and a
    // second signal (Ctrl-C under `npm start` sends SIGINT, then SIGTERM) must not cut the drain short.
    shutdownSignals: [],
    logger: new DefaultLogger(logger.isLevelEnabled('debug') ? 'DEBUG' : 'INFO', (entry: LogEntry) => {
      temporalLogger[levels[entry.level]]({ ...entry.meta }, entry.message);
    }),
  });
}
