import type { Octokit } from '@octokit/rest';
import pLimit from 'p-limit';
import { AbortedError } from '../lib/errors.js';
import { GitHubError, githubRequest, isHttpError, toGitHubError, workflowPermissionError } from './github-errors.js';
import { requestOptions } from './octokit.js';
import { type CommitObject, publishFailed, type SandboxGit, type TreeChange, type TreeMode } from './sandbox-git.js';

/** The few log calls the publisher makes; a pino logger fits. */
export interface PublishLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RepoCoordinates {
  owner: string;
  repo: string;
}

/** A local commit and the commit GitHub holds for it (the same sha when the replay is exact). */
export interface CommitPair {
  localSha: string;
  remoteSha: string;
}

/** A sandbox commit as read before anything is written: its object and what it changed. */
export interface ReadCommit {
  commit: CommitObject;
  changes: TreeChange[];
}

/** Who GitHub's commits are by: the bot, author and committer, at the time of publishing. */
export interface PublishIdentity {
  name: string;
  email: string;
  /** ISO 8601. */
  date: string;
}

export interface ReplicateRequest {
  octokit: Octokit;
  target: RepoCoordinates;
  git: SandboxGit;
  /** The local commit the first new commit builds on, and its counterpart on GitHub. */
  base: CommitPair;
  /** New local commits along first parents, oldest first, read by `readCommits`. */
  commits: readonly ReadCommit[];
  /** Author and committer of every replayed commit; whatever the sandbox wrote there never reaches GitHub. */
  identity: PublishIdentity;
  /** The message as published (redacted, with the requester's trailer). */
  message: (original: string) => string;
  logger?: PublishLogger;
  signal?: AbortSignal;
}

export interface ReplicateResult {
  /** The last commit (or the base when there was nothing to replay). */
  head: CommitPair;
  /** Every replayed commit, oldest first. */
  replayed: CommitPair[];
  /** Whether every replayed commit got the same sha on GitHub as in the sandbox. */
  identical: boolean;
}

type TreeItem = {
  path: string;
  mode: TreeMode;
  type: 'blob' | 'tree' | 'commit';
  sha: string | null;
};

const BLOB_CONCURRENCY = 4;

/**
 * Reads the commits to publish from the sandbox, oldest first, before anything is written, and
 * checks that they form one line on top of `base` (a rewritten history is refused).
 */
export async function readCommits(git: SandboxGit, base: string, commits: readonly string[]): Promise<ReadCommit[]> {
  const read: ReadCommit[] = [];
  let previous = base;
  for (const sha of commits) {
    const { commit, changes } = await git.readCommitWithChanges(previous, sha);
    if (commit.parents[0] !== previous) {
      throw new GitHubError(
        'history_not_linear',
        `Commit ${sha} does not build on ${previous} (its first parent is ${commit.parents[0] ?? 'none'})`,
        {
          userMessage:
            'The branch’s history in the sandbox does not continue from what was published (was it rebased, reset or amended?). Nothing was pushed; make new commits on top of the published branch instead.',
        },
      );
    }
    read.push({ commit, changes });
    previous = sha;
  }
  return read;
}

/**
 * Replays sandbox commits on GitHub through the Git Data API (blobs → tree on the parent's tree →
 * commit), so the host publishes work without the sandbox ever holding a write credential. The tree
 * GitHub builds must equal the sandbox's, so exactly what the sandbox's git holds is published; the
 * author and committer are the bot, dated now, whatever the sandbox claimed, so GitHub's shas differ
 * from the sandbox's — the caller's `PublishedHead` mapping keeps later publishes right.
 *
 * Merge commits on the first-parent chain are kept as merges when every other parent already
 * exists on GitHub (e.g. `git merge origin/main`), so the PR's diff stays right; a merge of a
 * sandbox-only branch is refused with a clear message rather than flattened. Nothing here moves a
 * ref: the caller moves the branch once, after every commit is in place.
 */
export async function replicateCommits(request: ReplicateRequest): Promise<ReplicateResult> {
  const { octokit, target, base, commits, identity, logger, signal } = request;
  const options = requestOptions(signal);
  const replayed: CommitPair[] = [];
  if (commits.length === 0) return { head: base, replayed, identical: true };

  const remoteOf = new Map<string, string>([[base.localSha, base.remoteSha]]);
  const createdBlobs = new Set<string>();
  let previous = base;
  let previousTree = await remoteTreeOf(request, base.remoteSha);
  let identical = true;

  for (const { commit, changes } of commits) {
    const sha = commit.sha;
    const parents = [previous.remoteSha];
    for (const other of commit.parents.slice(1)) {
      parents.push(await mergeParentOnGitHub(request, commit, remoteOf.get(other) ?? other));
    }
    await createBlobs(request, changes, createdBlobs);
    const tree = changes.length === 0 ? previousTree : await createTree(request, previousTree, changes);
    if (tree !== commit.tree) {
      throw publishFailed(
        `replay commit ${sha.slice(0, 12)}`,
        `GitHub built tree ${tree} where the sandbox has ${commit.tree}; the branch was not moved`,
      );
    }
    const created = await githubRequest(
      `create commit ${sha.slice(0, 12)}`,
      () =>
        octokit.rest.git.createCommit({
          ...target,
          message: request.message(commit.message),
          tree,
          parents,
          author: identity,
          committer: identity,
          ...options,
        }),
      { signal },
    );
    const remoteSha = created.data.sha;
    if (remoteSha !== sha) identical = false;
    previous = { localSha: sha, remoteSha };
    previousTree = tree;
    remoteOf.set(sha, remoteSha);
    replayed.push(previous);
  }
  logger?.info({ commits: replayed.length, identical }, 'replayed the sandbox’s commits as the bot');
  return { head: previous, replayed, identical };
}

async function remoteTreeOf(request: ReplicateRequest, remoteSha: string): Promise<string> {
  const { octokit, target, signal } = request;
  try {
    const { data } = await octokit.rest.git.getCommit({
      ...target,
      commit_sha: remoteSha,
      ...requestOptions(signal),
    });
    return data.tree.sha;
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    if (isHttpError(error) && error.status === 404) {
      throw publishFailed(
        'find the commit the branch builds on',
        `commit ${remoteSha} is not on GitHub (was the base branch force-pushed?)`,
        error,
      );
    }
    throw toGitHubError(error, `read commit ${remoteSha.slice(0, 12)}`);
  }
}

/** The second (third…) parent of a merge must already be on GitHub; sandbox-only branches are refused. */
async function mergeParentOnGitHub(request: ReplicateRequest, commit: CommitObject, parent: string): Promise<string> {
  const { octokit, target, signal } = request;
  try {
    await octokit.rest.git.getCommit({ ...target, commit_sha: parent, ...requestOptions(signal) });
    return parent;
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    if (isHttpError(error) && (error.status === 404 || error.status === 422)) {
      throw new GitHubError(
        'merge_not_publishable',
        `Merge commit ${commit.sha} has parent ${parent}, which exists only in the sandbox`,
        {
          cause: error,
          userMessage: `Commit ${commit.sha.slice(0, 12)} merges a branch that exists only in the sandbox, which I can’t publish as a merge. Rebase or squash that work onto the thread’s branch (merging the base branch from origin is fine), then publish again.`,
        },
      );
    }
    throw toGitHubError(error, `read commit ${parent.slice(0, 12)}`);
  }
}

/** Creates the blobs a commit adds or changes (gitlinks have none; symlink blobs hold the target). */
async function createBlobs(request: ReplicateRequest, changes: TreeChange[], created: Set<string>): Promise<void> {
  const { octokit, target, git, signal } = request;
  const wanted = new Set<string>();
  for (const change of changes) {
    if (change.status === 'D' || change.dstMode === '160000') continue;
    // A mode-only change (e.g. chmod +x) reuses the blob the parent tree already has.
    if (change.srcSha === change.dstSha && change.srcMode !== '160000') continue;
    if (!created.has(change.dstSha)) wanted.add(change.dstSha);
  }
  if (wanted.size === 0) return;
  await git.readBlobs([...wanted], async (blobs) => {
    const limit = pLimit(BLOB_CONCURRENCY);
    const uploads = [...blobs].map(([sha, content]) =>
      limit(async () => {
        const { data } = await githubRequest(
          'upload a file',
          () => octokit.rest.git.createBlob({ ...target, content, encoding: 'base64', ...requestOptions(signal) }),
          { signal },
        );
        if (data.sha !== sha) {
          throw publishFailed('upload a file', `GitHub stored blob ${data.sha} for the sandbox’s ${sha}`);
        }
        created.add(sha);
      }),
    );
    await Promise.all(uploads);
  });
}

async function createTree(request: ReplicateRequest, baseTree: string, changes: TreeChange[]): Promise<string> {
  const { octokit, target, signal } = request;
  // Deletions first, so a path that turns from a file into a directory (or back) is cleared before it is set.
  const deletions: TreeItem[] = changes
    .filter((change) => change.status === 'D')
    .map((change) => ({ path: change.path, mode: treeMode(change.srcMode), type: typeOf(change.srcMode), sha: null }));
  const updates: TreeItem[] = changes
    .filter((change) => change.status !== 'D')
    .map((change) => ({
      path: change.path,
      mode: treeMode(change.dstMode),
      type: typeOf(change.dstMode),
      sha: change.dstSha,
    }));
  try {
    const { data } = await octokit.rest.git.createTree({
      ...target,
      base_tree: baseTree,
      tree: [...deletions, ...updates],
      ...requestOptions(signal),
    });
    return data.sha;
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    const workflows = changes.filter((c) => c.path.startsWith('.github/workflows/')).map((c) => c.path);
    // GitHub answers a bare 404 to a tree that touches workflows when the token may not change them.
    if (isHttpError(error) && error.status === 404 && workflows.length > 0)
      throw workflowPermissionError(workflows, error);
    throw toGitHubError(error, 'create a tree');
  }
}

function treeMode(mode: string): TreeMode {
  if (mode === '100644' || mode === '100755' || mode === '120000' || mode === '160000') return mode;
  throw publishFailed('replay a commit', `unsupported file mode ${mode}`);
}

function typeOf(mode: string): TreeItem['type'] {
  return mode === '160000' ? 'commit' : 'blob';
}
