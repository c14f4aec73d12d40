import type { Octokit } from '@octokit/rest';
import type { RunOutcome } from '../agent/events.js';
import { isHttpError } from '../github/github-errors.js';
import { fullName, parseRepoRef, type RepoRef } from '../github/repo-ref.js';
import type { GitHubEvent } from '../github/webhooks.js';
import type { Logger } from '../lib/logger.js';
import type { FollowedPr, FollowedPrStore } from '../store/followed-prs.js';
import type { ThreadStore } from '../store/thread-store.js';
import type { CiFollow } from './ci-follow.js';
import type { ReviewFollow } from './review-follow.js';

/**
 * Which threads' PRs the CI and review loops follow, kept in the store so a restarted bot follows them
 * again and every bot instance follows what the others started. Each run's PRs are added after it; at
 * start-up every one of them is followed again, unless it was closed or merged meanwhile; a webhook
 * about a PR some other instance ran is adopted from the store before it is handled; in token mode each
 * poll adopts the PRs of every instance (so a dead instance's PRs stay followed); a closed PR (its webhook,
 * or a look at each poll in token mode) is dropped, so nothing polls its checks or reviews any more.
 */

export interface PrFollowingOptions {
  followed: FollowedPrStore;
  threads: ThreadStore;
  ci: CiFollow;
  reviews: ReviewFollow;
  /** A client that may read the repo's pull requests. */
  octokit: (repo: RepoRef) => Promise<Octokit>;
  githubServerUrl: string;
  logger: Logger;
}

export type PullState = 'open' | 'closed' | 'merged' | 'gone';

export class PrFollowing {
  constructor(private readonly options: PrFollowingOptions) {}

  /**
   * After a run: its PRs are remembered, their checks followed and their reviews watched. The record
   * comes first, so from then on a webhook reaching any instance finds the PR; then the checks and
   * reviews are read once, for what GitHub said during the run (its PR was opened or pushed before the
   * run ended, and those webhooks found nothing following it).
   */
  async afterRun(channel: string, threadTs: string, outcome: RunOutcome): Promise<void> {
    await this.remember(channel, threadTs);
    const { ci, reviews } = this.options;
    await Promise.all([
      ci.followThread(channel, threadTs, { readNow: true }),
      reviews
        .noteThread(channel, threadTs)
        .then(() => reviews.afterRun(channel, threadTs, outcome))
        .then(() => reviews.checkThread(channel, threadTs)),
    ]);
  }

  private async remember(channel: string, threadTs: string): Promise<void> {
    const state = await this.options.threads.get(channel, threadTs);
    for (const entry of state?.repos ?? []) {
      if (entry.pr) await this.options.followed.add({ channel, threadTs, repo: entry.repo, pr: entry.pr.number });
    }
  }

  /** Start-up: every remembered PR that is still open is followed again; the others are dropped. */
  async resume(): Promise<number> {
    const { open, dropped } = await this.keepOpen();
    const threads = new Map(open.map((entry) => [`${entry.channel}\u0000${entry.threadTs}`, entry]));
    // What GitHub said while the bot was down is read once now: those webhooks are lost.
    for (const { channel, threadTs } of threads.values()) {
      await this.options.ci.followThread(channel, threadTs, { readNow: true });
      await this.options.reviews.noteThread(channel, threadTs);
      await this.options.reviews.checkThread(channel, threadTs);
    }
    // A thread follows all its PRs at once: one of several repos whose PR was dropped is let go again.
    for (const entry of dropped) this.forget(entry);
    if (open.length > 0) this.options.logger.info({ prs: open.length }, 'following the threads’ pull requests again');
    return open.length;
  }

  /**
   * Token mode, before each poll: PRs closed or merged since are dropped, and every other instance's PRs
   * are adopted, so they are polled here too (a dead instance's PRs stay followed; what is acted on is
   * decided in the thread record, once between instances, and a 304 to a conditional read is free).
   */
  async refresh(): Promise<void> {
    const { open } = await this.keepOpen();
    for (const entry of open) await this.adopt(entry);
  }

  /** A webhook: a closed PR is dropped; the rest goes to the CI and review loops. */
  async onEvent(event: GitHubEvent): Promise<void> {
    const name = fullName(event.repo).toLowerCase();
    const pr = 'pr' in event ? event.pr : undefined;
    // The instance a webhook reaches may not be the one that ran the thread: the shared record says.
    const concerned = (await this.options.followed.list()).filter(
      (entry) => entry.repo.toLowerCase() === name && (pr === undefined || entry.pr === pr),
    );
    if (event.kind === 'pr-closed') {
      for (const entry of concerned) await this.drop(entry, event.merged ? 'merged' : 'closed');
      return;
    }
    for (const entry of concerned) await this.adopt(entry);
    await Promise.all([this.options.ci.onEvent(event), this.options.reviews.onEvent(event)]);
  }

  /** Follows a remembered PR here too (a no-op for one this instance follows already). */
  private async adopt(entry: FollowedPr): Promise<void> {
    await this.options.ci.followThread(entry.channel, entry.threadTs);
    await this.options.reviews.noteThread(entry.channel, entry.threadTs);
  }

  /** Reads each remembered PR's state and drops those not open. */
  private async keepOpen(): Promise<{ open: FollowedPr[]; dropped: FollowedPr[] }> {
    const open: FollowedPr[] = [];
    const dropped: FollowedPr[] = [];
    for (const entry of await this.options.followed.list()) {
      // The thread record expired, or the thread moved on to another PR: nothing would act on this one.
      const thread = await this.options.threads.get(entry.channel, entry.threadTs);
      if (!thread?.repos.some((r) => r.repo === entry.repo && r.pr?.number === entry.pr)) {
        await this.drop(entry, 'thread forgotten');
        dropped.push(entry);
        continue;
      }
      const state = await this.pullState(entry).catch((error: unknown) => {
        // GitHub not answering now says nothing about the PR: it stays followed.
        this.options.logger.warn({ err: error, repo: entry.repo, pr: entry.pr }, 'could not read the pull request');
        return 'open' as const;
      });
      if (state === 'open') open.push(entry);
      else {
        await this.drop(entry, state);
        dropped.push(entry);
      }
    }
    return { open, dropped };
  }

  private forget(entry: FollowedPr): void {
    this.options.ci.forget(entry.channel, entry.threadTs, entry.repo);
    this.options.reviews.forget(entry.repo, entry.pr);
  }

  private async pullState(entry: FollowedPr): Promise<PullState> {
    const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
    if (!ref) return 'gone';
    try {
      const octokit = await this.options.octokit(ref);
      const { data } = await octokit.rest.pulls.get({ owner: ref.owner, repo: ref.name, pull_number: entry.pr });
      if (data.state === 'open') return 'open';
      return data.merged === true || data.merged_at !== null ? 'merged' : 'closed';
    } catch (error) {
      if (isHttpError(error) && error.status === 404) return 'gone';
      throw error;
    }
  }

  private async drop(entry: FollowedPr, why: Exclude<PullState, 'open'> | 'thread forgotten'): Promise<void> {
    this.forget(entry);
    await this.options.followed.remove(entry);
    this.options.logger.info(
      { repo: entry.repo, pr: entry.pr, channel: entry.channel, threadTs: entry.threadTs },
      `no longer following pull request #${entry.pr} of ${entry.repo} (${why})`,
    );
  }
}
