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
import { updatePlan } from './update-plan.js';

/**
 * The model's tools: the nine of the spec (section 3), in its order and with its names, then the ones added since
 * (update_plan, issue 12: the model's checklist for the run's status card).
 */
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
  updatePlan,
];

export const toolsByName: ReadonlyMap<string, Tool> = new Map(allTools.map((tool) => [tool.name, tool]));
