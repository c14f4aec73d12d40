import type { KnownBlock } from '@slack/types';
import { formatDollars } from '../agent/cost.js';
import type { BudgetLimit, RunOutcome, RunTotals } from '../agent/events.js';
import { VERIFICATION_ANCHOR } from '../github/verification.js';
import { formatDuration } from '../lib/duration.js';
import { commandLine } from './action-text.js';
import {
  approvalBlocks,
  balanceFences,
  budgetReachedBlocks,
  contextBlock,
  escapeMrkdwn,
  formatCount,
  inlineCode,
  interruptedBlocks,
  link,
  markdownToMrkdwn,
  type SlackMessage,
  sectionBlocks,
  trimEnd,
} from './blocks.js';

export interface OutcomeTextOptions {
  /** Value of the Continue button (budget reached): identifies the thread. */
  threadKey: string;
  /** Files listed before "and N more". Default 15. */
  maxFiles?: number;
  /** Distinct commands listed (the most recent ones). Default 8. */
  maxCommands?: number;
  /** Characters of the model's summary or answer. Default 2500. */
  maxAnswerChars?: number;
}

/** The terminal reply of a run: text (also the notification fallback) and blocks. */
export interface OutcomeMessage extends SlackMessage {
  blocks: KnownBlock[];
}

const LIMIT_NAMES: Record<BudgetLimit, (totals: RunTotals) => string> = {
  dollars: (t) =>
    `its ${t.budgetDollars !== undefined ? `${formatDollars(t.budgetDollars)} ` : ''}budget (${formatDollars(t.cost?.dollars ?? 0)} spent); the work so far is published`,
  turns: (t) => `its limit of model turns (${formatCount(t.turns)} turns)`,
  tokens: (t) => `its token limit (${formatCount(t.totalTokens)} tokens used)`,
  minutes: (t) => `its time limit (${formatDuration(t.elapsedMs)})`,
};

/** "7 model turns · 12,345 tokens (10,000 in, 2,345 out) · 3 min 4 s" */
export function statsLine(totals: RunTotals): string {
  const turns = `${formatCount(totals.turns)} model ${totals.turns === 1 ? 'turn' : 'turns'}`;
  const tokens =
    `${formatCount(totals.totalTokens)} tokens ` +
    `(${formatCount(totals.inputTokens)} in, ${formatCount(totals.outputTokens)} out)`;
  const sandbox = totals.sandboxMs > 0 ? ` · ${formatCount(Math.round(totals.sandboxMs / 1000))} sandbox s` : '';
  return `${turns} · ${tokens} · ${formatDuration(totals.elapsedMs)}${sandbox}${totals.cost ? ` · ${costText(totals)}` : ''}`;
}

/** "$0.42 (model $0.40, sandbox $0.02) of $10.00" */
export function costText(totals: RunTotals): string {
  const cost = totals.cost;
  if (!cost) return '';
  const budget = totals.budgetDollars !== undefined ? ` of ${formatDollars(totals.budgetDollars)}` : '';
  return `${formatDollars(cost.dollars)} (model ${formatDollars(cost.modelDollars)}, sandbox ${formatDollars(cost.sandboxDollars)})${budget}`;
}

/** "*Files changed (3):* `a`, `b`, `c`" — undefined when none. */
export function filesLine(files: readonly string[], max = 15): string | undefined {
  const unique = [...new Set(files)];
  if (unique.length === 0) return undefined;
  const shown = unique.slice(0, max).map((f) => inlineCode(f, 150));
  const more = unique.length > max ? ` and ${formatCount(unique.length - max)} more` : '';
  return `*Files changed (${formatCount(unique.length)}):* ${shown.join(', ')}${more}`;
}

/**
 * "*Tests and commands:*" then one line per distinct command (its latest result, how many
 * runs), the most recent `max` of them — undefined when none ran.
 */
export function commandsLines(commands: RunTotals['commands'], max = 8): string | undefined {
  if (commands.length === 0) return undefined;
  const latest = new Map<string, { run: RunTotals['commands'][number]; count: number }>();
  for (const run of commands) {
    const previous = latest.get(run.command);
    latest.delete(run.command);
    latest.set(run.command, { run, count: (previous?.count ?? 0) + 1 });
  }
  const entries = [...latest.values()];
  const shown = entries.slice(-max);
  const lines = shown.map(({ run, count }) => `• ${commandLine(run)}${count > 1 ? ` (run ${count}×)` : ''}`);
  const earlier = entries.length - shown.length;
  const header = `*Tests and commands (${formatCount(commands.length)} run${commands.length === 1 ? '' : 's'}):*`;
  return [header, ...(earlier > 0 ? [`• … ${formatCount(earlier)} earlier`] : []), ...lines].join('\n');
}

function userRef(by: string | undefined): string {
  if (by === undefined || by === '') return '';
  return /^[UW][A-Z0-9]{2,}$/.test(by) ? ` by <@${by}>` : ` by ${escapeMrkdwn(by)}`;
}

function modelText(text: string, max: number): string {
  return balanceFences(trimEnd(markdownToMrkdwn(text.trim()), max));
}

function headline(outcome: RunOutcome, maxAnswer: number): string[] {
  switch (outcome.kind) {
    case 'pull-request': {
      if (outcome.others && outcome.others.length > 1) {
        const lines = [':white_check_mark: Pull requests of this run:'];
        for (const pr of outcome.others) {
          lines.push(
            `• ${escapeMrkdwn(pr.repo)}: ${pr.created ? 'opened' : 'updated'} ${link(pr.url, `#${pr.number}`)}`,
          );
        }
        if (outcome.summary.trim()) lines.push(modelText(outcome.summary, maxAnswer));
        return lines;
      }
      const verb = outcome.created ? 'Opened' : 'Updated';
      const lines = [`:white_check_mark: ${verb} pull request ${link(outcome.url, `#${outcome.number}`)}`];
      if (outcome.summary.trim()) lines.push(modelText(outcome.summary, maxAnswer));
      // The PR body's Verification section: what was run to check the change, and the CI checks once known.
      lines.push(`Proof: ${link(`${outcome.url}#${VERIFICATION_ANCHOR}`, 'Verification')} in the pull request.`);
      return lines;
    }
    case 'no-changes': {
      const lines = [':speech_balloon: No changes needed.'];
      if (outcome.answer.trim()) lines.push(modelText(outcome.answer, maxAnswer));
      return lines;
    }
    case 'stopped':
      return [`:octagonal_sign: Stopped${userRef(outcome.by)}. Reply in this thread to pick the work up again.`];
    case 'budget-reached':
      return [
        `:double_vertical_bar: Budget reached: this run used ${LIMIT_NAMES[outcome.limit](outcome.totals)}. ` +
          'Press *Continue* to go on with a fresh budget, or reply in this thread.',
      ];
    case 'interrupted':
      return [
        ':warning: This run was interrupted (the bot stopped while working) and was not picked up again by itself. ' +
          'Press *Retry* to go on where it stopped, or reply in this thread.',
      ];
    case 'awaiting-approval':
      return [
        `:raised_hand: Waiting for an approval: this work changes ${outcome.files.map((f) => inlineCode(f, 150)).join(', ')} in ${escapeMrkdwn(outcome.repo)}. ` +
          'CI configuration, submodules and links out of the repository can run code with its secrets or reach outside it, so nothing was published yet. ' +
          'Someone who may approve (the people who may link repos, or a workspace admin) can press *Approve and publish*; or reply here to change the work instead.',
      ];
    case 'failed':
      return [
        `:x: The run failed: ${escapeMrkdwn(trimEnd(outcome.reason.trim(), 1000))} ` +
          `(reference ${inlineCode(outcome.reference, 40)})`,
      ];
  }
}

/** The terminal reply's mrkdwn body (without the stats line). */
export function outcomeBody(outcome: RunOutcome, options: Omit<OutcomeTextOptions, 'threadKey'> = {}): string {
  const parts = headline(outcome, options.maxAnswerChars ?? 2500);
  const files = filesLine(outcome.totals.filesChanged, options.maxFiles);
  if (files) parts.push(files);
  const commands = commandsLines(outcome.totals.commands, options.maxCommands);
  if (commands) parts.push(commands);
  return parts.join('\n');
}

/**
 * The last reply of a run: PR opened/updated (link, files, commands with ✓/✗), no changes needed
 * (with the model's answer), stopped by someone, budget reached (with Continue), or failed (reason and
 * reference); always with model turns, tokens and elapsed time.
 */
export function outcomeMessage(outcome: RunOutcome, options: OutcomeTextOptions): OutcomeMessage {
  const body = outcomeBody(outcome, options);
  const stats = statsLine(outcome.totals);
  const text = `${body}\n${stats}`;
  const statsBlock = contextBlock(stats);
  const blocks: KnownBlock[] =
    outcome.kind === 'budget-reached'
      ? budgetReachedBlocks(body, options.threadKey, [statsBlock])
      : outcome.kind === 'interrupted'
        ? interruptedBlocks(body, options.threadKey, [statsBlock])
        : outcome.kind === 'awaiting-approval'
          ? approvalBlocks(body, `${options.threadKey}|${outcome.fingerprint}`, [statsBlock])
          : [...sectionBlocks(body), statsBlock];
  return { text, blocks };
}
