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

/** A repository handed over to a sandbox as a `git bundle` (see github/mirror.ts): no credential travels. */
export interface Handover {
  /** owner/name */
  repo: string;
  bundle: Uint8Array;
  /** The thread's branch is in the bundle (it was published before). */
  hasBranch: boolean;
  /** What `origin` is called in the sandbox: the repo's URL, without any credential. */
  remoteUrl: string;
  baseBranch: string;
  branch: string;
  signal?: AbortSignal;
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
 * Receives the repository in a fresh sandbox: the bundle is uploaded through the file API, cloned
 * (its branches become `origin/*`), `origin` is pointed at the repo's URL without a credential, and
 * the thread's branch is checked out: the published one when the bundle has it, else a new one from
 * the base branch. Only ever into a sandbox nothing has run in: a used sandbox is replaced instead.
 */
export async function receiveRepository(sandbox: Sandbox, handover: Handover): Promise<string> {
  const root = repoDirectory(sandbox, handover.repo);
  const bundle = `${sandbox.home}/.ai-dev-handover-${Date.now()}.bundle`.replace(/\/+/g, '/');
  await sandbox.writeFiles([{ path: bundle, data: handover.bundle }]);
  const checkout = handover.hasBranch
    ? `git checkout -q -B ${shellQuote(handover.branch)} ${shellQuote(`origin/${handover.branch}`)}`
    : `git checkout -q -b ${shellQuote(handover.branch)}`;
  const received = await run(
    sandbox,
    [
      `git clone --quiet --no-tags --branch ${shellQuote(handover.baseBranch)} ${shellQuote(bundle)} ${shellQuote(root)}`,
      `cd ${shellQuote(root)}`,
      `git remote set-url origin ${shellQuote(handover.remoteUrl)}`,
      checkout,
      `git config user.name ${shellQuote(BOT_GIT_NAME)}`,
      `git config user.email ${shellQuote(BOT_GIT_EMAIL)}`,
    ].join(' && '),
    { signal: handover.signal },
  );
  await run(sandbox, `rm -f ${shellQuote(bundle)}`, { signal: handover.signal }).catch(() => undefined);
  if (received.exitCode !== 0) {
    throw new SandboxError(
      'clone_failed',
      `Could not unpack ${handover.repo} in the sandbox: ${shortError(received.stderr)}`,
      {
        endsRun: true,
        userMessage: `I could not set up ${handover.repo} in the sandbox (${shortError(received.stderr, 1)}).`,
      },
    );
  }
  return root;
}

/**
 * Whether a reconnected sandbox still holds the repo on the thread's branch (switching back to it if
 * the model left it elsewhere). `missing` is a definite answer; a failure to ask throws, so that a
 * passing hiccup is retried rather than taken for a lost checkout.
 */
export async function inspectWorkspace(sandbox: Sandbox, repo: string, branch: string): Promise<string | 'missing'> {
  const root = repoDirectory(sandbox, repo);
  const head = await run(sandbox, `cd ${shellQuote(root)} 2>/dev/null || exit 3; git rev-parse --abbrev-ref HEAD`, {});
  if (head.exitCode !== 0) return 'missing';
  if (head.stdout.trim() !== branch) {
    const back = await run(sandbox, `git checkout -q ${shellQuote(branch)}`, { cwd: root });
    if (back.exitCode !== 0) return 'missing';
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
