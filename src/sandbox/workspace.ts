import { throwIfAborted } from '../lib/errors.js';
import { shellQuote } from '../lib/shell.js';
import { lastLines } from '../lib/trim-output.js';
import { BOT_GIT_EMAIL, BOT_GIT_ENV, BOT_GIT_NAME } from './git-identity.js';
import type { ExecResult, Sandbox } from './sandbox.js';
import { SandboxError } from './sandbox.js';

/** A repo checked out on the thread's branch inside a live sandbox. */
export interface Workspace {
  repo: string;
  sandbox: Sandbox;
  /** Absolute path of the repo root inside the sandbox. */
  root: string;
  branch: string;
  baseBranch: string;
}

/** What a git operation in a workspace may use: a stop, and the longest a git command may take. */
export interface GitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface CloneRequest {
  /** owner/name */
  repo: string;
  cloneUrl: string;
  /** Read credential for this one clone; never stored in the sandbox. */
  token: string | undefined;
  baseBranch: string;
  branch: string;
  signal?: AbortSignal;
}

export interface ClonedWorkspace {
  root: string;
  /** The thread's branch already existed on GitHub and was checked out from there. */
  resumedFromRemote: boolean;
}

export interface WorkspaceChanges {
  uncommitted: string[];
  head: string;
}

export type CommitOutcome = { kind: 'nothing' } | { kind: 'committed'; sha: string; files: string[] };

const GIT_TIMEOUT_MS = 10 * 60_000;
const COMMIT_TIMEOUT_MS = 120_000;

export const repoDirectory = (sandbox: Sandbox, repo: string) =>
  `${sandbox.home}/${repo.split('/')[1] ?? repo}`.replace(/\/+/g, '/');

/**
 * Clones the repo and checks out the thread's branch: from GitHub when it was published
 * before (a recreated sandbox), else new from the base branch. The token reaches git only
 * through this one process's environment, so nothing is left in .git/config or on disk.
 */
export async function cloneWorkspace(sandbox: Sandbox, request: CloneRequest): Promise<ClonedWorkspace> {
  const root = repoDirectory(sandbox, request.repo);
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0' };
  if (request.token) {
    const basic = Buffer.from(`x-access-token:${request.token}`).toString('base64');
    // Scoped to this repo's URL, so git (or git-lfs following a repo's .lfsconfig) sends it nowhere else.
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${request.cloneUrl}.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  const clone = await run(
    sandbox,
    `rm -rf ${shellQuote(root)} && git clone --no-tags --branch ${shellQuote(request.baseBranch)} ${shellQuote(request.cloneUrl)} ${shellQuote(root)}`,
    { env, signal: request.signal },
  );
  if (clone.exitCode !== 0) {
    throw new SandboxError('clone_failed', `git clone of ${request.repo} failed: ${shortError(clone.stderr)}`, {
      kind: /Could not resolve host|timed out|Connection refused|5\d\d/.test(clone.stderr) ? 'transient' : 'permanent',
      endsRun: true,
      userMessage: `I could not clone ${request.repo} into the sandbox (${shortError(clone.stderr, 1)}).`,
    });
  }
  // The remote branch, if the thread published before; fetched with the same one-off credential.
  const fetched = await run(
    sandbox,
    `git fetch --no-tags origin ${shellQuote(`refs/heads/${request.branch}:refs/remotes/origin/${request.branch}`)}`,
    { cwd: root, env, signal: request.signal },
  );
  const resumedFromRemote = fetched.exitCode === 0;
  const checkout = resumedFromRemote
    ? `git checkout -q -B ${shellQuote(request.branch)} ${shellQuote(`origin/${request.branch}`)}`
    : `git checkout -q -b ${shellQuote(request.branch)}`;
  const setup = await run(
    sandbox,
    `${checkout} && git config user.name ${shellQuote(BOT_GIT_NAME)} && git config user.email ${shellQuote(BOT_GIT_EMAIL)}`,
    { cwd: root, signal: request.signal },
  );
  if (setup.exitCode !== 0) {
    throw new SandboxError('branch_failed', `Could not check out ${request.branch}: ${shortError(setup.stderr)}`);
  }
  return { root, resumedFromRemote };
}

/** The repo is still there on the thread's branch (a reconnected sandbox). */
export async function existingWorkspace(sandbox: Sandbox, repo: string, branch: string): Promise<string | undefined> {
  const root = repoDirectory(sandbox, repo);
  const head = await run(sandbox, 'git rev-parse --abbrev-ref HEAD', { cwd: root }).catch(() => undefined);
  if (head?.exitCode !== 0) return undefined;
  if (head.stdout.trim() !== branch) {
    await run(sandbox, `git checkout -q ${shellQuote(branch)}`, { cwd: root });
  }
  return root;
}

export async function workspaceChanges(sandbox: Sandbox, root: string): Promise<WorkspaceChanges> {
  const status = await run(sandbox, 'git status --porcelain=v1 --untracked-files=all && git rev-parse HEAD', {
    cwd: root,
  });
  const lines = status.stdout.split('\n').filter(Boolean);
  const head = lines.pop() ?? '';
  return { uncommitted: lines.map((l) => l.slice(3)), head };
}

/** The commit the branch started from: where unpublished work begins. */
export async function branchBase(sandbox: Sandbox, root: string, baseBranch: string): Promise<string> {
  const base = await run(sandbox, `git merge-base HEAD ${shellQuote(`origin/${baseBranch}`)}`, { cwd: root });
  return base.stdout.trim();
}

/**
 * Commits everything on the thread's branch as the bot; refuses on any other branch, whose
 * commits would never be published. Hooks are skipped (they need tools the sandbox may lack, and
 * the pull request's CI checks the same things) and nothing is signed.
 */
export async function commitAll(
  workspace: Workspace,
  message: string,
  options: GitOptions = {},
): Promise<CommitOutcome> {
  if (message.trim() === '') {
    throw new SandboxError('empty_commit_message', 'The commit message is empty; say what the change does.');
  }
  await ensureOnBranch(workspace, options);
  const staged = await git(workspace, 'git add -A && git diff --cached --name-status --no-renames', options);
  const files = staged.stdout.split('\n').filter((line) => line.trim() !== '');
  if (files.length === 0) return { kind: 'nothing' };
  const committed = await git(
    workspace,
    'git -c commit.gpgsign=false commit --quiet --no-verify -m "$AI_DEV_COMMIT_MESSAGE" && git rev-parse --short HEAD',
    options,
    { AI_DEV_COMMIT_MESSAGE: message },
  );
  return { kind: 'committed', sha: committed.stdout.trim(), files };
}

/** Refuses (with what to do) when the repo is not on the thread's branch. */
export async function ensureOnBranch(workspace: Workspace, options: GitOptions = {}): Promise<void> {
  const head = await workspace.sandbox.exec('git symbolic-ref --quiet --short HEAD', {
    cwd: workspace.root,
    timeoutMs: options.timeoutMs ?? COMMIT_TIMEOUT_MS,
    signal: options.signal,
  });
  if (head.exitCode !== 0 && head.exitCode !== 1) {
    throw new SandboxError('git_failed', `git failed: ${gitMessage(head)}`);
  }
  const current = head.exitCode === 0 ? head.stdout.trim() : undefined;
  if (current === workspace.branch) return;
  throw new SandboxError(
    'not_on_branch',
    `The repo is on ${current === undefined ? 'a detached HEAD' : `branch ${current}`}, not on this thread's branch ` +
      `${workspace.branch}; only that branch is published. Run \`git checkout ${workspace.branch}\` with run_command ` +
      '(bring your changes along, e.g. with git stash or cherry-pick) and try again.',
  );
}

/** Starts a new branch at the current commit and moves the workspace onto it. */
export async function startBranch(workspace: Workspace, branch: string, options: GitOptions = {}): Promise<void> {
  await git(workspace, `git checkout -q -b ${shellQuote(branch)}`, options);
  workspace.branch = branch;
}

async function git(
  workspace: Workspace,
  command: string,
  options: GitOptions,
  env: Record<string, string> = {},
): Promise<ExecResult> {
  throwIfAborted(options.signal);
  const result = await workspace.sandbox.exec(command, {
    cwd: workspace.root,
    timeoutMs: options.timeoutMs ?? COMMIT_TIMEOUT_MS,
    signal: options.signal,
    env: { ...BOT_GIT_ENV, ...env },
  });
  if (result.timedOut) {
    throw new SandboxError('git_failed', `git timed out: ${command.split(' ').slice(0, 3).join(' ')}`);
  }
  if (result.exitCode !== 0) throw new SandboxError('git_failed', `git failed: ${gitMessage(result)}`);
  return result;
}

function run(
  sandbox: Sandbox,
  command: string,
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal },
): Promise<ExecResult> {
  return sandbox.exec(command, { timeoutMs: GIT_TIMEOUT_MS, ...options });
}

function gitMessage(result: ExecResult): string {
  const text = `${result.stderr}\n${result.stdout}`.trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text || `exit code ${result.exitCode}`;
}

/** The last lines of git's complaint, on one line, for an error message. */
function shortError(stderr: string, count = 3): string {
  return lastLines(stderr, count, 300)
    .replace(/^… \(\d+ earlier lines\)\n/, '')
    .split('\n')
    .join(' ')
    .slice(0, 300);
}
