import { AppError } from '../lib/errors.js';

/**
 * Failures no tool call can fix: the model would only retry in vain, so they end the run with
 * the error's own sentence for people (who can act on it and reply to continue).
 */
const RUN_ENDING_CODES = new Set([
  // The sandbox died mid-run; the next run starts a fresh one from the published branch.
  'sandbox_gone',
  'e2b_auth',
  'e2b_template',
  'sandbox_disk_full',
  'clone_failed',
  'github_bad_credentials',
  'github_app_not_installed',
  // Publishing refused to overwrite what someone else did: a person has to look.
  'branch_moved',
  'history_rewritten',
  'branch_not_allowed',
  'pr_merged',
]);

export function endsRun(error: unknown): error is AppError {
  return error instanceof AppError && RUN_ENDING_CODES.has(error.code);
}
