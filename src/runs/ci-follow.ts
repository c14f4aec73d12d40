import type { Octokit } from '@octokit/rest';
import {
  type ChecksSummary,
  describeFailedChecks,
  type FollowTiming,
  failedCheckNames,
  followChecks,
  type PollClock,
  readChecks,
} from '../github/checks.js';
import { fullName, parseRepoRef, type RepoRef } from '../github/repo-ref.js';
import type { GitHubEvent } from '../github/webhooks.js';
import { errorMessage } from '../lib/errors.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { QueuedMessage, ThreadRepo, ThreadStore } from '../store/thread-store.js';
import { CI_TS_PREFIX, ciAttemptLine } from './ci-attempt.js';
import type { RunReporter } from './ports.js';
import { threadKeyOf } from './thread-key.js';

/**
 * The CI loop: after a run publishes, the checks of the published head are followed (polled with ETags
 * in token mode, or read again on each `check_run`/`check_suite`/`status` webhook). A failure resumes the
 * thread's run with what failed and the failing jobs' log tails, at most `maxAttempts` times in a row;
 * then the thread is told the bot stopped trying. A green head is reported once.
 */

export interface CiFollowOptions {
  threads: ThreadStore;
  /** Hands the thread a message as input of its next run (the coordinator's submit). */
  submit: (channel: string, threadTs: string, message: QueuedMessage) => Promise<unknown>;
  reporterFor: (channel: string, threadTs: string) => RunReporter;
  /** A client that may read the repo's checks, statuses and Actions logs. */
  octokit: (repo: RepoRef) => Promise<Octokit>;
  redact: (text: string) => string;
  /** CI_FIX_ATTEMPTS: fix attempts after the last green; 0 only reports failures. */
  maxAttempts: number;
  /** `webhooks`: GitHub's events say when to read the checks; `poll`: each head is polled. */
  mode: 'poll' | 'webhooks';
  githubServerUrl: string;
  logger: Logger;
  timing?: Partial<FollowTiming>;
  clock?: PollClock;
  /** Told each settled summary of a thread's PR (the Verification section edits the checks in). */
  onSettled?: (thread: { channel: string; threadTs: string }, repo: string, summary: ChecksSummary) => Promise<void>;
}

interface Watch {
  channel: string;
  threadTs: string;
  repo: string;
  ref: RepoRef;
  sha: string;
  pr: number;
  controller: AbortController;
}

type Decision =
  | { kind: 'none' }
  | { kind: 'passed' }
  | { kind: 'fix'; attempt: number; startedBy: string }
  | { kind: 'gave-up'; attempts: number }
  | { kind: 'not-fixable' }
  | { kind: 'report-only' };

export class CiFollow {
  /** By thread and repo: the head being followed. */
  private readonly watches = new Map<string, Watch>();
  private readonly mutex = new KeyedMutex();
  /** Heads whose polling ended unsettled (timed out, no checks): adopting them again would poll for ever. */
  private readonly givenUp = new Set<string>();
  private stopped = false;

  constructor(private readonly options: CiFollowOptions) {}

  /**
   * Follows the published head of each of the thread's PRs that is not followed yet (polling starts at
   * once in token mode). `readNow`, in webhook mode: the checks are read once now, for the events that
   * came while nothing here followed the head (during the run, or while the bot was down).
   */
  async followThread(channel: string, threadTs: string, options: { readNow?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    const state = await this.options.threads.get(channel, threadTs);
    if (!state) return;
    for (const entry of state.repos) {
      const sha = entry.published?.remoteSha;
      const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
      if (!sha || !entry.pr || !ref) continue;
      const key = watchKey(channel, threadTs, entry.repo);
      const existing = this.watches.get(key);
      if (existing?.sha === sha) continue;
      existing?.controller.abort();
      this.watches.delete(key);
      // Already acted on (a run that published nothing new), or polled here until polling gave up.
      if (entry.ci?.sha === sha || this.givenUp.has(headKey(key, sha))) continue;
      const watch: Watch = {
        channel,
        threadTs,
        repo: entry.repo,
        ref,
        sha,
        pr: entry.pr.number,
        controller: new AbortController(),
      };
      this.watches.set(key, watch);
      if (this.options.mode === 'poll') void this.poll(watch);
      else if (options.readNow)
        void this.read(watch).catch((error: unknown) =>
          this.options.logger.warn({ err: error, repo: watch.repo }, 'could not read the checks'),
        );
    }
  }

  /** The thread's PR in this repo was closed or merged: its checks are no longer followed. */
  forget(channel: string, threadTs: string, repo: string): void {
    const key = watchKey(channel, threadTs, repo);
    this.watches.get(key)?.controller.abort();
    this.watches.delete(key);
  }

  /** A webhook: a check or status of a followed head changed, so its checks are read again. */
  async onEvent(event: GitHubEvent): Promise<void> {
    if (event.kind !== 'check-run' && event.kind !== 'check-suite' && event.kind !== 'status') return;
    const name = fullName(event.repo).toLowerCase();
    const matching = [...this.watches.values()].filter(
      (watch) => watch.repo.toLowerCase() === name && watch.sha === event.sha,
    );
    for (const watch of matching) await this.read(watch);
  }

  private async read(watch: Watch): Promise<void> {
    const summary = await readChecks(await this.options.octokit(watch.ref), watch.ref, watch.sha, {
      signal: watch.controller.signal,
    });
    if (summary.state === 'success' || summary.state === 'failure') await this.settled(watch, summary);
  }

  /** Shutdown: every poll stops. */
  stop(): void {
    this.stopped = true;
    for (const watch of this.watches.values()) watch.controller.abort();
    this.watches.clear();
  }

  private async poll(watch: Watch): Promise<void> {
    const { logger } = this.options;
    try {
      const end = await followChecks({
        octokit: () => this.options.octokit(watch.ref),
        repo: watch.ref,
        sha: watch.sha,
        signal: watch.controller.signal,
        ...(this.options.timing ? { timing: this.options.timing } : {}),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
        logger,
      });
      if (end.reason === 'settled') await this.settled(watch, end.summary);
      else if (end.reason === 'failed')
        logger.warn({ err: end.error, repo: watch.repo }, 'could not follow the checks');
      else {
        if (end.reason !== 'stopped')
          this.givenUp.add(headKey(watchKey(watch.channel, watch.threadTs, watch.repo), watch.sha));
        logger.debug({ reason: end.reason, repo: watch.repo, sha: watch.sha }, 'stopped following the checks');
      }
    } catch (error) {
      logger.error({ err: error, repo: watch.repo }, `following the checks failed: ${errorMessage(error)}`);
    } finally {
      const key = watchKey(watch.channel, watch.threadTs, watch.repo);
      if (this.watches.get(key) === watch) this.watches.delete(key);
    }
  }

  /** The head's checks are done: report, and resume the run to fix them when that is allowed. */
  private async settled(watch: Watch, summary: ChecksSummary): Promise<void> {
    const key = watchKey(watch.channel, watch.threadTs, watch.repo);
    await this.mutex.run(key, async () => {
      const { maxAttempts } = this.options;
      let decision: Decision = { kind: 'none' };
      await this.options.threads.update(watch.channel, watch.threadTs, (state) => {
        const entry = state.repos.find((r) => r.repo === watch.repo);
        // Acted on already (a second event), or a newer head was pushed meanwhile.
        if (!entry || entry.ci?.sha === watch.sha || entry.published?.remoteSha !== watch.sha) return undefined;
        const made = entry.ci && entry.ci.verdict !== 'success' ? entry.ci.attempts : 0;
        let verdict: NonNullable<ThreadRepo['ci']>['verdict'];
        let attempts = made;
        if (summary.state === 'success') {
          decision = { kind: 'passed' };
          verdict = 'success';
          attempts = 0;
        } else if (!summary.failed.some((check) => check.actionable)) {
          decision = { kind: 'not-fixable' };
          verdict = 'not-fixable';
        } else if (maxAttempts === 0) {
          decision = { kind: 'report-only' };
          verdict = 'failure';
        } else if (made >= maxAttempts) {
          decision = { kind: 'gave-up', attempts: made };
          verdict = 'gave-up';
        } else {
          attempts = made + 1;
          decision = { kind: 'fix', attempt: attempts, startedBy: state.startedBy };
          verdict = 'failure';
        }
        entry.ci = { sha: watch.sha, verdict, attempts };
        return state;
      });
      await this.act(watch, summary, decision as Decision);
      await this.options
        .onSettled?.({ channel: watch.channel, threadTs: watch.threadTs }, watch.repo, summary)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not note the checks'));
    });
    const current = this.watches.get(key);
    if (current === watch) this.watches.delete(key);
  }

  private async act(watch: Watch, summary: ChecksSummary, decision: Decision): Promise<void> {
    const reporter = this.options.reporterFor(watch.channel, watch.threadTs);
    const notice = (text: string) => reporter.handle({ type: 'notice', text });
    const names = failedCheckNames(summary);
    const head = `\`${watch.sha.slice(0, 7)}\``;
    const pr = `pull request #${watch.pr} of ${watch.repo}`;
    switch (decision.kind) {
      case 'none':
        return;
      case 'passed':
        notice(`Checks passed on ${pr} (${summary.checks.length} on ${head}).`);
        break;
      case 'not-fixable':
        notice(
          `Checks failed on ${pr} (${head}): ${names}. No code change fixes this kind of failure (cancelled, waiting for an approval, stale), so I am leaving it to you.`,
        );
        break;
      case 'report-only':
        notice(`Checks failed on ${pr} (${head}): ${names}. CI_FIX_ATTEMPTS is 0, so I only report it.`);
        break;
      case 'gave-up':
        notice(
          `Checks still fail on ${pr} (${head}): ${names}. I stopped trying after ${decision.attempts} fix attempt${decision.attempts === 1 ? '' : 's'} (CI_FIX_ATTEMPTS=${this.options.maxAttempts}); the failure needs a person's look. Reply here to make me try again.`,
        );
        break;
      case 'fix': {
        const line = ciAttemptLine({ failed: names, attempt: decision.attempt, max: this.options.maxAttempts });
        notice(line);
        const report = await describeFailedChecks(await this.options.octokit(watch.ref), watch.ref, summary, {
          redact: this.options.redact,
          signal: watch.controller.signal,
        }).catch((error: unknown) => {
          this.options.logger.warn({ err: error, repo: watch.repo }, 'could not read the failing jobs’ logs');
          return { text: `The checks of commit ${watch.sha.slice(0, 12)} on GitHub failed: ${names}.`, logs: [] };
        });
        const text = [
          line,
          '',
          report.text,
          '',
          `Find the cause, fix it on the same branch and publish with make_pull_request: ${pr} is updated and its checks run again.`,
        ].join('\n');
        await this.options.submit(watch.channel, watch.threadTs, {
          user: decision.startedBy,
          text: this.options.redact(text),
          ts: `${CI_TS_PREFIX}${watch.sha.slice(0, 12)}-${decision.attempt}`,
        });
        break;
      }
    }
    await reporter.flush();
  }
}

/** One published head of a watch. */
function headKey(watchKey: string, sha: string): string {
  return `${watchKey}@${sha}`;
}

function watchKey(channel: string, threadTs: string, repo: string): string {
  return `${threadKeyOf(channel, threadTs)}|${repo.toLowerCase()}`;
}
