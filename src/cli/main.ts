#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readEnvironment } from '../config/environment.js';
import { errorMessage } from '../lib/errors.js';
import type { CliIO } from './io.js';

export const HELP = `ai-dev: an AI GitHub developer, in Slack or in your terminal

Usage:
  ai-dev run owner/repo "task" [--no-pr] [--base <branch>] [--verbose]
      Runs one task as the Slack bot would: a sandbox, the model and its tools, then a pull request.
      Prints each sandbox action as it happens, the cost, and the pull-request link.
      --no-pr      leave the branch unpublished and print its diff instead
      --base <b>   start from branch <b> instead of the repo's default branch
      --verbose    log lines (to stderr) at LOG_LEVEL instead of warnings only
  ai-dev run --follow-up "more" [--no-pr]
      Continues the last terminal thread: same conversation, sandbox, branch and pull request.
  ai-dev doctor
      Checks every credential and endpoint live (Slack, OpenAI, GitHub, E2B, the store), one line each
      with what to fix. Exits 1 when a check fails.
  ai-dev balance --listen [host:]port target [target...]
      A round-robin TCP balancer (per connection; HTTP/2 cleartext passes through) for a trial of several
      instances on one machine: put it in front of their RESTATE_SERVICE_PORTs. A target is host:port or
      port; a host left out is 127.0.0.1. A target that refuses is skipped. Runs until Ctrl-C or SIGTERM.
      Needs no configuration.
  ai-dev help

Configuration: the bot's environment variables (or .env in the working directory), without the Slack
ones for \`run\`. See README.md.

Exit codes: 0 done, 1 failed, 2 bad usage or configuration, 3 budget reached, 130 stopped (Ctrl-C).
`;

/** Dispatches `run`, `doctor`, `balance` and `help`; answers the exit code. */
export async function cli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest, io);
    case 'doctor': {
      const { doctor } = await import('./doctor.js');
      return doctor(io);
    }
    case 'balance': {
      const { balance } = await import('./balance.js');
      return balance(rest, io);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`ai-dev: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
      return 2;
  }
}

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof parseRunArgs>;
  try {
    parsed = parseRunArgs(argv);
  } catch (error) {
    io.stderr.write(`ai-dev run: ${errorMessage(error)}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const followUp = values['follow-up'] ?? false;
  // `run owner/repo "task"`, `run --follow-up "task"`, or `run owner/repo --follow-up "task"`.
  const [first, second, ...extra] = positionals;
  const repo = followUp && second === undefined ? undefined : first;
  const task = followUp && second === undefined ? first : second;
  if (!task || extra.length > 0 || (!followUp && !repo)) {
    io.stderr.write(`ai-dev run: give the repo and the task, e.g. ai-dev run acme/widgets "fix the typo"\n\n${HELP}`);
    return 2;
  }
  const { runTask } = await import('./run.js');
  return runTask(
    {
      repo,
      task,
      noPr: values['no-pr'] ?? false,
      followUp,
      base: values.base,
      verbose: values.verbose ?? false,
    },
    io,
  );
}

function parseRunArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'no-pr': { type: 'boolean' },
      'follow-up': { type: 'boolean' },
      base: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
  });
}

async function main(): Promise<void> {
  let code: number;
  try {
    code = await cli(process.argv.slice(2), {
      env: readEnvironment(),
      stdout: process.stdout,
      stderr: process.stderr,
    });
  } catch (error) {
    process.stderr.write(`ai-dev: ${errorMessage(error)}\n`);
    code = 1;
  }
  // SDK sockets and timers (E2B, Redis, keep-alive agents) must not keep a finished command waiting.
  process.stdout.write('', () => process.exit(code));
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  await main();
}
