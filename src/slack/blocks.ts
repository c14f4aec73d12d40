import type { ActionsBlock, Button, ContextBlock, KnownBlock, SectionBlock } from '@slack/types';

/** `action_id` of the Stop button on the first "working on" reply. */
export const STOP_ACTION_ID = 'ai_dev_stop';
/** `action_id` of the Continue button on a "budget reached" reply. */
export const CONTINUE_ACTION_ID = 'ai_dev_continue';
/** `action_id` of the Retry button on an "interrupted" reply. */
export const RETRY_ACTION_ID = 'ai_dev_retry';
/** Approves publishing gated changes (CI config, gitlinks, outside symlinks); the value is `<thread key>|<fingerprint>`. */
export const APPROVE_ACTION_ID = 'ai_dev_approve';

/** Slack's limits for one message (platform-notes §3), and the margins we keep under them. */
export const SLACK_LIMITS = {
  /** `text` is truncated after this many characters. */
  text: 40_000,
  /** Characters of mrkdwn in one section block. */
  sectionText: 3000,
  /** Total block text we allow ourselves (Slack answers `msg_blocks_too_long` at ~13 000). */
  blockText: 10_000,
  blocks: 50,
} as const;

/** A message ready for `chat.postMessage` (text is also the notification fallback). */
export interface SlackMessage {
  text: string;
  blocks?: KnownBlock[];
}

const FENCE = '```';
const ZERO_WIDTH_SPACE = '\u200b';
/** Looks like a backtick, never closes inline code. */
const GRAVE_LOOKALIKE = '\u02cb';

/** Escapes the three characters Slack treats as markup (`<!channel>`, `<@U…>`, links). */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Breaks every run of three or more backticks so it can never open or close a fence. */
export function neutralizeFences(text: string): string {
  return text.replace(/`{3,}/g, (run) => run.split('').join(ZERO_WIDTH_SPACE));
}

/** Formats 12345 as "12,345". */
export function formatCount(value: number): string {
  return new Intl.NumberFormat('en-US').format(value);
}

/** Moves an index off the second half of a surrogate pair so a cut never splits a character. */
function safeIndex(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return code >= 0xdc00 && code <= 0xdfff ? index - 1 : index;
}

/** Cuts `text` to at most `max` characters, ending with "…". */
export function trimEnd(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, max);
  return `${text.slice(0, safeIndex(text, max - 1))}…`;
}

export interface TrimOptions {
  /** Share of the budget given to the head (default 0.4: the end of an output is usually what matters). */
  headShare?: number;
}

/**
 * Keeps the head and the tail of `text` within `max` characters and marks the cut in between,
 * preferring to cut at line ends.
 */
export function trimMiddle(text: string, max: number, options: TrimOptions = {}): string {
  if (text.length <= max) return text;
  const marker = (cut: number): string => `\n… [${formatCount(cut)} characters cut] …\n`;
  const budget = max - marker(text.length).length;
  if (budget <= 0) return trimEnd(text, max);
  const headShare = options.headShare ?? 0.4;
  let headEnd = safeIndex(text, Math.floor(budget * headShare));
  let tailStart = safeIndex(text, text.length - (budget - headEnd));
  // Prefer whole lines when a line end is close to the cut.
  const slack = Math.floor(budget / 5);
  const lineEnd = text.lastIndexOf('\n', headEnd);
  if (lineEnd > 0 && headEnd - lineEnd <= slack) headEnd = lineEnd;
  const lineStart = text.indexOf('\n', tailStart);
  if (lineStart >= 0 && lineStart - tailStart <= slack && lineStart + 1 < text.length) tailStart = lineStart + 1;
  // Never leave half an entity (&amp; …) at the end of the head.
  const head = text.slice(0, headEnd).replace(/&[a-z]{0,4}$/, '');
  const tail = text.slice(tailStart);
  return `${head}${marker(text.length - head.length - tail.length)}${tail}`;
}

/**
 * A fenced code block of untrusted text: escaped, fences inside it broken, head and tail kept
 * within `max` characters of content (the fences add 8).
 */
export function codeBlock(text: string, max = 1500): string {
  const cleaned = neutralizeFences(escapeMrkdwn(text.replace(/\r\n?/g, '\n').replace(/\s+$/, '')));
  const body = trimMiddle(cleaned, Math.max(max, 40)) || ' ';
  return `${FENCE}\n${body}\n${FENCE}`;
}

/** Inline code on one line: whitespace collapsed, backticks replaced, escaped, cut to `max`. */
export function inlineCode(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim().replaceAll('`', GRAVE_LOOKALIKE);
  return `\`${escapeMrkdwn(trimEnd(flat, max)) || ' '}\``;
}

/** A Slack link `<url|label>`; the url is made safe for the link syntax, the label escaped. */
export function link(url: string, label: string): string {
  const safeUrl = url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c));
  return `<${safeUrl}|${escapeMrkdwn(label).replaceAll('|', '¦')}>`;
}

/** Closes a code fence left open (an odd number of ```), e.g. after a cut. */
export function balanceFences(text: string): string {
  const count = text.split(FENCE).length - 1;
  return count % 2 === 1 ? `${text}\n${FENCE}` : text;
}

/**
 * The model writes Markdown; Slack reads mrkdwn. Escapes markup characters and converts the
 * common constructs (bold, strike, links, headings, fenced code languages, quotes).
 */
export function markdownToMrkdwn(markdown: string): string {
  return escapeMrkdwn(markdown.replace(/\r\n?/g, '\n'))
    .replace(/^&gt; ?/gm, '> ')
    .replace(/^```[A-Za-z0-9_+.-]+[ \t]*$/gm, FENCE)
    .replace(/^#{1,6}[ \t]+(.+?)[ \t]*#*$/gm, '*$1*')
    .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, '*$1*')
    .replace(/__(?=\S)(.+?)(?<=\S)__/g, '_$1_')
    .replace(/~~(?=\S)(.+?)(?<=\S)~~/g, '~$1~')
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_m, label: string, url: string) => `<${url}|${label}>`);
}

/**
 * Splits mrkdwn into section blocks of at most `SLACK_LIMITS.sectionText` characters, cutting at
 * line ends and closing/reopening a code fence that spans a cut.
 */
export function sectionBlocks(text: string, maxPerSection: number = SLACK_LIMITS.sectionText): SectionBlock[] {
  // Room for a fence closed at the end of a chunk and reopened at the start of the next.
  const limit = Math.max(maxPerSection - 2 * (FENCE.length + 1), 1);
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > limit) {
      const cut = safeIndex(rest, limit);
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    lines.push(rest);
  }
  const chunks: string[] = [];
  let current = '';
  let inFence = false;
  for (const line of lines) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length > limit && current !== '') {
      chunks.push(inFence ? `${current}\n${FENCE}` : current);
      current = inFence ? `${FENCE}\n${line}` : line;
    } else {
      current = candidate;
    }
    if ((line.split(FENCE).length - 1) % 2 === 1) inFence = !inFence;
  }
  if (current !== '') chunks.push(inFence ? `${current}\n${FENCE}` : current);
  return chunks
    .filter((chunk) => chunk.trim() !== '')
    .map((chunk) => ({ type: 'section', text: { type: 'mrkdwn', text: chunk } }));
}

/** Total characters of text inside blocks (what Slack counts for `msg_blocks_too_long`). */
export function blockTextLength(blocks: readonly unknown[]): number {
  let total = 0;
  const visit = (value: unknown, key: string | undefined): void => {
    if (typeof value === 'string') {
      if (key === 'text') total += value.length;
      return;
    }
    if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, k);
    }
  };
  visit(blocks, undefined);
  return total;
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text, emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

function actions(blockId: string, ...elements: Button[]): ActionsBlock {
  return { type: 'actions', block_id: blockId, elements };
}

/** A context block (small grey text), e.g. run statistics. */
export function contextBlock(mrkdwn: string): ContextBlock {
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: trimEnd(mrkdwn, SLACK_LIMITS.sectionText) }],
  };
}

export interface WorkingMessageOptions {
  /** `owner/repo` (or several, joined by the caller). */
  repo: string;
  baseBranch?: string;
  /** Identifies the thread for the Stop button's handler. */
  threadKey: string;
  /** An extra line, e.g. "Follow-up on the same branch". */
  note?: string;
}

function workingLine(options: Pick<WorkingMessageOptions, 'repo' | 'baseBranch'>): string {
  const branch = options.baseBranch ? ` @ ${inlineCode(options.baseBranch, 80)}` : '';
  return `*${escapeMrkdwn(options.repo)}*${branch}`;
}

/** The first reply of a run: "Working on owner/repo @ main" with a Stop button. */
export function workingMessage(options: WorkingMessageOptions): SlackMessage {
  const note = options.note ? `\n${escapeMrkdwn(options.note)}` : '';
  const text = `:hourglass_flowing_sand: Working on ${workingLine(options)}…${note}`;
  return {
    text,
    blocks: [
      ...sectionBlocks(text),
      actions('ai_dev_working', button('Stop', STOP_ACTION_ID, options.threadKey, 'danger')),
    ],
  };
}

/** Blocks of an "interrupted" message: its text and a Retry button. */
export function interruptedBlocks(mrkdwn: string, threadKey: string, extra: KnownBlock[] = []): KnownBlock[] {
  return [
    ...sectionBlocks(mrkdwn),
    ...extra,
    actions('ai_dev_interrupted', button('Retry', RETRY_ACTION_ID, threadKey, 'primary')),
  ];
}

/** Blocks of an "awaiting approval" message: its text and an Approve button for exactly those changes. */
export function approvalBlocks(mrkdwn: string, value: string, extra: KnownBlock[] = []): KnownBlock[] {
  return [
    ...sectionBlocks(mrkdwn),
    ...extra,
    actions('ai_dev_approval', button('Approve and publish', APPROVE_ACTION_ID, value, 'danger')),
  ];
}

/** Blocks of a "budget reached" message: its text and a Continue button. */
export function budgetReachedBlocks(mrkdwn: string, threadKey: string, extra: KnownBlock[] = []): KnownBlock[] {
  return [
    ...sectionBlocks(mrkdwn),
    ...extra,
    actions('ai_dev_budget', button('Continue', CONTINUE_ACTION_ID, threadKey, 'primary')),
  ];
}
