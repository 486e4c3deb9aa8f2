import { pino, type Logger } from 'pino';

export type { Logger };

/** The process logger. Level from `SIPSERVER_LOG` (default `info`; tests use `silent`). */
export function createLogger(level = process.env.SIPSERVER_LOG ?? 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing, for tests and tools. */
export const silentLogger: Logger = pino({ level: 'silent' });
