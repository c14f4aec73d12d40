import { createHash } from 'node:crypto';
import type { SetupScriptResult } from '../github/repo-setup.js';
import { formatDuration } from '../lib/duration.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { trimOutput } from '../lib/trim-output.js';
import type { Workspace } from '../sandbox/workspace.js';

/** Characters of the set-up's output shown in the thread when it fails. */
const FAILURE_TAIL_CHARS = 1500;
/** Lines of the set-up's output shown in the thread when it worked. */
const SUCCESS_TAIL_LINES = 3;

export interface SetupStepOptions {
  /** The repo's set-up script, read from its base branch on GitHub (never from the thread's branch). */
  readScript: (repo: string, baseBranch: string, signal: AbortSignal) => Promise<SetupScriptResult | undefined>;
  /** Tells the thread. */
  notice: (text: string) => void;
  redact: (text: string) => string;
  logger: Logger;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * Makes a new sandbox ready before the model's first tool call: the repo's `.ai-dev/setup.sh` (from its
 * base branch) runs once in the checkout, its output summarised in the thread and its failure reported,
 * not hidden. The work goes on after a failure: the model finds out what is missing from its own commands.
 * The script is written beside the checkout, not into it, so it is never committed.
 */
export async function runSetupStep(workspace: Workspace, options: SetupStepOptions): Promise<void> {
  const { notice, redact, logger, signal } = options;
  const found = await options.readScript(workspace.repo, workspace.baseBranch, signal).catch((error: unknown) => {
    logger.warn({ err: error, repo: workspace.repo }, 'could not read the set-up script');
    notice(
      `Set-up: I could not read the set-up script of ${workspace.repo} (${errorMessage(error)}); going on without it.`,
    );
    return undefined;
  });
  if (!found) return;
  if (!found.ok) {
    notice(`Set-up: ${found.reason}, so I did not run it.`);
    return;
  }
  const { script } = found;
  const path = `${workspace.sandbox.home.replace(/\/+$/, '')}/.ai-dev-setup-${script.sha.slice(0, 12)}.sh`;
  await workspace.sandbox.writeFiles([{ path, data: script.text }]);
  const result = await workspace.sandbox.exec(`bash ${quote(path)}`, {
    cwd: workspace.root,
    timeoutMs: options.timeoutMs,
    signal,
  });
  const output = redact(`${result.stdout}${result.stderr ? `\n${result.stderr}` : ''}`).trim();
  const took = formatDuration(result.durationMs);
  logger.info({ repo: workspace.repo, exitCode: result.exitCode, durationMs: result.durationMs }, 'set-up ran');
  if (result.exitCode === 0 && !result.timedOut) {
    const last = output.split('\n').slice(-SUCCESS_TAIL_LINES).join('\n');
    notice(`Set-up: ran ${script.path} (from ${script.ref}) in ${took}.${last ? `\n${last}` : ''}`);
    return;
  }
  const why = result.timedOut ? `was stopped after ${took}` : `failed with exit ${result.exitCode} after ${took}`;
  notice(
    `Set-up: ${script.path} (from ${script.ref}) ${why}; I go on without it.${output ? `\n${trimOutput(output, FAILURE_TAIL_CHARS, { headShare: 0 })}` : ''}`,
  );
}

/** The link's `--setup` commands, in the form of a script read from the repo. */
export function linkedSetup(commands: string): SetupScriptResult {
  return {
    ok: true,
    script: {
      path: `\`${commands.replace(/`/g, "'")}\``,
      ref: 'the channel’s link',
      sha: createHash('sha1').update(commands).digest('hex'),
      text: `set -e\n${commands}\n`,
      bytes: Buffer.byteLength(commands),
    },
  };
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
