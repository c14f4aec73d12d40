import type { Octokit } from '@octokit/rest';
import { AbortedError } from '../lib/errors.js';
import type { PublishLogger } from './commit-replicator.js';
import { GitHubError, githubRequest, isHttpError, toGitHubError } from './github-errors.js';
import { requestOptions } from './octokit.js';

/** A pull request as the rest of the bot knows it. */
export interface PullRequestInfo {
  url: string;
  number: number;
  created: boolean;
  branch: string;
}

export interface PullRequestTarget {
  owner: string;
  repo: string;
  /** The thread's branch (the PR's head, in the same repo). */
  branch: string;
  baseBranch: string;
}

/** What the publisher needs to know about a pull request. */
export interface PullRequestSnapshot {
  number: number;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  headRef: string;
}

export type PullRequestResult = PullRequestInfo & { reopened?: boolean };

/** The thread's PR was merged: follow-up work needs a new branch and PR (the caller starts them). */
export class PullRequestMergedError extends GitHubError {
  constructor(
    readonly number: number,
    readonly url: string,
  ) {
    super('pr_merged', `Pull request #${number} is already merged`, {
      endsRun: true,
      userMessage: `Pull request #${number} (${url}) was already merged, so it can’t take more commits; follow-up work goes to a new branch and pull request.`,
    });
  }
}

/**
 * Finds, opens, updates or reopens the one pull request of a thread's branch. Every write is safe
 * to repeat: a create that meets its own earlier attempt ("A pull request already exists") picks
 * that PR up instead of failing.
 */
export class PullRequests {
  constructor(
    private readonly octokit: Octokit,
    private readonly target: PullRequestTarget,
    private readonly logger?: PublishLogger,
    private readonly signal?: AbortSignal,
  ) {}

  private get coordinates() {
    return { owner: this.target.owner, repo: this.target.repo };
  }

  /** The PR by number; undefined when it does not exist (deleted repo history, wrong number). */
  async get(number: number): Promise<PullRequestSnapshot | undefined> {
    try {
      const { data } = await this.octokit.rest.pulls.get({
        ...this.coordinates,
        pull_number: number,
        ...requestOptions(this.signal),
      });
      return {
        number: data.number,
        url: data.html_url,
        state: data.state === 'open' ? 'open' : 'closed',
        merged: data.merged === true || data.merged_at !== null,
        headRef: data.head.ref,
      };
    } catch (error) {
      if (this.signal?.aborted) throw new AbortedError(this.signal.reason);
      if (isHttpError(error) && error.status === 404) return undefined;
      throw toGitHubError(error, `read pull request #${number}`);
    }
  }

  /**
   * The thread's PR from its stored number: merged → `PullRequestMergedError`; a PR of another
   * branch or a missing one → undefined (the caller then finds or opens one for the branch).
   */
  async existing(number: number): Promise<PullRequestSnapshot | undefined> {
    const pr = await this.get(number);
    if (!pr) {
      this.logger?.warn({ number }, 'the thread’s pull request no longer exists; looking for one by branch');
      return undefined;
    }
    if (pr.headRef !== this.target.branch) {
      this.logger?.warn(
        { number, headRef: pr.headRef },
        'the thread’s pull request is for another branch; ignoring it',
      );
      return undefined;
    }
    if (pr.merged) throw new PullRequestMergedError(pr.number, pr.url);
    return pr;
  }

  /** Brings the PR up to date: updates (reopening a closed one) or finds/opens the branch's PR. */
  async upsert(request: { existing?: PullRequestSnapshot; title: string; body: string }): Promise<PullRequestResult> {
    const { existing, title, body } = request;
    if (existing?.state === 'open') {
      await this.update(existing.number, { title, body });
      return this.info(existing, false);
    }
    if (existing) return this.reopen(existing, title, body);
    const open = await this.findOpen();
    if (open) {
      await this.update(open.number, { title, body });
      return this.info(open, false);
    }
    return this.create(title, body);
  }

  private async reopen(pr: PullRequestSnapshot, title: string, body: string): Promise<PullRequestResult> {
    try {
      await this.octokit.rest.pulls.update({
        ...this.coordinates,
        pull_number: pr.number,
        state: 'open',
        title,
        body,
        ...requestOptions(this.signal),
      });
      return { ...this.info(pr, false), reopened: true };
    } catch (error) {
      if (this.signal?.aborted) throw new AbortedError(this.signal.reason);
      if (isHttpError(error) && error.status === 422) {
        const text = errorText(error);
        if (/merged/i.test(text)) throw new PullRequestMergedError(pr.number, pr.url);
        if (/already exists/i.test(text)) {
          // Someone opened another PR for the branch meanwhile: that one is the thread's PR now.
          const adopted = await this.adoptOpen(title, body, false);
          if (adopted) return adopted;
        }
        throw new GitHubError('pr_reopen_failed', `Could not reopen pull request #${pr.number}: ${text}`, {
          cause: error,
          userMessage: `Pull request #${pr.number} (${pr.url}) is closed and GitHub would not reopen it. Reopen it on GitHub, or ask me to open a new one.`,
        });
      }
      throw toGitHubError(error, `reopen pull request #${pr.number}`);
    }
  }

  /** The branch's open PR, given this thread's title and body; undefined when there is none. */
  private async adoptOpen(title: string, body: string, created: boolean): Promise<PullRequestResult | undefined> {
    const open = await this.findOpen();
    if (!open) return undefined;
    await this.update(open.number, { title, body });
    return this.info(open, created);
  }

  private async create(title: string, body: string): Promise<PullRequestResult> {
    const { branch, baseBranch } = this.target;
    try {
      const { data } = await this.octokit.rest.pulls.create({
        ...this.coordinates,
        title,
        body,
        head: branch,
        base: baseBranch,
        draft: false,
        ...requestOptions(this.signal),
      });
      return { url: data.html_url, number: data.number, created: true, branch };
    } catch (error) {
      if (this.signal?.aborted) throw new AbortedError(this.signal.reason);
      if (!isHttpError(error) || error.status !== 422) throw toGitHubError(error, 'open the pull request');
      const text = errorText(error);
      if (/already exists/i.test(text)) {
        // Most likely a retried create meeting its own first attempt: the PR is there, use it.
        const adopted = await this.adoptOpen(title, body, true);
        if (adopted) return adopted;
      }
      if (/no commits between/i.test(text)) {
        throw new GitHubError('nothing_to_publish', `No commits between ${baseBranch} and ${branch}`, {
          cause: error,
          userMessage: `Nothing to publish: ${branch} has no commits that ${baseBranch} lacks. Commit your changes first.`,
        });
      }
      throw new GitHubError('pr_create_failed', `GitHub refused to open the pull request: ${text}`, {
        cause: error,
        userMessage: `GitHub refused to open the pull request from ${branch} into ${baseBranch}: ${shortText(error)}`,
      });
    }
  }

  /** The open PR whose head is the thread's branch (preferring one into the base branch). */
  async findOpen(): Promise<PullRequestSnapshot | undefined> {
    const { owner, branch, baseBranch } = this.target;
    const { data } = await githubRequest(
      'look for the branch’s pull request',
      () =>
        this.octokit.rest.pulls.list({
          ...this.coordinates,
          head: `${owner}:${branch}`,
          state: 'open',
          per_page: 100,
          ...requestOptions(this.signal),
        }),
      { signal: this.signal },
    );
    const candidates = data.filter((pr) => pr.head.ref === branch);
    const pr = candidates.find((candidate) => candidate.base.ref === baseBranch) ?? candidates[0];
    if (!pr) return undefined;
    return { number: pr.number, url: pr.html_url, state: 'open', merged: false, headRef: pr.head.ref };
  }

  private async update(number: number, fields: { title: string; body: string }): Promise<void> {
    await githubRequest(
      `update pull request #${number}`,
      () =>
        this.octokit.rest.pulls.update({
          ...this.coordinates,
          pull_number: number,
          ...fields,
          ...requestOptions(this.signal),
        }),
      { signal: this.signal },
    );
  }

  private info(pr: PullRequestSnapshot, created: boolean): PullRequestResult {
    return { url: pr.url, number: pr.number, created, branch: this.target.branch };
  }
}

/** The message and the `errors` GitHub sent, as one searchable string. */
function errorText(error: { message: string; response?: { data?: unknown } }): string {
  const data = error.response?.data;
  return `${error.message} ${data === undefined ? '' : JSON.stringify(data)}`;
}

function shortText(error: { message: string; response?: { data?: unknown } }): string {
  const data = error.response?.data as { message?: unknown; errors?: Array<{ message?: unknown }> } | undefined;
  const details = (data?.errors ?? []).map((e) => e.message).filter((m): m is string => typeof m === 'string');
  const message = typeof data?.message === 'string' ? data.message : error.message;
  return [message, ...details].filter(Boolean).join(': ');
}
