import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../src/lib/logger.js';
import { createRedactor } from '../../src/lib/redact.js';

export interface CapturedLogger {
  logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Array<Record<string, unknown>>;
  text(): string;
  stream: PassThrough;
}

/** A real pino logger whose output is kept in memory for assertions. */
export function captureLogger(secrets: string[] = [], level = 'debug'): CapturedLogger {
  const stream = new PassThrough();
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
  });
  const logger = createLogger({ level, redact: createRedactor(secrets), destination: stream });
  return {
    logger,
    stream,
    text: () => buffer,
    lines: () =>
      buffer
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
