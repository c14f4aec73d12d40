import { z } from 'zod';
import { throwIfAborted } from '../../lib/errors.js';
import { trimOutput } from '../../lib/trim-output.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { resolveRepoPath } from './kit/repo-path.js';
import { summaryLine } from './kit/summary-line.js';
import { ToolError } from './kit/tool-error.js';

const MAX_MATCHES = 200;
const LINE_MAX_CHARS = 300;
/** Bytes of search output brought back from the sandbox; far more than MAX_MATCHES lines need. */
const MAX_OUTPUT_BYTES = 1_000_000;
const SEARCH_TIMEOUT_SECONDS = 60;
/** The exit status of a search killed by SIGPIPE when `head` has read enough: there was more. */
const CUT_SHORT = 141;

/**
 * ripgrep when the sandbox has it (E2B's base template does not), else GNU grep with PCRE when it
 * was built with it, else extended regular expressions. The pattern and path travel in the
 * environment, so no quoting can go wrong; `--null` ends each file name with a NUL, so a name
 * with a colon still parses.
 */
const SEARCH_SCRIPT = `
search() {
  if command -v rg >/dev/null 2>&1; then
    rg --null --line-number --no-heading --color never --hidden --glob '!.git' --glob '!node_modules' \\
      -e "$AI_DEV_PATTERN" -- "$AI_DEV_PATH"
  elif printf 'x\\n' | grep -qP 'x' 2>/dev/null; then
    grep -rnIP --null --exclude-dir=.git --exclude-dir=node_modules -e "$AI_DEV_PATTERN" -- "$AI_DEV_PATH"
  else
    grep -rnIE --null --exclude-dir=.git --exclude-dir=node_modules -e "$AI_DEV_PATTERN" -- "$AI_DEV_PATH"
  fi
}
search | head -c ${MAX_OUTPUT_BYTES}
exit \${PIPESTATUS[0]}
`;

export const searchCode = defineTool({
  name: 'search_code',
  description:
    'Search the text files of the repo for a regular expression (ripgrep/PCRE syntax: \\d, \\w, \\b work; escape ' +
    'literal characters such as ( ) . * [ with a backslash; case-sensitive unless you prefix (?i)). ' +
    `Returns "path:line: text" for each matching line, at most ${MAX_MATCHES} matches. Skips .git, node_modules ` +
    'and binary files (and, where ripgrep is installed, files ignored by .gitignore). Give path to search only a ' +
    'directory or file.',
  parameters: z.object({
    pattern: z.string().describe('Regular expression to look for'),
    path: z.string().nullish().describe('Directory or file relative to the repo root; default the whole repo'),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`Searching for /${args.pattern}/${args.path ? ` in ${args.path}` : ''}`, args.repo),
  run: async (args, context) => {
    throwIfAborted(context.signal);
    if (args.pattern === '') throw new ToolError('pattern is empty; give a regular expression to look for.');
    const workspace = await context.workspace(args.repo);
    const path = resolveRepoPath(workspace.root, args.path ?? '.');
    const result = await workspace.sandbox.exec(SEARCH_SCRIPT, {
      cwd: workspace.root,
      timeoutMs: Math.min(SEARCH_TIMEOUT_SECONDS, context.limits.commandTimeoutSeconds) * 1000,
      signal: context.signal,
      env: { AI_DEV_PATTERN: args.pattern, AI_DEV_PATH: path.relative },
    });
    const where = path.relative === '.' ? 'the repo' : path.relative;
    if (result.timedOut) {
      throw new ToolError(`The search in ${where} timed out; narrow it with a more specific pattern or a path.`);
    }
    const matches = parseMatches(result.stdout);
    const action = (count: number) => ({ kind: 'code-searched', pattern: args.pattern, matches: count }) as const;
    if (matches.length === 0) {
      if (result.exitCode === 1) return { output: `No matches for /${args.pattern}/ in ${where}.`, action: action(0) };
      // Exit 2 is a bad pattern or a missing path; grep's or rg's own message says which.
      const message = searchError(result.stderr, result.exitCode);
      if (/No such file or directory/i.test(message)) throw new ToolError(`${where} does not exist.`);
      throw new ToolError(
        `The search failed: ${message}. The pattern is a regular expression: escape ( ) [ ] { } . * + ? | \\ with a ` +
          'backslash to match them literally.',
      );
    }
    const more = matches.length > MAX_MATCHES || result.exitCode === CUT_SHORT;
    const shown = matches.slice(0, MAX_MATCHES);
    const files = new Set(shown.map((match) => match.file)).size;
    const header = more
      ? `The first ${shown.length} matches for /${args.pattern}/ in ${where} (there are more; narrow the pattern or path):`
      : `${shown.length} ${shown.length === 1 ? 'match' : 'matches'} in ${files} ${files === 1 ? 'file' : 'files'} for /${args.pattern}/ in ${where}:`;
    const lines = shown.map((match) => `${match.file}:${match.line}: ${cut(match.text)}`);
    const output = trimOutput(`${header}\n${lines.join('\n')}`, context.limits.outputMaxChars);
    return { output, action: action(shown.length) };
  },
});

interface Match {
  file: string;
  line: number;
  text: string;
}

/** Parses `file\0line:text` lines; a line cut short by the byte limit is dropped. */
function parseMatches(stdout: string): Match[] {
  const matches: Match[] = [];
  for (const row of stdout.split('\n')) {
    const found = /^([^\0]*)\0(\d+):(.*)$/.exec(row);
    if (!found) continue;
    const [, file = '', line = '0', text = ''] = found;
    matches.push({ file: file.replace(/^\.\//, ''), line: Number(line), text: text.replace(/\r$/, '') });
    if (matches.length > MAX_MATCHES) break;
  }
  // grep walks directories in their on-disk order; sorted output is easier to read and compare.
  return matches.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function cut(text: string): string {
  return text.length > LINE_MAX_CHARS ? `${text.slice(0, LINE_MAX_CHARS)}… [line cut]` : text;
}

function searchError(stderr: string, exitCode: number): string {
  const message = stderr
    .trim()
    .split('\n')
    .slice(0, 5)
    .map((line) => line.replace(/^(grep|rg): /, ''))
    .join('\n');
  return message || `the search exited with code ${exitCode}`;
}
