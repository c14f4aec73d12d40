import { type Logger as PinoLogger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { Redactor } from './redact.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: string;
  redact: Redactor;
  /** Where lines go; defaults to stdout. Tests pass a stream to scan what was logged. */
  destination?: NodeJS.WritableStream;
  /**
   * `json`: one JSON object a line (for log collectors). `pretty`: human-readable lines (pino-pretty).
   * `auto` (the default): pretty when the destination is a terminal, JSON otherwise.
   */
  format?: 'auto' | 'json' | 'pretty';
}

/** Structured logs; every line passes through the redactor before it is written or pretty-printed. */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? 'auto';
  const isTerminal = (destination as { isTTY?: boolean }).isTTY === true;
  const human = format === 'pretty' || (format === 'auto' && isTerminal);
  return pino(
    {
      level: options.level,
      base: { app: 'ai-dev' },
      hooks: {
        streamWrite: (line: string) => options.redact(line),
      },
    },
    human
      ? pretty({
          destination,
          colorize: isTerminal,
          sync: true,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,app',
        })
      : destination,
  );
}
