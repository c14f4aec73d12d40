import type { Octokit } from '@octokit/rest';
import type { RunOutcome } from '../agent/events.js';
import type { BotIdentity } from '../github/bot-identity.js';
import { fullName, parseRepoRef, type RepoRef } from '../github/repo-ref.js';
import { collectFollowUps, type FollowUp, postReplies, renderFollowUp } from '../github/reviews.js';
import type { GitHubEvent } from '../github/webhooks.js';
import { errorMessage } from '../lib/errors.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { QueuedMessage, ThreadStore } from '../store/thread-store.js';
import type { RunReporter } from './ports.js';
import { threadKeyOf } from './thread-key.js';

/**
 * The review loop: a review, a review comment or a PR comment mentioning the bot on a thread's PR, from
 * someone with write access, becomes one follow-up of the thread's run (a batched review is one); when
 * the run that took it ends, the bot answers each addressed comment on the PR with what it changed.
 * GitHub's events (App mode) or a regular poll (token mode) say when to look; what counts is always read
 * again over REST, so a repeated event or a poll after a webhook takes nothing twice.
 */

export interface ReviewFollowOptions {
  threads: ThreadStore;
  submit: (channel: string, threadTs: string, message: QueuedMessage) => Promise<unknown>;
  reporterFor: (channel: string, threadTs: string) => RunReporter;
  /** `follow`: reads reviews and permissions; `write`: answers on the PR. */
  octokit: (repo: RepoRef, purpose: 'follow' | 'write') => Promise<Octokit>;
  /** Who the bot is on GitHub (its own comments never count), found once. */
  bot: () => Promise<BotIdentity>;
  githubServerUrl: string;
  logger: Logger;
}

interface Pull {
  channel: string;
  threadTs: string;
  repo: string;
  ref: RepoRef;
  pr: number;
  /** Only what was written after the thread began counts. */
  since: string;
}

/** Marks the queued message of a follow-up, so its answer waits until a run has taken it. */
const TS_PREFIX = 'review-';
/** GitHub comments are long enough, but a model's whole summary is not a reply. */
const REPLY_MAX_CHARS = 3000;

export class ReviewFollow {
  /** The threads' PRs, by `owner/repo#number`. */
  private readonly pulls = new Map<string, Pull>();
  private readonly mutex = new KeyedMutex();

  constructor(private readonly options: ReviewFollowOptions) {}

  /** After a run: the thread's PRs are the ones whose reviews come back to it. */
  async noteThread(channel: string, threadTs: string): Promise<void> {
    const state = await this.options.threads.get(channel, threadTs);
    for (const entry of state?.repos ?? []) {
      const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
      if (!entry.pr || !ref || !state) continue;
      this.pulls.set(pullKey(ref, entry.pr.number), {
        channel,
        threadTs,
        repo: entry.repo,
        ref,
        pr: entry.pr.number,
        since: state.createdAt,
      });
    }
  }

  /** Reads the reviews of the thread's PRs once (what came while nothing here was watching them). */
  async checkThread(channel: string, threadTs: string): Promise<void> {
    const pulls = [...this.pulls.values()].filter((p) => p.channel === channel && p.threadTs === threadTs);
    for (const pull of pulls) await this.checkOrWarn(pull);
  }

  /** The PR was closed or merged: its reviews no longer come back. */
  forget(repo: string, pr: number): void {
    const ref = parseRepoRef(repo, this.options.githubServerUrl);
    if (ref) this.pulls.delete(pullKey(ref, pr));
  }

  /** A webhook about a review or a comment on one of the threads' PRs. */
  async onEvent(event: GitHubEvent): Promise<void> {
    if (event.kind !== 'review' && event.kind !== 'review-comment' && event.kind !== 'pr-comment') return;
    const pull = this.pulls.get(pullKey(event.repo, event.pr));
    if (pull) await this.check(pull);
  }

  /** Token mode: every known PR is looked at (a timer of the composition root calls this). */
  async pollAll(): Promise<void> {
    for (const pull of [...this.pulls.values()]) await this.checkOrWarn(pull);
  }

  /** One PR's failed read is logged and the next PR is still read: the next poll or event tries again. */
  private checkOrWarn(pull: Pull): Promise<void> {
    return this.check(pull).catch((error: unknown) =>
      this.options.logger.warn({ err: error, repo: pull.repo, pr: pull.pr }, 'could not read the PR’s reviews'),
    );
  }

  /** New follow-ups on the PR become one message of the thread's run. */
  async check(pull: Pull): Promise<void> {
    await this.mutex.run(threadKeyOf(pull.channel, pull.threadTs), async () => {
      const state = await this.options.threads.get(pull.channel, pull.threadTs);
      const entry = state?.repos.find((r) => r.repo === pull.repo);
      if (!state || entry?.pr?.number !== pull.pr) return;
      const handled = new Set(entry.reviews?.handled ?? []);
      const collected = await collectFollowUps(await this.options.octokit(pull.ref, 'follow'), pull.ref, {
        pr: pull.pr,
        bot: await this.options.bot(),
        since: pull.since,
        handled,
      });
      for (const left of collected.ignored) {
        this.options.logger.debug({ ...left, repo: pull.repo, pr: pull.pr }, 'a PR comment does not count');
      }
      if (collected.followUps.length === 0) return;
      // Taken under the thread record's lock: another bot instance following the same PR (each one follows
      // every remembered PR after a restart) may have taken some of them since they were read.
      let taken: FollowUp[] = [];
      await this.options.threads.update(pull.channel, pull.threadTs, (s) => {
        const repo = s.repos.find((r) => r.repo === pull.repo);
        if (!repo) return undefined;
        const already = new Set(repo.reviews?.handled ?? []);
        taken = collected.followUps.filter((f) => !already.has(f.key));
        if (taken.length === 0) return undefined;
        repo.reviews = {
          handled: [...(repo.reviews?.handled ?? []), ...taken.map((f) => f.key)],
          unanswered: [...(repo.reviews?.unanswered ?? []), ...taken.map((f) => JSON.stringify(f))],
        };
        return s;
      });
      if (taken.length === 0) return;
      const reporter = this.options.reporterFor(pull.channel, pull.threadTs);
      reporter.handle({ type: 'notice', text: describe(taken, pull) });
      await reporter.flush();
      const text = [
        ...taken.map((followUp) => renderFollowUp(followUp, pull.pr)),
        '',
        `Address this on the same branch and publish with make_pull_request (pull request #${pull.pr} of ${pull.repo} is updated). End with a short summary of what you changed: it is posted as the answer on the pull request.`,
      ].join('\n\n');
      await this.options.submit(pull.channel, pull.threadTs, {
        user: state.startedBy,
        text,
        ts: `${TS_PREFIX}${taken.map((f) => f.key).join(',')}`,
      });
    });
  }

  /** When a run ends: answers on the PR each follow-up it took, saying what changed. */
  async afterRun(channel: string, threadTs: string, outcome: RunOutcome): Promise<void> {
    await this.mutex.run(threadKeyOf(channel, threadTs), async () => {
      const state = await this.options.threads.get(channel, threadTs);
      if (!state) return;
      // A follow-up still queued is answered after the run that takes it.
      if (state.queued.some((m) => m.ts.startsWith(TS_PREFIX))) return;
      for (const entry of state.repos) {
        const waiting = entry.reviews?.unanswered ?? [];
        const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
        if (waiting.length === 0 || !entry.pr || !ref) continue;
        const followUps = waiting.map((json) => JSON.parse(json) as FollowUp);
        const text = answerText(outcome, entry.published?.remoteSha);
        try {
          const octokit = await this.options.octokit(ref, 'write');
          await postReplies(
            octokit,
            ref,
            entry.pr.number,
            followUps.map((to) => ({ to, text })),
          );
        } catch (error) {
          this.options.logger.warn(
            { err: error, repo: entry.repo, pr: entry.pr.number },
            `could not answer on the PR: ${errorMessage(error)}`,
          );
        }
        await this.options.threads.update(channel, threadTs, (s) => {
          const repo = s.repos.find((r) => r.repo === entry.repo);
          if (!repo?.reviews) return undefined;
          repo.reviews = { ...repo.reviews, unanswered: [] };
          return s;
        });
      }
    });
  }
}

function pullKey(ref: RepoRef, pr: number): string {
  return `${fullName(ref).toLowerCase()}#${pr}`;
}

function describe(taken: FollowUp[], pull: Pull): string {
  const parts = taken.map((f) =>
    f.kind === 'review'
      ? `a review by @${f.author}${f.comments.length > 0 ? ` (${f.comments.length} comment${f.comments.length === 1 ? '' : 's'})` : ''}`
      : `a comment by @${f.author}`,
  );
  return `Pull request #${pull.pr} of ${pull.repo} got ${parts.join(' and ')}: taking it as a follow-up here.`;
}

/** What the bot says on the PR about what it did (the run's own summary, cut short). */
function answerText(outcome: RunOutcome, head: string | undefined): string {
  const cut = (text: string) => (text.length > REPLY_MAX_CHARS ? `${text.slice(0, REPLY_MAX_CHARS)}…` : text);
  switch (outcome.kind) {
    case 'pull-request':
      return cut(`${head ? `Changed in ${head.slice(0, 7)}: ` : ''}${outcome.summary.trim() || 'done.'}`);
    case 'no-changes':
      return cut(`No change made: ${outcome.answer.trim()}`);
    default:
      return 'I could not finish this; see the Slack thread.';
  }
}
