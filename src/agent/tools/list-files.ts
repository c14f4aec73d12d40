import { z } from 'zod';
import { trimOutput } from '../../lib/trim-output.js';
import type { DirectoryEntry } from '../../sandbox/sandbox.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { fileError } from './kit/files.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';

const MAX_ENTRIES = 500;

export const listFiles = defineTool({
  name: 'list_files',
  description:
    'List the entries of one directory of the repo (not recursive). Directories end with "/", symlinks with "@". ' +
    `Sorted by name; .git is hidden; at most ${MAX_ENTRIES} entries. Use "." for the repo root.`,
  parameters: z.object({
    path: z.string().describe('Directory relative to the repo root, e.g. "." or "src/lib"'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Listing ${args.path || '.'}`, args.repo),
  run: async (args, context) => {
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path);
    let entries: DirectoryEntry[];
    try {
      entries = await workspace.sandbox.listDirectory(path.absolute);
    } catch (error) {
      throw fileError(error, path, 'list');
    }
    const names = entries
      .filter((entry) => entry.name !== '.git')
      .map(displayName)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const action = { kind: 'files-listed', path: path.relative, count: names.length } as const;
    if (names.length === 0) return { output: `${path.relative}/ is empty.`, action };
    const shown = names.slice(0, MAX_ENTRIES);
    const more =
      names.length > shown.length
        ? `\n… and ${names.length - shown.length} more entries (only the first ${MAX_ENTRIES} are listed; use run_command with find or ls for the rest).`
        : '';
    const header = `${path.relative}/ (${names.length} ${names.length === 1 ? 'entry' : 'entries'}):\n`;
    return { output: trimOutput(`${header}${shown.join('\n')}${more}`, context.limits.outputMaxChars), action };
  },
});

function displayName(entry: DirectoryEntry): string {
  if (entry.type === 'directory') return `${entry.name}/`;
  if (entry.type === 'symlink') return `${entry.name}@`;
  return entry.name;
}
