/**
 * GitHub's guard on `.github/workflows/`: a token may only add, change or delete workflow files
 * when it carries the workflow permission — the `workflow` scope for classic tokens (PATs and
 * OAuth App tokens), `workflows: write` for GitHub App installation tokens and fine-grained tokens.
 *
 * Where GitHub says no, and how:
 * - `git push`: the ref is rejected, `! [remote rejected] <src> -> <dst> (<reason>)`, with reason
 *   `refusing to allow a GitHub App to create or update workflow `<path>` without `workflows` permission`
 *   (e.g. peter-evans/create-pull-request#1713, repo-sync/github-sync#23), `… a Personal Access Token …
 *   without `workflow` scope` (e.g. the DataLad handbook's GitHub section) or `… an OAuth App … without
 *   `workflow` scope` (e.g. jellydn/blog "TIL 13").
 * - REST Git Data API: `POST …/git/trees` touching workflow files answers `404 Not Found`
 *   (gr2m/octokit-plugin-create-pull-request#104, octokit/rest.js#368, wadackel/files-sync-action#201,
 *   github/docs#4770), and so does putting a ref on a commit whose workflow files differ (cli/cli#9773:
 *   a release on such a commit 404s until the token has `workflow`). GitHub's docs do not spell this out;
 *   the exact comparison base for a new ref (here: its merge base with the default branch) is unverified.
 */
import { EMPTY_TREE, readCommit, resolveCommit, resolveRef, runGit } from './git.js';
import { type Caller, grants, type RepoRecord } from './state.js';

export const WORKFLOWS_DIR = '.github/workflows';

/** Whether the token may touch `.github/workflows/`. A user token with neither scopes nor permissions may. */
export function mayWriteWorkflows(caller: Caller): boolean {
  if (caller.kind === 'installation') return grants(caller.permissions ?? {}, 'workflows', 'write');
  if (caller.scopes) return caller.scopes.includes('workflow');
  if (caller.permissions) return grants(caller.permissions, 'workflows', 'write');
  return caller.kind === 'user';
}

/** The `! [remote rejected]` reason GitHub gives a push that touches `path` without the permission. */
export function workflowRefusal(caller: Caller, path: string): string {
  if (caller.kind === 'installation') {
    return `refusing to allow a GitHub App to create or update workflow \`${path}\` without \`workflows\` permission`;
  }
  // (unverified) a fine-grained token's wording; classic PAT and OAuth App wordings are as seen in the wild.
  const who = caller.oauthApp ? 'an OAuth App' : 'a Personal Access Token';
  return `refusing to allow ${who} to create or update workflow \`${path}\` without \`workflow\` scope`;
}

/** Paths under `.github/workflows/` that differ between two tree-ishes (`undefined` = the empty tree). */
export async function changedWorkflowPaths(
  gitDir: string,
  from: string | undefined,
  to: string,
  env?: Record<string, string | undefined>,
): Promise<string[]> {
  const args = ['diff-tree', '-r', '-z', '--no-renames', '--name-only', from ?? EMPTY_TREE, to, '--', WORKFLOWS_DIR];
  const result = await runGit(args, { gitDir, env: { GIT_LITERAL_PATHSPECS: '1', ...env } });
  return result.stdout.toString('utf8').split('\0').filter(Boolean);
}

/**
 * What a ref update is compared against: the ref's current commit; for a new ref, its merge base with
 * the default branch, else the commit's first parent, else nothing (every workflow file is new).
 */
async function comparisonBase(
  repo: RepoRecord,
  current: string | undefined,
  commit: string,
  env?: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (current) return (await resolveCommit(repo.gitDir, current)) ?? current;
  const head = await resolveRef(repo.gitDir, `refs/heads/${repo.defaultBranch}`);
  if (head) {
    const base = await runGit(['merge-base', head, commit], { gitDir: repo.gitDir, env, allowFail: true });
    const sha = base.stdout.toString('utf8').trim();
    if (base.code === 0 && sha) return sha;
  }
  return (await readCommit(repo.gitDir, commit))?.parents[0];
}

/**
 * The workflow files a ref update from `current` (absent for a new ref) to `target` would add, change
 * or delete; empty when the target is not a commit.
 */
export async function workflowChangesOfRefUpdate(
  repo: RepoRecord,
  current: string | undefined,
  target: string,
  env?: Record<string, string | undefined>,
): Promise<string[]> {
  const commit = await resolveCommit(repo.gitDir, target);
  if (!commit) return [];
  const base = await comparisonBase(repo, current, commit, env);
  return changedWorkflowPaths(repo.gitDir, base, commit, env);
}
