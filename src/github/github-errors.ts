import { AbortedError, AppError } from '../lib/errors.js';

/** Every code the GitHub room fails with. */
export type GitHubErrorCode =
  | 'github_unavailable'
  | 'github_bad_credentials'
  | 'github_app_not_installed'
  | 'github_failed'
  | 'repo_not_found'
  | 'repo_archived'
  | 'repo_no_push'
  | 'publish_failed'
  | 'approval_needed'
  | 'workflow_permission'
  | 'mirror_failed'
  | 'nothing_to_publish'
  | 'branch_moved'
  | 'history_rewritten'
  | 'history_not_linear'
  | 'branch_not_allowed'
  | 'merge_not_publishable'
  | 'pr_merged'
  | 'pr_create_failed'
  | 'pr_reopen_failed';

export class GitHubError extends AppError<GitHubErrorCode> {}

/** What Octokit's RequestError looks like, without importing it into every module. */
export interface HttpErrorLike {
  status: number;
  message: string;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

export function isHttpError(error: unknown): error is HttpErrorLike {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

/** A rate limit the throttling plugin gave up waiting for. */
function isRateLimited(error: HttpErrorLike): boolean {
  if (error.status !== 403 && error.status !== 429) return false;
  const remaining = error.response?.headers?.['x-ratelimit-remaining'];
  return String(remaining) === '0' || /rate limit/i.test(error.message);
}

/** Wraps an unexpected GitHub failure with a plain sentence; 5xx and rate limits are transient. */
export function toGitHubError(error: unknown, doing: string): GitHubError {
  if (error instanceof GitHubError) return error;
  if (isHttpError(error)) {
    if (error.status >= 500 || isRateLimited(error)) {
      return new GitHubError('github_unavailable', `GitHub failed to ${doing}: ${error.status} ${error.message}`, {
        kind: 'transient',
        cause: error,
        userMessage: `GitHub is not answering properly right now (HTTP ${error.status}); try again in a few minutes.`,
      });
    }
    if (error.status === 401) {
      return new GitHubError(
        'github_bad_credentials',
        `GitHub rejected the bot's credential while trying to ${doing}`,
        {
          cause: error,
          endsRun: true,
          userMessage:
            'GitHub rejected the bot’s credential (bad or expired token). Ask the operator to check GITHUB_TOKEN or the GitHub App settings.',
        },
      );
    }
  }
  return new GitHubError(
    'github_failed',
    `GitHub failed to ${doing}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error, userMessage: `GitHub refused to ${doing}.` },
  );
}

/**
 * Runs one GitHub request: an abort becomes AbortedError, a 404 may be an answer (`notFound`),
 * anything else a GitHubError saying what was being done.
 */
export async function githubRequest<T, Missing = never>(
  doing: string,
  call: () => Promise<T>,
  options: { signal?: AbortSignal; notFound?: () => Missing } = {},
): Promise<T | Missing> {
  try {
    return await call();
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
    if (options.notFound && isHttpError(error) && error.status === 404) return options.notFound();
    throw toGitHubError(error, doing);
  }
}

/** Publishing (approved) workflow changes needs a permission the bot's credential lacks. */
export function workflowPermissionError(paths: readonly string[], cause: unknown): GitHubError {
  return new GitHubError('workflow_permission', `GitHub refused to write ${paths.join(', ')}: no workflow permission`, {
    cause,
    endsRun: true,
    userMessage: `GitHub refused to publish the change to ${paths.join(', ')}: the bot's credential may not change workflows. A token needs the \`workflow\` scope; a GitHub App needs the “Workflows: write” permission. Ask the operator to grant it, then reply here to publish again.`,
  });
}
