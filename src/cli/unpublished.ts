import type { Publisher, PublishRequest, PublishResult } from '../github/publisher.js';
import { shellQuote } from '../lib/shell.js';
import { branchBase } from '../sandbox/workspace.js';

/** What `--no-pr` kept of one repo: its branch and the diff against the base branch. */
export interface UnpublishedBranch {
  repo: string;
  branch: string;
  baseBranch: string;
  commits: number;
  /** `git diff --stat` then the full diff, base…head. */
  diff: string;
}

/** What the model reads in place of a pull-request link. */
export const NOT_PUBLISHED =
  'not published: the operator ran this task with --no-pr, so the branch stays in the sandbox';

const DIFF_TIMEOUT_MS = 60_000;

/**
 * The publisher of `ai-dev run --no-pr`: nothing reaches GitHub. Where the bot would publish (the
 * model's make_pull_request, or the leftovers at the end of a run) it reads the branch's diff against
 * the base branch in the sandbox, keeps it for the terminal, and answers as if published, so the run
 * ends normally. The CLI puts the thread's publish record back afterwards.
 */
export class UnpublishedBranches implements Publisher {
  readonly branches = new Map<string, UnpublishedBranch>();

  async publish(request: PublishRequest): Promise<PublishResult> {
    const { workspace, signal } = request;
    const { sandbox, root } = workspace;
    const base = await branchBase(sandbox, root, workspace.baseBranch);
    const range = `${shellQuote(base)} HEAD`;
    const run = async (command: string) => {
      const result = await sandbox.exec(command, { cwd: root, timeoutMs: DIFF_TIMEOUT_MS, signal });
      if (result.exitCode !== 0) throw new Error(`${command} failed: ${result.stderr.trim() || result.stdout.trim()}`);
      return result.stdout;
    };
    const head = (await run('git rev-parse HEAD')).trim();
    const commits = Number((await run(`git rev-list --count ${shellQuote(base)}..HEAD`)).trim()) || 0;
    const stat = await run(`git -c color.ui=false diff --no-ext-diff --stat ${range}`);
    const patch = await run(`git -c color.ui=false diff --no-ext-diff ${range}`);
    this.branches.set(workspace.repo, {
      repo: workspace.repo,
      branch: workspace.branch,
      baseBranch: workspace.baseBranch,
      commits,
      diff: `${stat.trimEnd()}\n\n${patch.trimEnd()}`,
    });
    return {
      published: { localSha: head, remoteSha: head },
      pr: { url: NOT_PUBLISHED, number: 0, created: true, branch: workspace.branch },
      commits,
    };
  }
}
