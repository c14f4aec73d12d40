import { type Logger as PinoLogger, pino } from 'pino';
import type { Redactor } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: string;
  redact: Redactor;
  /** Where lines go; defaults to stdout. Tests pass a stream to scan what was logged. */
  destination?: NodeJS.WritableStream;
}

/** Structured JSON logs; every line passes through the redactor before it is written. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'ai-dev' },
      hooks: {
        streamWrite: (line: string) => options.redact(line),
      },
    },
    options.destination ?? process.stdout,
  );
}
