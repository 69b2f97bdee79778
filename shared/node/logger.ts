import pino, { type Logger } from 'pino';

export type { Logger };

/** The one logger factory. JSON lines on stderr, so stdout stays free for CLI output. */
export function createLogger(name: string, level = process.env.LOG_LEVEL || 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
