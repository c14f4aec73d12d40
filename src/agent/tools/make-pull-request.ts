import { z } from 'zod';
import { throwIfAborted } from '../../lib/errors.js';
import { commitAll } from '../../sandbox/workspace.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { gitOptions } from './kit/git-options.js';
import { summaryLine } from './kit/summary-line.js';
import { ToolError } from './kit/tool-error.js';

export const makePullRequest = defineTool({
  name: 'make_pull_request',
  description:
    "Publish the thread's branch to GitHub and open its pull request, or update it (title and body) if this thread " +
    'already has one; returns the URL. Uncommitted changes are committed first, with the title as the message. ' +
    'Call it when the work is done and checked; calling it again after more commits updates the same pull request.',
  parameters: z.object({
    title: z.string().describe('Pull request title: short, imperative, says what changes'),
    body: z.string().describe('Pull request description in Markdown: what changed, why, and how it was checked'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Publishing pull request: ${args.title}`, args.repo),
  run: async (args, context) => {
    throwIfAborted(context.signal);
    if (args.title.trim() === '') throw new ToolError('The title is empty; give the pull request a short title.');
    const workspace = await context.workspace(args.repo);
    // Checks the branch too, so nothing is published from a branch the thread does not own.
    const leftovers = await commitAll(workspace, args.title, gitOptions(context));
    throwIfAborted(context.signal);
    const pr = await context.publish(workspace, { title: args.title.trim(), body: args.body });
    const lines = [
      `${pr.created ? 'Opened' : 'Updated'} pull request #${pr.number}: ${pr.url}`,
      `Branch ${pr.branch} into ${workspace.baseBranch}.`,
    ];
    if (leftovers.kind === 'committed') {
      const count = leftovers.files.length;
      lines.push(
        `Uncommitted changes were committed first as ${leftovers.sha} (${count} ${count === 1 ? 'file' : 'files'}), ` +
          'with the title as message.',
      );
    }
    return {
      output: lines.join('\n'),
      action: { kind: 'pull-request', url: pr.url, number: pr.number, created: pr.created, branch: pr.branch },
    };
  },
});
