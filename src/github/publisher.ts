import type { Octokit } from '@octokit/rest';
import { AbortedError } from '../lib/errors.js';
import { BOT_GIT_EMAIL, BOT_GIT_NAME } from '../sandbox/git-identity.js';
import type { Workspace } from '../sandbox/workspace.js';
import { BRANCH_PREFIX } from './branch-name.js';
import { type PublishLogger, readCommits, replicateCommits } from './commit-replicator.js';
import type { GitHubCredentials } from './credentials.js';
import { GitHubError, githubRequest, isHttpError, toGitHubError } from './github-errors.js';
import { type OctokitFactory, requestOptions } from './octokit.js';
import { type GatedChange, gatedChanges, gateFingerprint } from './publish-gate.js';
import { type PullRequestInfo, PullRequests } from './pull-requests.js';
import { parseRepoRef } from './repo-ref.js';
import { publishFailed, SandboxGit, SHA_RE } from './sandbox-git.js';

export type { PublishLogger } from './commit-replicator.js';
export { PullRequestMergedError } from './pull-requests.js';

/** What a publish left on GitHub: the sandbox's head commit and the commit GitHub holds for it. */
export interface PublishedHead {
  localSha: string;
  remoteSha: string;
}

export interface PublishRequest {
  workspace: Workspace;
  /** What the thread's last publish left (from thread state). */
  published?: PublishedHead;
  existingPr?: { number: number };
  title: string;
  body: string;
  /** Stop: aborts the sandbox command or GitHub request in flight. */
  signal?: AbortSignal;
  /** Fingerprints of gated changes (CI config, gitlinks, outside symlinks) a person approved in the thread. */
  approved?: readonly string[];
  /** Who asked (plain text), credited in a `Requested-by:` trailer of every published commit. */
  requestedBy?: string;
}

export interface PublishResult {
  /** Store it in the thread state and pass it to the next publish. */
  published: PublishedHead;
  pr: PullRequestInfo & { reopened?: boolean };
  /** How many sandbox commits this publish replayed. */
  commits: number;
}

export interface Publisher {
  publish(request: PublishRequest): Promise<PublishResult>;
}

export interface GitHubPublisherOptions {
  credentials: GitHubCredentials;
  octokitFor: OctokitFactory;
  logger?: PublishLogger;
  /** Applied to every text the bot writes to GitHub: titles, bodies, commit messages. */
  redact?: (text: string) => string;
  /** The time commits are dated with. */
  now?: () => Date;
}

/** Changes that wait for a person's approval in the thread before anything of the branch is published. */
export class PublishNeedsApproval extends GitHubError {
  constructor(
    readonly repo: string,
    readonly changes: readonly GatedChange[],
    readonly fingerprint: string,
  ) {
    const files = [...new Set(changes.map((c) => c.path))];
    super('approval_needed', `Publishing ${repo} needs an approval for ${files.join(', ')}`, {
      endsRun: true,
      userMessage: `This work changes ${files.join(', ')} (CI configuration, submodules or symlinks out of the repo), which can run code with the repository's secrets or reach outside it. Nothing was published: it waits for an approval in this thread.`,
    });
  }
}

/** Where the new commits start: a local commit and its counterpart on GitHub. */
interface PublishBase extends PublishedHead {
  /** published: the thread's last publish; remote: the branch on GitHub; merge-base: the base branch. */
  source: 'published' | 'remote' | 'merge-base';
}

/**
 * Publishes the thread's branch from the sandbox to GitHub, from the host: the sandbox's new
 * commits are replayed through the Git Data API with the host's write token (the sandbox never
 * holds one), the `ai-dev/…` branch is created or fast-forwarded once at the end (never forced),
 * and the thread's pull request is opened, updated or reopened.
 *
 * Safety rules: only `ai-dev/` branches; if the branch on GitHub holds a commit that is not in the
 * sandbox's history (a person pushed to it) nothing is written and `branch_moved` is raised; if the
 * sandbox's history was rewritten after a publish, `history_rewritten`. A branch on GitHub whose
 * head is already in the sandbox's history (a crash after the ref moved, a sandbox recreated from
 * the branch) is simply built upon. A merged PR is reported (`pr_merged`) before anything is written.
 */
export class GitHubPublisher implements Publisher {
  private readonly credentials: GitHubCredentials;
  private readonly octokitFor: OctokitFactory;
  private readonly logger: PublishLogger | undefined;
  private readonly redact: (text: string) => string;
  private readonly now: () => Date;

  constructor(options: GitHubPublisherOptions) {
    this.credentials = options.credentials;
    this.octokitFor = options.octokitFor;
    this.logger = options.logger;
    this.redact = options.redact ?? ((text) => text);
    this.now = options.now ?? (() => new Date());
  }

  async publish(request: PublishRequest): Promise<PublishResult> {
    const { workspace, published, existingPr, title, body, signal } = request;
    const { branch, baseBranch } = workspace;
    assertPublishableBranch(branch, baseBranch);
    const repoRef = parseRepoRef(workspace.repo, 'https://github.com');
    if (!repoRef) throw new GitHubError('publish_failed', `Not a repository name: ${JSON.stringify(workspace.repo)}`);
    if (published && (!SHA_RE.test(published.localSha) || !SHA_RE.test(published.remoteSha))) {
      throw new GitHubError('publish_failed', 'The stored publish state is not a pair of commit shas');
    }
    const target = { owner: repoRef.owner, repo: repoRef.name };
    let octokit = this.octokitFor(await this.credentials.tokenFor(repoRef, 'write'));
    const git = new SandboxGit(workspace.sandbox, workspace.root, signal);
    const pulls = new PullRequests(octokit, { ...target, branch, baseBranch }, this.logger, signal);

    // A merged PR is reported before anything is written, so no commit lands on a finished branch.
    const existing = existingPr ? await pulls.existing(existingPr.number) : undefined;

    const head = await git.resolveCommit(`refs/heads/${branch}`);
    if (!head) throw publishFailed(`find the branch ${branch} in the sandbox`, 'it does not exist there');
    const remoteHead = await this.readBranch(octokit, target, branch, signal);
    const base = await this.chooseBase(git, octokit, target, { head, remoteHead, published, baseBranch, branch });
    const commits = base.localSha === head ? [] : await git.firstParentRange(base.localSha, head);
    if (commits.length === 0 && remoteHead === undefined && !published && !existing) {
      throw new GitHubError('nothing_to_publish', `nothing to publish: ${branch} has no commits beyond ${baseBranch}`, {
        userMessage: 'Nothing to publish: commit your changes first.',
      });
    }

    // Everything is read and checked before anything is written.
    const read = await readCommits(git, base.localSha, commits);
    const gated = await gatedChanges(
      read.flatMap((c) => c.changes),
      (sha) => git.symlinkTarget(sha),
    );
    if (gated.length > 0) {
      const fingerprint = gateFingerprint(gated);
      if (!request.approved?.includes(fingerprint)) throw new PublishNeedsApproval(workspace.repo, gated, fingerprint);
      if (gated.some((c) => c.path.startsWith('.github/workflows/'))) {
        octokit = this.octokitFor(await this.credentials.tokenFor(repoRef, 'write-workflows'));
      }
    }

    const date = this.now().toISOString();
    const replay = await replicateCommits({
      octokit,
      target,
      git,
      base,
      commits: read,
      identity: { name: BOT_GIT_NAME, email: BOT_GIT_EMAIL, date },
      message: (original) => withTrailer(this.redact(original), request.requestedBy),
      logger: this.logger,
      signal,
    });
    const final = replay.head;

    if (remoteHead === undefined) {
      // Recreate a branch GitHub lost only when there is something of ours to put on it.
      if (commits.length > 0 || base.source !== 'merge-base') {
        await this.writeBranch('create', octokit, target, branch, final.remoteSha, signal);
      }
    } else if (remoteHead !== final.remoteSha) {
      await this.writeBranch('move', octokit, target, branch, final.remoteSha, signal);
    }

    const pr = await pulls.upsert({ existing, title: this.redact(title), body: this.redact(body) });
    this.logger?.info(
      {
        repo: workspace.repo,
        branch,
        commits: commits.length,
        head: final,
        identicalShas: replay.identical,
        pr: pr.number,
        created: pr.created,
        reopened: pr.reopened ?? false,
      },
      'published the branch',
    );
    return { published: { localSha: final.localSha, remoteSha: final.remoteSha }, pr, commits: commits.length };
  }

  private async chooseBase(
    git: SandboxGit,
    octokit: Octokit,
    target: { owner: string; repo: string },
    state: {
      head: string;
      remoteHead: string | undefined;
      published: PublishedHead | undefined;
      baseBranch: string;
      branch: string;
    },
  ): Promise<PublishBase> {
    const { head, remoteHead, published, baseBranch, branch } = state;
    if (published && (remoteHead === undefined || remoteHead === published.remoteSha)) {
      if (await git.isAncestor(published.localSha, head)) return { ...published, source: 'published' };
      // A sandbox recreated from the branch has GitHub's commits, not the original local ones.
      if (published.remoteSha !== published.localSha && (await git.isAncestor(published.remoteSha, head))) {
        return { localSha: published.remoteSha, remoteSha: published.remoteSha, source: 'published' };
      }
      if (remoteHead !== undefined) {
        throw new GitHubError(
          'history_rewritten',
          `The sandbox's ${branch} no longer contains the published ${published.localSha}`,
          {
            endsRun: true,
            userMessage: `The branch’s history in the sandbox was rewritten (rebase, reset or amend) after it was published, and I never force-push. Nothing was pushed. Put the new work in commits on top of ${published.localSha.slice(0, 12)} (e.g. \`git reset --soft ${published.localSha.slice(0, 12)}\` then commit), then publish again.`,
          },
        );
      }
      // The branch is gone from GitHub and the sandbox does not have its commits: start again from the base.
    } else if (remoteHead !== undefined) {
      // The branch on GitHub is ours to extend only if its head is in the sandbox's history.
      if (await git.isAncestor(remoteHead, head)) {
        if (published) {
          this.logger?.info({ branch, remoteHead, published }, 'the branch on GitHub is ahead of the stored state');
        }
        return { localSha: remoteHead, remoteSha: remoteHead, source: 'remote' };
      }
      const adopted = await this.ownCommitFor(git, octokit, target, remoteHead, head, baseBranch);
      if (adopted) {
        this.logger?.info(
          { branch, remoteHead, local: adopted },
          'the branch on GitHub holds our own replay of a local commit',
        );
        return { localSha: adopted, remoteSha: remoteHead, source: 'remote' };
      }
      throw new GitHubError(
        'branch_moved',
        `Branch ${branch} on GitHub is at ${remoteHead}, which ${published ? `is not the published ${published.remoteSha} and ` : ''}is not in the sandbox's history`,
        {
          endsRun: true,
          userMessage: `The branch ${branch} changed on GitHub since I last published it (someone else pushed to it), so I did not publish: nothing was overwritten. Bring those changes into the thread’s work or start a new branch, then try again.`,
        },
      );
    }
    const upstream = await git.resolveCommit(`refs/remotes/origin/${baseBranch}`);
    if (!upstream) throw publishFailed(`find origin/${baseBranch} in the sandbox`, 'the clone does not have it');
    const mergeBase = await git.mergeBase(head, upstream);
    if (!mergeBase) {
      throw publishFailed(`find where ${branch} starts`, `it shares no history with origin/${baseBranch}`);
    }
    return { localSha: mergeBase, remoteSha: mergeBase, source: 'merge-base' };
  }

  /**
   * A publish that moved the branch and then died before its result was stored leaves GitHub holding
   * the bot's replay of a local commit, under another sha. It is ours when the bot made it and its tree
   * is exactly the tree of a local commit on the branch: then the work goes on from that pair.
   */
  private async ownCommitFor(
    git: SandboxGit,
    octokit: Octokit,
    target: { owner: string; repo: string },
    remoteHead: string,
    head: string,
    baseBranch: string,
  ): Promise<string | undefined> {
    const remote = await githubRequest(
      `read commit ${remoteHead.slice(0, 12)}`,
      async () => (await octokit.rest.git.getCommit({ ...target, commit_sha: remoteHead })).data,
      { notFound: () => undefined },
    );
    if (!remote || remote.committer.email !== BOT_GIT_EMAIL || remote.author.email !== BOT_GIT_EMAIL) return undefined;
    const upstream = await git.resolveCommit(`refs/remotes/origin/${baseBranch}`);
    const start = upstream ? await git.mergeBase(head, upstream) : undefined;
    if (!start) return undefined;
    const local = (await git.firstParentTrees(head, start)).find((c) => c.tree === remote.tree.sha);
    return local?.sha;
  }

  /** The branch's head on GitHub, or undefined when it does not exist. */
  private async readBranch(
    octokit: Octokit,
    target: { owner: string; repo: string },
    branch: string,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const data = await githubRequest(
      `read the branch ${branch}`,
      async () =>
        (await octokit.rest.git.getRef({ ...target, ref: `heads/${branch}`, ...requestOptions(signal) })).data,
      { signal, notFound: () => undefined },
    );
    // getRef answers with a prefix match as a list when the exact ref is absent.
    if (data === undefined || Array.isArray(data) || data.ref !== `refs/heads/${branch}`) return undefined;
    return data.object.sha;
  }

  /**
   * Creates the branch or fast-forwards it (never forced). A 422 ("Reference already exists", "Update
   * is not a fast forward") may be our own earlier attempt meeting itself: fine if the branch now points
   * at our commit; someone else's commit there is `branch_moved`.
   */
  private async writeBranch(
    mode: 'create' | 'move',
    octokit: Octokit,
    target: { owner: string; repo: string },
    branch: string,
    sha: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const doing = `${mode === 'create' ? 'create' : 'update'} the branch ${branch}`;
    try {
      if (mode === 'create') {
        await octokit.rest.git.createRef({ ...target, ref: `refs/heads/${branch}`, sha, ...requestOptions(signal) });
      } else {
        await octokit.rest.git.updateRef({
          ...target,
          ref: `heads/${branch}`,
          sha,
          force: false,
          ...requestOptions(signal),
        });
      }
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(signal.reason);
      if (!isHttpError(error) || error.status !== 422) throw toGitHubError(error, doing);
      const now = await this.readBranch(octokit, target, branch, signal);
      if (now === sha) return;
      if (now !== undefined) throw branchMovedMeanwhile(branch, now, error);
      throw toGitHubError(error, doing);
    }
  }
}

function branchMovedMeanwhile(branch: string, now: string, cause: unknown): GitHubError {
  return new GitHubError('branch_moved', `Branch ${branch} moved on GitHub to ${now} while publishing`, {
    cause,
    endsRun: true,
    userMessage: `The branch ${branch} changed on GitHub while I was publishing (someone else pushed to it), so I stopped: nothing was overwritten. Try again once it is settled, or start a new branch.`,
  });
}

/** Defence in depth: the bot only ever writes `ai-dev/…` branches, never the base branch. */
export function assertPublishableBranch(branch: string, baseBranch: string): void {
  const name = branch.slice(BRANCH_PREFIX.length);
  const valid =
    branch.startsWith(BRANCH_PREFIX) &&
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(name) &&
    !/\.\.|\/\/|\/\.|@\{|\.lock(?:\/|$)|[./]$/.test(name) &&
    branch !== baseBranch;
  if (!valid) {
    throw new GitHubError('branch_not_allowed', `Refusing to publish to ${JSON.stringify(branch)}`, {
      endsRun: true,
      userMessage: `I only publish to branches under ${BRANCH_PREFIX} (never ${baseBranch} or other branches); ${JSON.stringify(branch)} is not one.`,
    });
  }
}

/** Credits the person who asked in a git trailer, on a line of its own after the message. */
function withTrailer(message: string, requestedBy: string | undefined): string {
  const body = message.replace(/\s+$/, '');
  if (!requestedBy) return `${body}\n`;
  return `${body}\n\nRequested-by: ${requestedBy.replace(/[\r\n]+/g, ' ').trim()}\n`;
}
