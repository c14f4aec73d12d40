import type { ExecResult, Sandbox } from './sandbox.js';
import { SandboxError } from './sandbox.js';

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

const GIT_TIMEOUT_MS = 10 * 60_000;

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
    `rm -rf ${quote(root)} && git clone --no-tags --branch ${quote(request.baseBranch)} ${quote(request.cloneUrl)} ${quote(root)}`,
    { env, signal: request.signal },
  );
  if (clone.exitCode !== 0) {
    throw new SandboxError('clone_failed', `git clone of ${request.repo} failed: ${lastLines(clone.stderr)}`, {
      kind: /Could not resolve host|timed out|Connection refused|5\d\d/.test(clone.stderr) ? 'transient' : 'permanent',
      userMessage: `I could not clone ${request.repo} into the sandbox (${lastLines(clone.stderr, 1)}).`,
    });
  }
  // The remote branch, if the thread published before; fetched with the same one-off credential.
  const fetched = await run(
    sandbox,
    `git fetch --no-tags origin ${quote(`refs/heads/${request.branch}:refs/remotes/origin/${request.branch}`)}`,
    { cwd: root, env, signal: request.signal },
  );
  const resumedFromRemote = fetched.exitCode === 0;
  const checkout = resumedFromRemote
    ? `git checkout -q -B ${quote(request.branch)} ${quote(`origin/${request.branch}`)}`
    : `git checkout -q -b ${quote(request.branch)}`;
  const setup = await run(
    sandbox,
    `${checkout} && git config user.name ai-dev && git config user.email ai-dev@users.noreply.github.com`,
    { cwd: root, signal: request.signal },
  );
  if (setup.exitCode !== 0) {
    throw new SandboxError('branch_failed', `Could not check out ${request.branch}: ${lastLines(setup.stderr)}`);
  }
  return { root, resumedFromRemote };
}

/** The repo is still there on the thread's branch (a reconnected sandbox). */
export async function existingWorkspace(sandbox: Sandbox, repo: string, branch: string): Promise<string | undefined> {
  const root = repoDirectory(sandbox, repo);
  const head = await run(sandbox, 'git rev-parse --abbrev-ref HEAD', { cwd: root }).catch(() => undefined);
  if (head?.exitCode !== 0) return undefined;
  if (head.stdout.trim() !== branch) {
    await run(sandbox, `git checkout -q ${quote(branch)}`, { cwd: root });
  }
  return root;
}

export interface WorkspaceChanges {
  uncommitted: string[];
  head: string;
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
  const base = await run(sandbox, `git merge-base HEAD ${quote(`origin/${baseBranch}`)}`, { cwd: root });
  return base.stdout.trim();
}

function run(
  sandbox: Sandbox,
  command: string,
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal },
): Promise<ExecResult> {
  return sandbox.exec(command, { timeoutMs: GIT_TIMEOUT_MS, ...options });
}

export function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' ').slice(0, 300);
}
