import { AppError, errorMessage, isTransient } from '../../lib/errors.js';
import { CommandAbortedError } from '../../sandbox/sandbox.js';
import { endsRun } from '../run-ending.js';
import type { ToolResult } from './define-tool.js';
import type { ToolContext } from './tool-context.js';

/** Something the model asked for that cannot be done as asked; it reads the message and tries again. */
export class ToolError extends AppError {
  constructor(message: string) {
    super('tool_error', message);
  }
}

/**
 * The one error rule of the tools. A failure the model can act on (a bad path, a missing file,
 * an ambiguous edit, a permanent sandbox or publish error) comes back as the tool's output,
 * starting with `Error:`, plus a `failed` action so a person sees it too. Only two kinds of
 * error are thrown on: a stop (the run is ending, so nothing should read an output), a
 * transient infrastructure error (the loop decides whether to retry or give up), and a failure
 * that ends the run (see run-ending.ts).
 */
export function reportingFailures<Args>(
  run: (args: Args, context: ToolContext) => Promise<ToolResult>,
): (args: Args, context: ToolContext) => Promise<ToolResult> {
  return async (args, context) => {
    try {
      return await run(args, context);
    } catch (error) {
      if (isStop(error, context.signal) || isTransient(error) || endsRun(error)) throw error;
      const message = errorMessage(error);
      return { output: `Error: ${message}`, action: { kind: 'failed', error: message } };
    }
  };
}

function isStop(error: unknown, signal: AbortSignal): boolean {
  return (
    signal.aborted || error instanceof CommandAbortedError || (error instanceof Error && error.name === 'AbortError')
  );
}

/** Throws when the run has been stopped, so a tool does not start work nobody will read. */
export function throwIfStopped(signal: AbortSignal): void {
  if (signal.aborted) throw new CommandAbortedError(signal.reason);
}
