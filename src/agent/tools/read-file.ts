import { z } from 'zod';
import { splitLines } from '../../lib/line-diff.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { readText } from './kit/files.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';
import { ToolError } from './kit/tool-error.js';

const WINDOW_LINES = 300;
/** Room kept for the header and the "more lines" note around the numbered lines. */
const FRAME_CHARS = 300;

export const readFile = defineTool({
  name: 'read_file',
  description:
    'Read a UTF-8 text file of the repo as numbered lines ("  12| text"; the number and "| " are not part of the file). ' +
    `Shows at most ${WINDOW_LINES} lines per call (fewer if they are long) and says which lines were shown and how ` +
    'many there are; ask for the next window with start_line. Binary files are refused.',
  parameters: z.object({
    path: z.string().describe('File path relative to the repo root'),
    start_line: z.int().min(1).nullish().describe('First line to show, 1-based; default 1'),
    end_line: z
      .int()
      .min(1)
      .nullish()
      .describe(`Last line to show, inclusive; default start_line + ${WINDOW_LINES - 1}`),
    repo: repoArgument,
  }),
  summarize: (args) =>
    summaryLine(`Reading ${args.path}${args.start_line || args.end_line ? ` ${lineRange(args)}` : ''}`, args.repo),
  run: async (args, context) => {
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path);
    const text = await readText(workspace, path);
    const lines = splitLines(text);
    const total = lines.length;
    if (total === 0) {
      return {
        output: `${path.relative} is empty (0 lines).`,
        action: { kind: 'file-read', path: path.relative, lines: '0' },
      };
    }
    const start = args.start_line ?? 1;
    if (start > total) throw new ToolError(`start_line ${start} is past the end: ${path.relative} has ${total} lines.`);
    const end = Math.min(args.end_line ?? start + WINDOW_LINES - 1, total);
    if (end < start) throw new ToolError(`end_line ${end} is before start_line ${start}.`);
    const crlf = text.includes('\r\n');
    const shown = numberLines(lines, start, end, Math.max(200, context.limits.outputMaxChars - FRAME_CHARS), crlf);
    const header =
      start === 1 && shown.last === total
        ? `${path.relative} (${total} lines${crlf ? ', CRLF line endings' : ''}):`
        : `${path.relative}: lines ${start}-${shown.last} of ${total}${crlf ? ' (CRLF line endings)' : ''}:`;
    const footer =
      shown.last < total
        ? `\n[lines ${shown.last + 1}-${total} not shown; call read_file with start_line=${shown.last + 1} for more]`
        : '';
    return {
      output: `${header}\n${shown.text}${footer}`,
      action: { kind: 'file-read', path: path.relative, lines: `${start}-${shown.last}` },
    };
  },
});

/**
 * Numbers lines from `start` to `end`, stopping early when the budget is spent. A single line
 * longer than the whole budget (minified code) is cut so the window always shows something.
 */
function numberLines(
  lines: string[],
  start: number,
  end: number,
  budget: number,
  crlf: boolean,
): { text: string; last: number } {
  const width = Math.max(4, String(end).length);
  const out: string[] = [];
  let used = 0;
  let last = start - 1;
  for (let number = start; number <= end; number++) {
    const raw = lines[number - 1] ?? '';
    // Shown without the \r so it reads cleanly; the header says the file uses CRLF.
    const line = `${String(number).padStart(width)}| ${crlf ? raw.replace(/\r$/, '') : raw}`;
    if (used + line.length + 1 > budget) {
      if (out.length > 0) break;
      out.push(`${line.slice(0, Math.max(0, budget))}… [line cut: ${line.length - budget} more chars]`);
      last = number;
      break;
    }
    out.push(line);
    used += line.length + 1;
    last = number;
  }
  return { text: out.join('\n'), last };
}

function lineRange(args: { start_line?: number | null; end_line?: number | null }): string {
  const start = args.start_line ?? 1;
  return args.end_line ? `(lines ${start}-${args.end_line})` : `(from line ${start})`;
}
