import { type CostTotals, formatDollars } from '../agent/cost.js';
import type { RunTotals } from '../agent/events.js';
import { nextBranchName } from '../github/branch-name.js';
import type { Publisher } from '../github/publisher.js';
import { type PullRequestInfo, PullRequestMergedError } from '../github/pull-requests.js';
import { type VerificationInput, withVerificationSection } from '../github/verification.js';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import { startBranch, type Workspace } from '../sandbox/workspace.js';
import type { ThreadRepo } from '../store/thread-store.js';
import type { ThreadInfo } from './ports.js';

export interface RunPublishingOptions {
  publisher: Publisher;
  logger: Logger;
  signal: AbortSignal;
  /** The thread's entry of a repo (its branch, what was published, its PR). */
  entry: (repo: string) => ThreadRepo;
  /** Persists a change to one repo's entry. */
  saveRepo: (entry: ThreadRepo) => Promise<void>;
  /** Something the thread should hear about (a new branch after a merged PR …). */
  onNotice: (text: string) => void;
  /** Host-side text appended to every PR body (who asked, thread link, commands run). */
  prFooter: () => Promise<string>;
  /** Who asked, for the `Requested-by:` trailer of every published commit. */
  requestedBy: () => Promise<string>;
  /** What the PR body's Verification section shows; it adds this run's commands to the entry (saved with it). */
  verification?: (entry: ThreadRepo) => VerificationInput;
  /** Retries of a transient publish failure (GitHub 5xx, rate limits); default 3. */
  retries?: number;
}

/** The pull requests one run opened or updated, one per repo. */
export type PublishedPullRequest = PullRequestInfo & { repo: string };

/**
 * Publishing for one run: from the sandbox to the thread's branch and pull request, tried again
 * while GitHub fails in passing (publishing is idempotent: commits are replayed by content, the ref
 * only moves forward, an existing PR is found again), and on a new branch and PR when the thread's
 * PR was merged meanwhile.
 */
export class RunPublishing {
  readonly published: PublishedPullRequest[] = [];

  constructor(private readonly options: RunPublishingOptions) {}

  async publish(workspace: Workspace, request: { title: string; body: string }): Promise<PullRequestInfo> {
    try {
      return await this.publishRetrying(workspace, request);
    } catch (error) {
      if (!(error instanceof PullRequestMergedError)) throw error;
      // A merged pull request cannot take more commits: the work goes on on a new branch and PR.
      const entry = this.options.entry(workspace.repo);
      const next = nextBranchName(entry.branch);
      await startBranch(workspace, next, { signal: this.options.signal, timeoutMs: 60_000 }).catch(() => {
        throw error;
      });
      entry.branch = next;
      entry.published = undefined;
      entry.pr = undefined;
      await this.options.saveRepo(entry);
      this.options.onNotice(
        `Pull request #${error.number} of ${entry.repo} was already merged, so the new work goes on the new branch \`${next}\` with a new pull request.`,
      );
      return this.publishRetrying(workspace, request);
    }
  }

  private publishRetrying(workspace: Workspace, request: { title: string; body: string }): Promise<PullRequestInfo> {
    return retrying(() => this.publishOnce(workspace, request), {
      retries: this.options.retries ?? 3,
      minDelayMs: 1_000,
      maxDelayMs: 10_000,
      signal: this.options.signal,
      onRetry: (error, attempt) => this.options.logger.warn({ err: error, attempt }, 'publish failed; retrying'),
    });
  }

  private async publishOnce(workspace: Workspace, request: { title: string; body: string }): Promise<PullRequestInfo> {
    const entry = this.options.entry(workspace.repo);
    const footer = await this.options.prFooter();
    const text = footer ? `${request.body.trim()}\n\n---\n${footer}` : request.body;
    const result = await this.options.publisher.publish({
      workspace,
      published: entry.published,
      existingPr: entry.pr ? { number: entry.pr.number } : undefined,
      title: request.title,
      body: this.options.verification ? withVerificationSection(text, this.options.verification(entry)) : text,
      signal: this.options.signal,
      approved: entry.approvals ?? [],
      requestedBy: await this.options.requestedBy(),
    });
    entry.published = result.published;
    entry.pr = { number: result.pr.number, url: result.pr.url };
    entry.pendingApproval = undefined;
    await this.options.saveRepo(entry);
    const info: PullRequestInfo = {
      url: result.pr.url,
      number: result.pr.number,
      created: result.pr.created,
      branch: result.pr.branch,
    };
    // One entry per repo: a PR opened earlier in this run and updated since still counts as opened.
    const earlier = this.published.find((p) => p.repo === entry.repo);
    const rest = this.published.filter((p) => p !== earlier);
    this.published.splice(0, this.published.length, ...rest, {
      ...info,
      repo: entry.repo,
      created: info.created || (earlier?.created ?? false),
    });
    return info;
  }
}

/** Who asked, as the commit trailer and the PR footer name them (plain text, no Slack markup). */
export function requesterText(info: ThreadInfo, user: string): string {
  if (info.surface === 'terminal') return `${info.requesterName ?? user} (terminal)`;
  return info.requesterName ? `${info.requesterName} (Slack ${user})` : `Slack user ${user}`;
}

/** What the bot adds under every PR body: who asked, the thread, the commands run. */
export function prFooter(info: ThreadInfo, user: string, commands: RunTotals['commands'], cost?: CostTotals): string {
  const lines = [
    `Requested ${info.surface === 'terminal' ? 'with `ai-dev run`' : 'in Slack'} by ${requesterText(info, user)}${info.permalink ? ` — [thread](${info.permalink})` : ''}. Made by ai-dev.`,
  ];
  if (cost) {
    // Written when the PR is opened or updated: the dollars up to then (the sandbox's as of the last model turn).
    const sandbox = cost.sandboxDollars > 0 ? `, sandbox ${formatDollars(cost.sandboxDollars)}` : '';
    lines.push(
      '',
      `Cost of this run so far: ${formatDollars(cost.dollars)} (model ${formatDollars(cost.modelDollars)} over ${cost.requests} request${cost.requests === 1 ? '' : 's'}${sandbox}).`,
    );
  }
  if (commands.length > 0) {
    lines.push('', 'Commands run in the sandbox:');
    for (const c of commands.slice(-30)) {
      lines.push(
        `- \`${c.command.replaceAll('`', "'").slice(0, 120)}\` → exit ${c.exitCode} (${(c.durationMs / 1000).toFixed(1)} s)`,
      );
    }
  }
  return lines.join('\n');
}
