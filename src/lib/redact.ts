import { type KnownMatcher, knownMatcher, MIN_SECRET_LENGTH } from './redact/known.js';
import { collectShapes } from './redact/shapes.js';

export const REDACTED = '[redacted]';

export type Redactor = (text: string) => string;

/** A redactor that can learn more secret values after it was built (a token minted later). */
export interface SecretRedactor {
  (text: string): string;
  /** Redacts these values from now on, with their encoded forms; values shorter than 8 characters are ignored. */
  add(...values: ReadonlyArray<string | undefined>): void;
}

/**
 * Builds a function that removes every known secret value and anything shaped like a token.
 *
 * A known value is also removed in the forms it travels in: JSON-escaped, URL-encoded, hex (lower and upper
 * case), and inside base64 or base64url text at any byte offset, such as `Authorization: Basic
 * base64("x-access-token:" + token)`; there the whole base64 run goes. Values shorter than 8 characters are
 * ignored: redacting them would shred ordinary text. See `redact/shapes.ts` for the token shapes.
 */
export function createRedactor(secrets: ReadonlyArray<string | undefined> = []): SecretRedactor {
  const known = new Set<string>();
  let matcher: KnownMatcher = knownMatcher(known);
  const add = (...values: ReadonlyArray<string | undefined>): void => {
    const before = known.size;
    for (const value of values) {
      if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) known.add(value);
    }
    if (known.size !== before) matcher = knownMatcher(known);
  };
  add(...secrets);
  return Object.assign((text: string): string => redactText(text, matcher), { add });
}

function redactText(text: string, matcher: KnownMatcher): string {
  const ranges: number[] = [];
  matcher.collect(text, ranges);
  collectShapes(text, ranges);
  return ranges.length === 0 ? text : replaceRanges(text, ranges);
}

/** Replaces each [start, end) pair in `ranges` with REDACTED; overlapping or touching ranges become one. */
function replaceRanges(text: string, ranges: number[]): string {
  const order: number[] = [];
  for (let i = 0; i < ranges.length; i += 2) order.push(i);
  order.sort((a, b) => (ranges[a] ?? 0) - (ranges[b] ?? 0));
  let out = '';
  let kept = 0; // text before this index is written or redacted
  let open = -1; // the start of the range being merged, or -1
  let openEnd = 0;
  for (const i of order) {
    const start = ranges[i] ?? 0;
    const end = ranges[i + 1] ?? 0;
    if (open >= 0 && start <= openEnd) {
      openEnd = Math.max(openEnd, end);
      continue;
    }
    if (open >= 0) {
      out += text.slice(kept, open) + REDACTED;
      kept = openEnd;
    }
    open = start;
    openEnd = end;
  }
  if (open >= 0) {
    out += text.slice(kept, open) + REDACTED;
    kept = openEnd;
  }
  return out + text.slice(kept);
}

/** Applies a redactor to every string inside a JSON-like value. */
export function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, redact);
    return out as T;
  }
  return value;
}
