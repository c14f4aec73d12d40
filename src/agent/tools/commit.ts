import { z } from 'zod';
import { throwIfAborted } from '../../lib/errors.js';
import { commitAll } from '../../sandbox/workspace.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { gitOptions } from './kit/git-options.js';
import { summaryLine } from './kit/summary-line.js';

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
  run: async (args, context) => {
    throwIfAborted(context.signal);
    const workspace = await context.workspace(args.repo);
    const outcome = await commitAll(workspace, args.message, gitOptions(context));
    if (outcome.kind === 'nothing') {
      return { output: `Nothing to commit: the working tree of ${workspace.branch} has no changes.` };
    }
    return {
      output: describeCommit(workspace.branch, outcome),
      action: { kind: 'commit', sha: outcome.sha, message: subjectOf(args.message), files: outcome.files.length },
    };
  },
});

function describeCommit(branch: string, outcome: { sha: string; files: string[] }): string {
  const count = outcome.files.length;
  const shown = outcome.files.slice(0, FILES_SHOWN);
  const more = count > shown.length ? `\n… and ${count - shown.length} more` : '';
  return `Committed ${outcome.sha} on ${branch}: ${count} ${count === 1 ? 'file' : 'files'} changed\n${shown.join('\n')}${more}`;
}

function subjectOf(message: string): string {
  return message.trim().split('\n')[0] ?? '';
}
