import { commit } from './commit.js';
import { createDirectory } from './create-directory.js';
import { editFile } from './edit-file.js';
import type { Tool } from './kit/define-tool.js';
import { listFiles } from './list-files.js';
import { makePullRequest } from './make-pull-request.js';
import { readFile } from './read-file.js';
import { runCommand } from './run-command.js';
import { saveContentToFile } from './save-content-to-file.js';
import { searchCode } from './search-code.js';

/** The model's tools, in the order of the spec (section 3); the names are fixed by it. */
export const allTools: Tool[] = [
  listFiles,
  readFile,
  saveContentToFile,
  createDirectory,
  editFile,
  searchCode,
  runCommand,
  commit,
  makePullRequest,
];

export const toolsByName: ReadonlyMap<string, Tool> = new Map(allTools.map((tool) => [tool.name, tool]));
