import { z } from 'zod';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { fileError } from './kit/files.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';

export const createDirectory = defineTool({
  name: 'create_directory',
  description:
    'Create a directory in the repo, with any missing parents; fine if it already exists. ' +
    'Git does not track empty directories, so put a file in it if it must reach the pull request. ' +
    'save_content_to_file already creates parent directories, so this is rarely needed.',
  parameters: z.object({
    path: z.string().describe('Directory path relative to the repo root'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Creating directory ${args.path}`, args.repo),
  run: async (args, context) => {
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path, { write: true });
    let created: boolean;
    try {
      created = await workspace.sandbox.makeDirectory(path.absolute);
    } catch (error) {
      throw fileError(error, path, 'mkdir');
    }
    return {
      output: created ? `Created directory ${path.relative}/.` : `Directory ${path.relative}/ already exists.`,
      action: { kind: 'directory-created', path: path.relative, existed: !created },
    };
  },
});
