import { AppError, errorReference } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { failureText } from './command-text.js';

/**
 * Logs an error under a fresh reference and returns the sentence a person sees: the
 * error's own user message when it has one, a generic one otherwise.
 */
export function describeFailure(error: unknown, logger: Logger, context: Record<string, unknown>): string {
  const reference = errorReference();
  const known = error instanceof AppError;
  logger.error({ err: error, reference, ...context }, known ? error.message : 'unexpected failure');
  const message = known ? error.userMessage : 'Something went wrong on my side.';
  return failureText(message, reference);
}
