import pino, { type Logger } from 'pino';

export type { Logger };

/** The one logger factory. JSON lines on stderr, so stdout stays free for CLI output. `level`: LOG_LEVEL (config). */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
