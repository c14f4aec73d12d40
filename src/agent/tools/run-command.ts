import { z } from 'zod';
import { lastLines, trimOutput } from '../../lib/trim-output.js';
import { defineTool, repoArgument } from './define-tool.js';
import { BOT_GIT_ENV } from './git-identity.js';
import { summaryLine } from './summary-line.js';
import { reportingFailures, throwIfStopped } from './tool-failure.js';

const DEFAULT_TIMEOUT_SECONDS = 300;
/** Room kept for the status line and the section labels around stdout and stderr. */
const FRAME_CHARS = 300;
const EXCERPT_LINES = 20;

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
  run: reportingFailures(async (args, context) => {
    throwIfStopped(context.signal);
    const workspace = await context.workspace(args.repo);
    const timeoutSeconds = effectiveTimeout(args.timeout_seconds, context.limits.commandTimeoutSeconds);
    const result = await workspace.sandbox.exec(args.command, {
      cwd: workspace.root,
      timeoutMs: timeoutSeconds * 1000,
      signal: context.signal,
      env: { ...BOT_GIT_ENV },
    });
    const status = [`exit code ${result.exitCode} (${formatDuration(result.durationMs)})`];
    if (result.timedOut) {
      status.push(
        `timed out after ${timeoutSeconds} s and was killed (the limit is ${context.limits.commandTimeoutSeconds} s); ` +
          'run long jobs in the background or in smaller steps.',
      );
    }
    const body = formatStreams(result.stdout, result.stderr, context.limits.outputMaxChars - FRAME_CHARS);
    return {
      output: `${status.join('\n')}\n${body}`,
      action: {
        kind: 'command',
        command: args.command,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        timedOut: result.timedOut,
        output: lastLines(`${result.stdout.trimEnd()}\n${result.stderr}`.trim(), EXCERPT_LINES),
      },
    };
  }),
});

/** What the model asks for, never more than the operator allows and never less than a second. */
export function effectiveTimeout(requested: number | null | undefined, limit: number): number {
  const wanted = requested === null || requested === undefined || requested <= 0 ? DEFAULT_TIMEOUT_SECONDS : requested;
  return Math.max(1, Math.ceil(Math.min(wanted, limit)));
}

/**
 * Trims stdout and stderr to one shared budget. Each gets half; what one does not use, the other
 * may, so a quiet stderr leaves all the room to stdout.
 */
function formatStreams(stdout: string, stderr: string, maxChars: number): string {
  if (stdout === '' && stderr === '') return '(no output)';
  const budget = Math.max(1000, maxChars);
  const stderrShare = Math.max(budget / 2, budget - stdout.length);
  const stderrBudget = Math.floor(Math.min(stderr.length, stderrShare));
  const stdoutBudget = budget - stderrBudget;
  const sections: string[] = [];
  if (stdout !== '') sections.push(`stdout:\n${trimOutput(stdout, stdoutBudget, { headShare: 0.4 })}`);
  if (stderr !== '') sections.push(`stderr:\n${trimOutput(stderr, stderrBudget, { headShare: 0.4 })}`);
  return sections.join('\n');
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
