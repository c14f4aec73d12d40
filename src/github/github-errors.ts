import { AppError } from '../lib/errors.js';

/** What Octokit's RequestError looks like, without importing it into every module. */
export interface HttpErrorLike {
  status: number;
  message: string;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

export function isHttpError(error: unknown): error is HttpErrorLike {
  return typeof error === 'object' && error !== null && typeof (error as { status?: unknown }).status === 'number';
}

export function isRateLimited(error: HttpErrorLike): boolean {
  if (error.status !== 403 && error.status !== 429) return false;
  const remaining = error.response?.headers?.['x-ratelimit-remaining'];
  return String(remaining) === '0' || /rate limit/i.test(error.message);
}

export class GitHubError extends AppError {}

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
          userMessage:
            'GitHub rejected the bot’s credential (bad or expired token). Ask the operator to check GITHUB_TOKEN or the GitHub App settings.',
        },
      );
    }
  }
  return new GitHubError(
    'github_failed',
    `GitHub failed to ${doing}: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
      userMessage: `GitHub refused to ${doing}.`,
    },
  );
}
