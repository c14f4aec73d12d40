import type { ActionReport } from '../agent/events.js';
import { formatDuration } from '../lib/duration.js';
import {
  balanceFences,
  codeBlock,
  escapeMrkdwn,
  formatCount,
  inlineCode,
  link,
  markdownToMrkdwn,
  trimEnd,
  trimMiddle,
} from './blocks.js';

export interface ActionTextOptions {
  /** Characters of output shown for a failed or timed-out command (head and tail). Default 1500. */
  failedOutputChars?: number;
  /** Characters of output shown for a successful command (its last lines). Default 300; 0 hides it. */
  okOutputChars?: number;
  /** Lines of output shown for a successful command. Default 3. */
  okOutputLines?: number;
}

const MINUS = '\u2212';

/** "+12 −3" (lines added and removed). */
export function lineDelta(added: number, removed: number): string {
  return `+${formatCount(added)} ${MINUS}${formatCount(removed)}`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

function path(value: string, trailingSlash = false): string {
  const shown = value === '' ? '.' : value;
  return inlineCode(trailingSlash && !shown.endsWith('/') ? `${shown}/` : shown, 200);
}

/** The last `lines` lines of `text`, within `chars` characters. */
function lastLines(text: string, lines: number, chars: number): string {
  const all = text.replace(/\s+$/, '').split('\n');
  const kept = all.slice(-lines).join('\n');
  const cut = kept.length > chars ? kept.slice(kept.length - chars) : kept;
  return all.length > lines || cut.length < kept.length ? `…\n${cut}` : cut;
}

/** A command's status line: "✓ `npm test` · exit 0 · 4.2 s". */
export function commandLine(command: { command: string; exitCode: number; durationMs: number }): string {
  const mark = command.exitCode === 0 ? '✓' : '✗';
  return `${mark} ${inlineCode(command.command)} · exit ${command.exitCode} · ${formatDuration(command.durationMs)}`;
}

function commandText(action: Extract<ActionReport, { kind: 'command' }>, options: ActionTextOptions): string {
  const output = action.output.trim();
  if (action.timedOut) {
    const head = `✗ ${inlineCode(action.command)} · timed out after ${formatDuration(action.durationMs)}`;
    return output ? `${head}\n${codeBlock(output, options.failedOutputChars ?? 1500)}` : head;
  }
  const head = commandLine(action);
  if (!output) return head;
  if (action.exitCode !== 0) return `${head}\n${codeBlock(output, options.failedOutputChars ?? 1500)}`;
  const okChars = options.okOutputChars ?? 300;
  if (okChars <= 0) return head;
  return `${head}\n${codeBlock(lastLines(output, options.okOutputLines ?? 3, okChars), okChars + 40)}`;
}

/** One sandbox action as one short mrkdwn line (plus a code block for command output). */
export function actionText(action: ActionReport, options: ActionTextOptions = {}): string {
  switch (action.kind) {
    case 'file-written':
      return action.created
        ? `:memo: Created ${path(action.path)} (${lineDelta(action.added, action.removed)})`
        : `:memo: Wrote ${path(action.path)} (${lineDelta(action.added, action.removed)})`;
    case 'file-edited':
      return `:pencil2: Edited ${path(action.path)} (${lineDelta(action.added, action.removed)})`;
    case 'directory-created':
      return action.existed
        ? `:file_folder: Directory ${path(action.path, true)} already exists`
        : `:file_folder: Created directory ${path(action.path, true)}`;
    case 'file-read': {
      const lines = action.lines.trim();
      const range =
        lines === '' ? '' : /^\d/.test(lines) ? ` (lines ${escapeMrkdwn(lines)})` : ` (${escapeMrkdwn(lines)})`;
      return `:eyes: Read ${path(action.path)}${range}`;
    }
    case 'files-listed':
      return `:open_file_folder: Listed ${path(action.path, true)} (${plural(action.count, 'entry', 'entries')})`;
    case 'code-searched':
      return `:mag: Searched for ${inlineCode(action.pattern, 100)} (${plural(action.matches, 'match', 'matches')})`;
    case 'command':
      return commandText(action, options);
    case 'commit': {
      const subject = action.message.split('\n', 1)[0]?.trim() ?? '';
      return `:package: Committed ${inlineCode(action.sha.slice(0, 7))} ${escapeMrkdwn(trimEnd(subject, 120))} (${plural(action.files, 'file')})`;
    }
    case 'pull-request': {
      const verb = action.created ? 'Opened' : 'Updated';
      return `:twisted_rightwards_arrows: ${verb} pull request ${link(action.url, `#${action.number}`)} from ${inlineCode(action.branch)}`;
    }
    case 'failed':
      return `:warning: ${escapeMrkdwn(trimMiddle(action.error.trim(), 600, { headShare: 0.6 }))}`;
    case 'plan': {
      // The status card shows the plan; this line is for front ends without one.
      const done = action.items.filter((item) => item.status === 'complete').length;
      const current = action.items.find((item) => item.status === 'in_progress');
      const now = current ? ` · now: ${escapeMrkdwn(trimEnd(current.title.trim(), 120))}` : '';
      return `:clipboard: Plan: ${done} of ${plural(action.items.length, 'step')} done${now}`;
    }
  }
}

/** The model's interim narration, converted to mrkdwn and cut to `max` characters. */
export function narrationText(text: string, max = 1500): string {
  const converted = markdownToMrkdwn(text.trim());
  return `:speech_balloon: ${balanceFences(trimEnd(converted, max))}`;
}

/** A run_command that is still going after a while. */
export function stillRunningText(summary: string, elapsedMs: number): string {
  return `:hourglass_flowing_sand: Still running after ${formatDuration(elapsedMs)}: ${escapeMrkdwn(trimEnd(summary.trim(), 200))}`;
}
