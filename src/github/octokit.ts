import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from '../lib/logger.js';

export type OctokitFactory = (auth: string) => Octokit;

export interface OctokitFactoryOptions {
  baseUrl: string;
  logger: Logger;
  /**
   * GitHub asks integrations to space their writes (about 1 s apart, 3 s for PRs and comments) and to
   * wait out rate limits; the throttling plugin does both. Tests turn the spacing off.
   */
  throttle?: boolean;
  /** Retries of a 5xx or a dropped connection per request (the retry plugin); default 3. */
  retries?: number;
}

const GitHubOctokit = Octokit.plugin(retry, throttling);

/** How Octokit's request log names a 4xx answer: `GET /repos/… - 404 with id … in 87ms`. */
const CLIENT_ERROR = / - 4\d\d with id /;

/**
 * The one place that builds GitHub clients: the retry plugin tries a request again after a 5xx,
 * the throttling plugin waits out primary and secondary rate limits (twice, then the error reaches
 * the caller as a transient GitHubError).
 */
export function octokitFactory(options: OctokitFactoryOptions): OctokitFactory {
  const { logger } = options;
  const retryLimited =
    (kind: string) => (retryAfter: number, request: { method: string; url: string }, _o: unknown, count: number) => {
      logger.warn({ retryAfter, method: request.method, url: request.url, count }, `GitHub ${kind} rate limit`);
      return count < 2;
    };
  return (auth) =>
    new GitHubOctokit({
      auth,
      baseUrl: options.baseUrl,
      userAgent: 'ai-dev',
      retry: { retries: options.retries ?? 3 },
      throttle: {
        enabled: options.throttle ?? true,
        onRateLimit: retryLimited('primary'),
        onSecondaryRateLimit: retryLimited('secondary'),
      },
      log: {
        debug: () => {},
        info: () => {},
        warn: (m: string) => logger.warn(m),
        // Octokit logs every failed request; a 4xx is an answer its caller handles (a missing
        // AGENTS.md, a branch not published yet) and logs itself when it matters.
        error: (m: string) => (CLIENT_ERROR.test(m) ? logger.debug(m) : logger.warn(m)),
      },
    });
}

/** Octokit per-request options carrying the abort signal. */
export function requestOptions(signal: AbortSignal | undefined): { request?: { signal: AbortSignal } } {
  return signal ? { request: { signal } } : {};
}
