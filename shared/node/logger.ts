import pino, { type Logger } from 'pino';
import { activityLogMixin } from './metrics/log-fields';

export type { Logger };

/** The one logger factory. JSON lines on stderr, so stdout stays free for CLI output. `level`: LOG_LEVEL (config). */
export function createLogger(name: string, level: string): Logger {
  // The mixin adds the running activity's workflowId, runId, tenant and activityType to each line (README, "Observe").
  return pino({ name, level, base: { pid: process.pid }, mixin: activityLogMixin }, pino.destination(2));
}
