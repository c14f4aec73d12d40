/**
 * Input token accounting of the fake: what a request really carries, about one token per four characters.
 *
 * The prompt of a request is a list of segments: `instructions`, `tools`, then every item the model sees (the
 * conversation's items and the input, from the last `compaction` item on; a compaction item counts as a fixed
 * `COMPACTION_ITEM_TOKENS`, the history before it counts as nothing). `cached_tokens` are the leading segments the
 * previous request of the same conversation sent byte for byte: edit the instructions or the tools and the cache
 * is gone. The real API caches in 128-token steps from 1 024 tokens on; the fake counts the exact prefix.
 */
import { createHash } from 'node:crypto';
import { afterLastCompaction } from './protocol.js';
import type { StoredItem } from './steps.js';

export const CHARS_PER_TOKEN = 4;
/** What one compaction item costs in the context (its encrypted summary). */
export const COMPACTION_ITEM_TOKENS = 1_000;
/** Per-item framing (role, type, separators). */
const ITEM_OVERHEAD_TOKENS = 4;

export interface Segment {
  /** Hash of the segment's canonical text. */
  key: string;
  tokens: number;
}

export interface PromptTokens {
  input: number;
  cached: number;
}

export function textTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('base64');
}

function partsText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: Record<string, unknown>) =>
      typeof part.text === 'string'
        ? part.text
        : typeof part.refusal === 'string'
          ? part.refusal
          : JSON.stringify(part),
    )
    .join('');
}

/** The text of an item that reaches the model. */
function itemText(item: StoredItem): string {
  switch (item.type) {
    case 'message':
      return partsText(item.content);
    case 'function_call':
      return `${String(item.name)}${String(item.arguments)}`;
    case 'function_call_output':
      return typeof item.output === 'string' ? item.output : partsText(item.output);
    default: {
      const { id: _id, status: _status, ...rest } = item;
      return JSON.stringify(rest);
    }
  }
}

const itemSegments = new WeakMap<StoredItem, Segment>();

/** Stored conversation items keep their identity, so their segment is computed once. */
export function itemSegment(item: StoredItem): Segment {
  const known = itemSegments.get(item);
  if (known) return known;
  const { id: _id, status: _status, ...rest } = item;
  const tokens =
    item.type === 'compaction' ? COMPACTION_ITEM_TOKENS : textTokens(itemText(item)) + ITEM_OVERHEAD_TOKENS;
  const segment = { key: hash(JSON.stringify(rest)), tokens };
  itemSegments.set(item, segment);
  return segment;
}

/** The segments of one request: instructions, tools, then the items the model sees. */
export function promptSegments(
  body: { instructions?: unknown; tools?: unknown },
  context: readonly StoredItem[],
  input: readonly StoredItem[],
): Segment[] {
  const segments: Segment[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') {
    segments.push({ key: hash(`instructions:${body.instructions}`), tokens: textTokens(body.instructions) });
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const json = JSON.stringify(body.tools);
    segments.push({ key: hash(`tools:${json}`), tokens: textTokens(json) });
  }
  const all = [...context, ...input];
  const visible = afterLastCompaction(all);
  // The last compaction item itself (the one `afterLastCompaction` cut after) stands in for everything before it.
  const compaction = all[all.length - visible.length - 1];
  if (compaction) segments.push(itemSegment(compaction));
  for (const item of visible) segments.push(itemSegment(item));
  return segments;
}

export function sumTokens(segments: readonly Segment[]): number {
  return segments.reduce((sum, segment) => sum + segment.tokens, 0);
}

/** Tokens of `current` and the part of its prefix that `previous` already sent. */
export function promptTokens(current: readonly Segment[], previous: readonly Segment[] | undefined): PromptTokens {
  let cached = 0;
  if (previous) {
    for (const [index, segment] of current.entries()) {
      if (previous[index]?.key !== segment.key) break;
      cached += segment.tokens;
    }
  }
  return { input: sumTokens(current), cached };
}
