import { z } from 'zod';
import type { ExecResult } from '../../sandbox/sandbox.js';
import { defineTool, repoArgument } from './define-tool.js';
import { BOT_GIT_ENV } from './git-identity.js';
import { summaryLine } from './summary-line.js';
import type { ToolContext, Workspace } from './tool-context.js';
import { reportingFailures, ToolError, throwIfStopped } from './tool-failure.js';

const GIT_TIMEOUT_SECONDS = 120;
const FILES_SHOWN = 50;

export const commit = defineTool({
  name: 'commit',
  description:
    "Stage every change in the repo (git add -A, respecting .gitignore) and commit it on the thread's branch in " +
    'the sandbox, as the bot. Returns the short sha and the files changed; says so when there is nothing to commit. ' +
    'Nothing reaches GitHub until make_pull_request.',
  parameters: z.object({
    message: z.string().describe('The commit message: a short subject line, then optionally a blank line and a body'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Committing: ${args.message}`, args.repo),
  run: reportingFailures(async (args, context) => {
    throwIfStopped(context.signal);
    const workspace = await context.workspace(args.repo);
    const outcome = await commitAll(workspace, context, args.message);
    if (outcome.kind === 'nothing') {
      return { output: `Nothing to commit: the working tree of ${workspace.branch} has no changes.` };
    }
    return {
      output: describeCommit(workspace.branch, outcome),
      action: { kind: 'commit', sha: outcome.sha, message: subjectOf(args.message), files: outcome.files.length },
    };
  }),
});

export type CommitOutcome = { kind: 'nothing' } | { kind: 'committed'; sha: string; files: string[] };

/** Commits everything on the thread's branch; refuses on any other branch, whose commits would never be published. */
export async function commitAll(workspace: Workspace, context: ToolContext, message: string): Promise<CommitOutcome> {
  if (message.trim() === '') throw new ToolError('The commit message is empty; say what the change does.');
  await ensureOnThreadBranch(workspace, context);
  const staged = await git(workspace, context, 'git add -A && git diff --cached --name-status --no-renames');
  const files = staged.stdout.split('\n').filter((line) => line.trim() !== '');
  if (files.length === 0) return { kind: 'nothing' };
  // Hooks are skipped: they need tools the sandbox may lack, and the pull request's CI checks the same things.
  const committed = await git(
    workspace,
    context,
    'git -c commit.gpgsign=false commit --quiet --no-verify -m "$AI_DEV_COMMIT_MESSAGE" && git rev-parse --short HEAD',
    { AI_DEV_COMMIT_MESSAGE: message },
  );
  return { kind: 'committed', sha: committed.stdout.trim(), files };
}

export async function ensureOnThreadBranch(workspace: Workspace, context: ToolContext): Promise<void> {
  const head = await workspace.sandbox.exec('git symbolic-ref --quiet --short HEAD', {
    cwd: workspace.root,
    timeoutMs: gitTimeoutMs(context),
    signal: context.signal,
  });
  if (head.exitCode !== 0 && head.exitCode !== 1) throw new ToolError(`git failed: ${gitMessage(head)}`);
  const current = head.exitCode === 0 ? head.stdout.trim() : undefined;
  if (current === workspace.branch) return;
  throw new ToolError(
    `The repo is on ${current === undefined ? 'a detached HEAD' : `branch ${current}`}, not on this thread's branch ` +
      `${workspace.branch}; only that branch is published. Run \`git checkout ${workspace.branch}\` with run_command ` +
      '(bring your changes along, e.g. with git stash or cherry-pick) and try again.',
  );
}

async function git(
  workspace: Workspace,
  context: ToolContext,
  command: string,
  env: Record<string, string> = {},
): Promise<ExecResult> {
  throwIfStopped(context.signal);
  const result = await workspace.sandbox.exec(command, {
    cwd: workspace.root,
    timeoutMs: gitTimeoutMs(context),
    signal: context.signal,
    env: { ...BOT_GIT_ENV, ...env },
  });
  if (result.timedOut) throw new ToolError(`git timed out: ${command.split(' ').slice(0, 3).join(' ')}`);
  if (result.exitCode !== 0) throw new ToolError(`git failed: ${gitMessage(result)}`);
  return result;
}

function gitTimeoutMs(context: ToolContext): number {
  return Math.min(GIT_TIMEOUT_SECONDS, context.limits.commandTimeoutSeconds) * 1000;
}

function gitMessage(result: ExecResult): string {
  const text = `${result.stderr}\n${result.stdout}`.trim();
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text || `exit code ${result.exitCode}`;
}

function describeCommit(branch: string, outcome: { sha: string; files: string[] }): string {
  const count = outcome.files.length;
  const shown = outcome.files.slice(0, FILES_SHOWN);
  const more = count > shown.length ? `\n… and ${count - shown.length} more` : '';
  return `Committed ${outcome.sha} on ${branch}: ${count} ${count === 1 ? 'file' : 'files'} changed\n${shown.join('\n')}${more}`;
}

function subjectOf(message: string): string {
  return message.trim().split('\n')[0] ?? '';
}
