import type { GitOptions } from '../../../sandbox/workspace.js';
import type { ToolContext } from './context.js';

const GIT_TIMEOUT_SECONDS = 120;

/** Git work a tool does in its workspace: stopped with the run, and never longer than a command may take. */
export function gitOptions(context: ToolContext): GitOptions {
  return {
    signal: context.signal,
    timeoutMs: Math.min(GIT_TIMEOUT_SECONDS, context.limits.commandTimeoutSeconds) * 1000,
  };
}
