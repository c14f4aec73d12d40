import { z } from 'zod';
import { countLineChanges, splitLines } from '../../lib/line-diff.js';
import { trimOutput } from '../../lib/trim-output.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { checkWriteSize, fileError, readText } from './kit/files.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';
import { ToolError } from './kit/tool-error.js';

/** The edited region is echoed back with this much context, unless it is longer than EXCERPT_MAX_LINES. */
const EXCERPT_CONTEXT_LINES = 2;
const EXCERPT_MAX_LINES = 40;
const HINT_MAX_PLACES = 3;
const HINT_MAX_LINES = 20;
const LINE_MAX_CHARS = 300;

export const editFile = defineTool({
  name: 'edit_file',
  description:
    'Replace one exact occurrence of old_text with new_text in a text file of the repo. old_text must match the ' +
    'file exactly once, including indentation and whitespace (without the "  12| " prefixes read_file shows); ' +
    'include a few surrounding lines to make it unique. Fails, saying why, when it matches 0 or several times. ' +
    'Use save_content_to_file to create a file or rewrite most of one.',
  parameters: z.object({
    path: z.string().describe('File path relative to the repo root'),
    old_text: z.string().describe('The exact text to replace; must occur exactly once'),
    new_text: z.string().describe('The replacement text (may be empty to delete old_text)'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Editing ${args.path}`, args.repo),
  run: async (args, context) => {
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path, { write: true });
    const before = await readText(workspace, path);
    const edit = planEdit(before, args.old_text, args.new_text, path.relative);
    checkWriteSize(path, edit.after);
    try {
      await workspace.sandbox.writeFiles([{ path: path.absolute, data: edit.after }]);
    } catch (error) {
      throw fileError(error, path, 'write');
    }
    const { added, removed } = countLineChanges(before, edit.after);
    return {
      output: trimOutput(describeEdit(path.relative, before, edit, added, removed), context.limits.outputMaxChars),
      action: { kind: 'file-edited', path: path.relative, added, removed },
    };
  },
});

interface PlannedEdit {
  after: string;
  index: number;
  oldText: string;
  newText: string;
}

/** Finds the one place to edit, or explains why there is none, in words the model can act on. */
export function planEdit(text: string, oldText: string, newText: string, name: string): PlannedEdit {
  if (oldText === '') {
    throw new ToolError('old_text is empty; give the exact text to replace (use save_content_to_file for new files).');
  }
  if (oldText === newText) throw new ToolError('old_text and new_text are the same, so there is nothing to change.');
  let places = findAll(text, oldText);
  let used = { oldText, newText };
  // A CRLF file edited with text copied from read_file (which shows lines without \r).
  if (places.length === 0 && text.includes('\r\n') && !oldText.includes('\r')) {
    used = { oldText: toCrlf(oldText), newText: toCrlf(newText) };
    places = findAll(text, used.oldText);
  }
  const [index] = places;
  if (index === undefined) throw new ToolError(notFoundMessage(text, oldText, name));
  if (places.length > 1) {
    const lines = places.slice(0, 10).map((at) => lineOf(text, at));
    throw new ToolError(
      `old_text matches ${places.length} times in ${name} (at lines ${lines.join(', ')}${places.length > 10 ? ', …' : ''}); ` +
        'include more surrounding lines so it matches exactly once.',
    );
  }
  const after = text.slice(0, index) + used.newText + text.slice(index + used.oldText.length);
  return { after, index, ...used };
}

/** Every start position, overlapping ones included: "aa" is ambiguous in "aaa". */
function findAll(text: string, needle: string): number[] {
  const places: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) places.push(at);
  return places;
}

function toCrlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

function notFoundMessage(text: string, oldText: string, name: string): string {
  const fileLines = text.split('\n').map((line) => line.replace(/\r$/, ''));
  const wanted = trimBlankEnds(oldText.split('\n').map((line) => line.replace(/\r$/, '')));
  if (wanted.length > 0 && wanted.every((line) => /^\s*\d+\| /.test(line))) {
    return `old_text was not found in ${name}: it seems to include the "  12| " line-number prefixes that read_file shows; leave them out.`;
  }
  const loose = looseMatches(fileLines, wanted);
  const [first] = loose;
  if (first !== undefined) {
    const shown = fileLines
      .slice(first, first + Math.min(wanted.length, HINT_MAX_LINES))
      .map((line, i) => `${first + i + 1}| ${cutLine(line)}`);
    const where = loose.map((at) => at + 1).join(', ');
    return (
      `old_text was not found exactly in ${name}, but it matches when whitespace is ignored, starting at line ${where}. ` +
      `The file has there:\n${shown.join('\n')}\nCopy it exactly (indentation, tabs or spaces, trailing spaces) and try again.`
    );
  }
  const firstWanted = wanted.find((line) => line.trim() !== '')?.trim();
  const near = firstWanted ? findLines(fileLines, (line) => line.includes(firstWanted)) : [];
  if (near.length > 0) {
    return (
      `old_text was not found in ${name}. Its first line appears at line ${near.map((at) => at + 1).join(', ')}, ` +
      'so it differs further down; read_file around there and copy the current text exactly.'
    );
  }
  return `old_text was not found in ${name}; read_file it to see its current content.`;
}

/** Where the wanted lines occur when runs of whitespace are ignored. */
function looseMatches(fileLines: string[], wanted: string[]): number[] {
  if (wanted.length === 0) return [];
  const squash = (line: string) => line.trim().replace(/\s+/g, ' ');
  const target = wanted.map(squash);
  const squashed = fileLines.map(squash);
  const places: number[] = [];
  for (let start = 0; start + target.length <= squashed.length && places.length < HINT_MAX_PLACES; start++) {
    if (target.every((line, i) => squashed[start + i] === line)) places.push(start);
  }
  return places;
}

function findLines(lines: string[], test: (line: string) => boolean): number[] {
  const places: number[] = [];
  for (let i = 0; i < lines.length && places.length < HINT_MAX_PLACES; i++) {
    if (test(lines[i] ?? '')) places.push(i);
  }
  return places;
}

function trimBlankEnds(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]?.trim() === '') start++;
  while (end > start && lines[end - 1]?.trim() === '') end--;
  return lines.slice(start, end);
}

/** Says what changed and shows the new lines with a little context, so the model need not read the file again. */
function describeEdit(name: string, before: string, edit: PlannedEdit, added: number, removed: number): string {
  const firstLine = lineOf(before, edit.index);
  const oldCount = splitLines(edit.oldText).length;
  const newCount = splitLines(edit.newText).length;
  const summary = `Edited ${name}: replaced ${oldCount} line${oldCount === 1 ? '' : 's'} at line ${firstLine} with ${newCount} (+${added} −${removed}).`;
  if (newCount > EXCERPT_MAX_LINES) return summary;
  const lines = splitLines(edit.after);
  const from = Math.max(1, firstLine - EXCERPT_CONTEXT_LINES);
  const to = Math.min(lines.length, firstLine + Math.max(newCount, 1) - 1 + EXCERPT_CONTEXT_LINES);
  const width = Math.max(4, String(to).length);
  const excerpt = lines
    .slice(from - 1, to)
    .map((line, i) => `${String(from + i).padStart(width)}| ${cutLine(line.replace(/\r$/, ''))}`);
  return `${summary}\nLines ${from}-${to} now read:\n${excerpt.join('\n')}`;
}

function cutLine(line: string): string {
  return line.length > LINE_MAX_CHARS ? `${line.slice(0, LINE_MAX_CHARS)}…` : line;
}
