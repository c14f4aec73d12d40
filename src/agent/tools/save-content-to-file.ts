import { z } from 'zod';
import { countLineChanges, splitLines } from '../../lib/line-diff.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { checkWriteSize, decodeText, fileError, readIfExists } from './kit/files.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';

export const saveContentToFile = defineTool({
  name: 'save_content_to_file',
  description:
    'Write a whole file of the repo, replacing it if it exists and creating missing parent directories. ' +
    'The content is written exactly as given, as UTF-8 (no newline is added at the end; include one if the file ' +
    'should end with it). For a small change to an existing file, edit_file is cheaper.',
  parameters: z.object({
    path: z.string().describe('File path relative to the repo root'),
    content: z.string().describe('The complete new content of the file'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Writing ${args.path}`, args.repo),
  run: async (args, context) => {
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path, { write: true });
    checkWriteSize(path, args.content);
    const found = await readIfExists(workspace, path);
    // A file too big to read is replaced all the same; its lines are simply not compared.
    const old = found === 'too-large' ? new Uint8Array() : found;
    try {
      await workspace.sandbox.writeFiles([{ path: path.absolute, data: args.content }]);
    } catch (error) {
      throw fileError(error, path, 'write');
    }
    const bytes = Buffer.byteLength(args.content, 'utf8');
    // A binary file replaced by text has no lines to compare; count only what was written.
    const oldText = old === undefined ? '' : (decodeText(old) ?? '');
    const { added, removed } = countLineChanges(oldText, args.content);
    const created = old === undefined;
    const detail = created
      ? `new file, ${splitLines(args.content).length} lines`
      : `replaced the previous content: +${added} −${removed} lines`;
    return {
      output: `Wrote ${bytes} bytes to ${path.relative} (${detail}).`,
      action: { kind: 'file-written', path: path.relative, bytes, added, removed, created },
    };
  },
});
