import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatDuration } from '../../lib/duration.js';
import { errorMessage, throwIfAborted } from '../../lib/errors.js';
import { lastLines, trimOutput, trimParts } from '../../lib/trim-output.js';
import { BOT_GIT_ENV } from '../../sandbox/git-identity.js';
import { type ExecResult, type Sandbox, SandboxGoneError } from '../../sandbox/sandbox.js';
import { defineTool, repoArgument } from './kit/define-tool.js';
import { summaryLine } from './kit/summary-line.js';

const DEFAULT_TIMEOUT_SECONDS = 300;
/** Room kept for the status line and the section labels around stdout and stderr. */
const FRAME_CHARS = 300;
const EXCERPT_LINES = 20;
/** Most bytes read back from each end of a stream, however large the output budget: the read-back is itself exec output. */
const MAX_READ_BYTES = 512 * 1024;
/**
 * A stream up to this size is read back whole, so its cut is counted in characters and lines as for any
 * text; a larger one only at its ends, its cut counted in bytes.
 */
const WHOLE_READ_BYTES = 64 * 1024;
/** Time for reading the output back and removing its files. */
const READ_BACK_TIMEOUT_MS = 60_000;
/** The wrapper's exit code when it could not set up the output files (125, like `env` and `nohup`). */
const SETUP_FAILED_EXIT_CODE = 125;

export const runCommand = defineTool({
  name: 'run_command',
  description:
    'Run a shell command with bash -c in the repo root of the sandbox (a Linux machine; no interactive input). ' +
    'Returns the exit code, duration, stdout and stderr; long output keeps its head and tail with the cut marked. ' +
    `The command is killed after timeout_seconds (default ${DEFAULT_TIMEOUT_SECONDS}, capped by the operator's limit); ` +
    'start servers in the background and redirect their output. Use it to build, test, install, and run git.',
  parameters: z.object({
    command: z.string().describe('The bash command line, e.g. "npm test -- --run"'),
    timeout_seconds: z
      .number()
      .nullish()
      .describe(`Seconds before the command is killed; default ${DEFAULT_TIMEOUT_SECONDS}, capped by the limit`),
    repo: repoArgument,
  }),
  summarize: (args) => summaryLine(`$ ${args.command}`, args.repo, 200),
  run: async (args, context) => {
    throwIfAborted(context.signal);
    const workspace = await context.workspace(args.repo);
    const { sandbox } = workspace;
    const timeoutSeconds = effectiveTimeout(args.timeout_seconds, context.limits.commandTimeoutSeconds);
    const budget = Math.max(1000, context.limits.outputMaxChars - FRAME_CHARS);
    const files = new OutputFiles(sandbox, { ...BOT_GIT_ENV });
    let result: ExecResult;
    try {
      result = await sandbox.exec(files.wrap(args.command), {
        cwd: workspace.root,
        timeoutMs: timeoutSeconds * 1000,
        signal: context.signal,
        env: files.env,
      });
    } catch (error) {
      // Stopped, or the sandbox failed: the output is not wanted, its files still go.
      await files.remove();
      throw error;
    }
    const read = await files.readBack(Math.min(MAX_READ_BYTES, budget));
    // The sandbox's own streams are empty unless the command's first line did not parse or the wrapper
    // could not start (or a login profile printed something).
    const stdout = prefixed(files.unwrap(result.stdout), read.ok ? read.stdout : EMPTY);
    const stderr = prefixed(files.unwrap(result.stderr), read.ok ? read.stderr : EMPTY);

    const status = [`exit code ${result.exitCode} (${formatDuration(result.durationMs)})`];
    if (result.timedOut) {
      status.push(
        `timed out after ${timeoutSeconds} s and was killed (the limit is ${context.limits.commandTimeoutSeconds} s); ` +
          'run long jobs in the background or in smaller steps.',
      );
    }
    if (!read.ok) status.push(`The command's output could not be read back (${read.error}).`);
    else if (read.held) {
      status.push(
        'Processes it left running in the background still write to its stdout or stderr, and that output is lost; ' +
          'redirect theirs to a file (e.g. `server > server.log 2>&1 &`).',
      );
    }
    const body = formatStreams(stdout, stderr, budget);
    const cut = stdout.omittedBytes > 0 || stderr.omittedBytes > 0;
    return {
      ok: result.exitCode === 0 && !result.timedOut,
      output: `${status.join('\n')}\n${body}`,
      action: {
        kind: 'command',
        command: args.command,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        timedOut: result.timedOut,
        output: lastLines(`${endOf(stdout).trimEnd()}\n${endOf(stderr)}`.trim(), EXCERPT_LINES, 200, cut),
      },
    };
  },
});

/** What the model asks for, never more than the operator allows and never less than a second. */
export function effectiveTimeout(requested: number | null | undefined, limit: number): number {
  const wanted = requested === null || requested === undefined || requested <= 0 ? DEFAULT_TIMEOUT_SECONDS : requested;
  return Math.max(1, Math.ceil(Math.min(wanted, limit)));
}

/**
 * What is known of one output stream: all of it (`omittedBytes` 0, the text in `head`), or its head and
 * tail with the `omittedBytes` (UTF-8) between them never read.
 */
export interface StreamView {
  head: string;
  tail: string;
  omittedBytes: number;
}

const EMPTY: StreamView = { head: '', tail: '', omittedBytes: 0 };

type ReadBack = { ok: true; stdout: StreamView; stderr: StreamView; held: boolean } | { ok: false; error: string };

/**
 * The files a command's stdout and stderr go to, in a directory of their own under the sandbox's temp dir
 * (never in the repo), so the bot reads back only what the model may see, however much the command prints.
 */
export class OutputFiles {
  /** A shell word; `$TMPDIR` expands the same in every command, since each gets the same environment. */
  readonly dir: string;
  /** What `wrap` puts before the command. */
  private readonly prefix: string;

  constructor(
    private readonly sandbox: Sandbox,
    readonly env: Record<string, string>,
    id: string = randomUUID(),
  ) {
    this.dir = `"\${TMPDIR:-/tmp}/ai-dev-run-${id}"`;
    const { dir } = this;
    this.prefix = `mkdir -m 700 ${dir} && exec >>${dir}/out 2>>${dir}/err || exit ${SETUP_FAILED_EXIT_CODE}; `;
  }

  /**
   * The command with its output sent to the files. It runs in the very shell the sandbox starts, after an
   * `exec` redirection on the same line: its exit code, its process group (which a timeout or Stop kills)
   * and its line numbers stay its own, and no wrapper process outlives or shields it. A first line that does
   * not parse runs nothing, so bash's message is in the sandbox's own stderr (`unwrap` takes the wrapper
   * out of the line it quotes, so the message reads as before). The files are
   * opened for appending, so a command that reopens /dev/stdout or /dev/stderr with `>` (which truncates a
   * file, unlike a pipe) loses what it wrote before to that stream, but leaves no gap.
   */
  wrap(command: string): string {
    return `${this.prefix}${command}`;
  }

  /** Text from the wrapped command's own streams without the wrapper, which bash quotes in a syntax error. */
  unwrap(text: string): string {
    return text.split(this.prefix).join('');
  }

  /**
   * Reads each stream's size and its first and last `readBytes` bytes, or all of it when it is at most
   * `WHOLE_READ_BYTES` (or twice `readBytes`), base64 so a cut inside a character or invalid UTF-8 cannot
   * blur the framing, and removes the files. Bytes read from the sandbox: at most twice that whole size,
   * plus a third for base64.
   */
  async readBack(readBytes: number): Promise<ReadBack> {
    const k = Math.max(1, Math.floor(readBytes));
    const whole = Math.max(WHOLE_READ_BYTES, 2 * k);
    const script = [
      `d=${this.dir}`,
      'command -v base64 >/dev/null || { echo "base64 is not installed" >&2; exit 3; }',
      'for f in "$d/out" "$d/err"; do',
      '  if [ -f "$f" ]; then',
      '    n=$(wc -c <"$f") && n=$((n)) || exit 4',
      '    echo "$n"',
      `    if [ "$n" -le ${whole} ]; then head -c "$n" "$f" | base64 | tr -d '\\n'; echo; echo`,
      `    else head -c ${k} "$f" | base64 | tr -d '\\n'; echo; tail -c ${k} "$f" | base64 | tr -d '\\n'; echo; fi`,
      '  else printf -- "-\\n\\n\\n"; fi',
      'done',
      // Background processes the command started may still hold its stdout or stderr.
      'if find /proc/[0-9]*/fd -lname "$d/*" -print 2>/dev/null | grep -q .; then echo held; else echo free; fi',
      'rm -rf "$d"',
    ].join('\n');
    let result: ExecResult;
    try {
      result = await this.sandbox.exec(script, { timeoutMs: READ_BACK_TIMEOUT_MS, env: this.env });
    } catch (error) {
      if (error instanceof SandboxGoneError) throw error;
      await this.remove();
      return { ok: false, error: errorMessage(error) };
    }
    const parsed = result.exitCode === 0 ? parseReadBack(result.stdout) : undefined;
    if (parsed) return { ok: true, ...parsed };
    await this.remove();
    const why = result.stderr.trim() || (result.timedOut ? 'timed out' : `exit code ${result.exitCode}`);
    return { ok: false, error: why.slice(0, 300) };
  }

  /** Removes the files; best effort, for when the output is not wanted. */
  async remove(): Promise<void> {
    await this.sandbox
      .exec(`rm -rf ${this.dir}`, { timeoutMs: READ_BACK_TIMEOUT_MS, env: this.env })
      .catch(() => undefined);
  }
}

function parseReadBack(stdout: string): { stdout: StreamView; stderr: StreamView; held: boolean } | undefined {
  const lines = stdout.split('\n');
  if (lines.length !== 8 || lines[7] !== '' || (lines[6] !== 'held' && lines[6] !== 'free')) return undefined;
  const out = parseStream(lines[0], lines[1], lines[2]);
  const err = parseStream(lines[3], lines[4], lines[5]);
  return out && err ? { stdout: out, stderr: err, held: lines[6] === 'held' } : undefined;
}

function parseStream(size = '', head = '', tail = ''): StreamView | undefined {
  if (size === '-') return EMPTY;
  if (!/^\d+$/.test(size)) return undefined;
  return streamView(Number(size), Buffer.from(head, 'base64'), Buffer.from(tail, 'base64'));
}

/** A stream of `size` bytes from its first and last bytes; a character cut at either end is left out too. */
export function streamView(size: number, head: Buffer, tail: Buffer): StreamView {
  const omitted = size - head.length - tail.length;
  if (omitted <= 0) return { head: Buffer.concat([head, tail]).toString('utf8'), tail: '', omittedBytes: 0 };
  const headEnd = wholeCharsEnd(head);
  const tailStart = wholeCharsStart(tail);
  return {
    head: head.subarray(0, headEnd).toString('utf8'),
    tail: tail.subarray(tailStart).toString('utf8'),
    omittedBytes: omitted + (head.length - headEnd) + tailStart,
  };
}

/** Where a UTF-8 text cut off after `bytes` ends without a partial character. */
function wholeCharsEnd(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/** Where a UTF-8 text that starts mid-stream has its first whole character. */
function wholeCharsStart(bytes: Uint8Array): number {
  let start = 0;
  while (start < 3 && start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return start;
}

function prefixed(text: string, view: StreamView): StreamView {
  return text === '' ? view : { ...view, head: `${text}${view.head}` };
}

/** The end of a stream: all of it, or its tail when the middle was not read. */
function endOf(view: StreamView): string {
  return view.omittedBytes > 0 ? view.tail : view.head;
}

/** How long a stream is, for sharing the budget: characters when all was read, about that otherwise. */
function sizeOf(view: StreamView): number {
  return view.head.length + view.omittedBytes + view.tail.length;
}

/**
 * Trims stdout and stderr to one shared budget. Each gets half; what one does not use, the other
 * may, so a quiet stderr leaves all the room to stdout. A stream read whole is cut with its
 * characters and lines counted; one whose middle was never read says how many bytes are missing.
 */
function formatStreams(stdout: StreamView, stderr: StreamView, maxChars: number): string {
  const stdoutSize = sizeOf(stdout);
  const stderrSize = sizeOf(stderr);
  if (stdoutSize === 0 && stderrSize === 0) return '(no output)';
  const budget = Math.max(1000, maxChars);
  const stderrShare = Math.max(budget / 2, budget - stdoutSize);
  const stderrBudget = Math.floor(Math.min(stderrSize, stderrShare));
  const stdoutBudget = budget - stderrBudget;
  const sections: string[] = [];
  if (stdoutSize !== 0) sections.push(`stdout:\n${formatStream(stdout, stdoutBudget)}`);
  if (stderrSize !== 0) sections.push(`stderr:\n${formatStream(stderr, stderrBudget)}`);
  return sections.join('\n');
}

function formatStream(view: StreamView, maxChars: number): string {
  if (view.omittedBytes === 0) return trimOutput(view.head, maxChars, { headShare: 0.4 });
  return trimParts(view.head, view.tail, view.omittedBytes, maxChars, { headShare: 0.4 });
}
