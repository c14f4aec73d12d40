/**
 * Known secret values and the encoded forms they travel in. A value is matched as itself, escaped
 * the way a JSON log line escapes it, URL-encoded, in hex, and inside base64 or base64url text at
 * any byte offset.
 */

/** Shorter values are ignored: redacting them would shred ordinary text. */
export const MIN_SECRET_LENGTH = 8;

/** Base64 and base64url characters; a match of an encoded form is widened over them (and trailing `=`). */
const BASE64_CHAR = /[A-Za-z0-9+/_-]/;

/**
 * The combined RegExp holds each form's first characters only, and a hit is checked against the whole forms
 * that start with them. V8 scans a RegExp of short alternatives quickly, but one holding whole forms (a PEM
 * key is kilobytes, and it has a dozen forms) at a tenth of the speed.
 */
const PREFIX_LENGTH = 12;

export interface KnownMatcher {
  /** Adds [start, end) pairs of every known value (or encoded form) found in `text` to `ranges`. */
  collect(text: string, ranges: number[]): void;
}

const NOTHING: KnownMatcher = { collect: () => {} };

/** Builds one RegExp over every form of every value: a single pass over the text, however many values. */
export function knownMatcher(values: Iterable<string>): KnownMatcher {
  const literals = new Set<string>();
  const encoded = new Set<string>();
  for (const value of values) {
    for (const form of literalForms(value)) literals.add(form);
    for (const form of encodedForms(value)) encoded.add(form);
  }
  if (literals.size === 0 && encoded.size === 0) return NOTHING;

  const byPrefix = new Map<string, string[]>();
  for (const form of new Set([...literals, ...encoded])) {
    const prefix = form.slice(0, PREFIX_LENGTH);
    const forms = byPrefix.get(prefix);
    if (forms) forms.push(form);
    else byPrefix.set(prefix, [form]);
  }
  // Longest first, so a form that starts with another form is redacted whole.
  for (const forms of byPrefix.values()) forms.sort((a, b) => b.length - a.length);
  const prefixes = [...byPrefix.keys()].sort((a, b) => b.length - a.length);
  const pattern = new RegExp(prefixes.map(escapeRegExp).join('|'), 'g');

  return {
    collect(text, ranges) {
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        let start = match.index;
        const form = byPrefix.get(match[0])?.find((f) => text.startsWith(f, start));
        if (form === undefined) {
          pattern.lastIndex = start + 1;
          continue;
        }
        let end = start + form.length;
        if (encoded.has(form)) {
          // A value inside a longer base64 text: the whole run goes, so the edge characters that carry a few
          // bits of the value (and whatever was encoded with it) go too.
          while (start > 0 && BASE64_CHAR.test(text.charAt(start - 1))) start--;
          while (end < text.length && BASE64_CHAR.test(text.charAt(end))) end++;
          while (text.charAt(end) === '=') end++;
        }
        ranges.push(start, end);
        pattern.lastIndex = end;
      }
    },
  };
}

/** The value as it is, and as JSON (a log line, a tool result), URL-encoding and hex spell it. */
export function literalForms(value: string): string[] {
  const forms = [value, jsonEscape(value), jsonEscape(jsonEscape(value))];
  const uri = uriEncode(value);
  if (uri !== undefined)
    forms.push(
      uri,
      uri.replace(/%[0-9A-F]{2}/g, (octet) => octet.toLowerCase()),
    );
  const hex = Buffer.from(value, 'utf8').toString('hex');
  forms.push(hex, hex.toUpperCase());
  return forms;
}

/**
 * The value inside base64 and base64url text. Encoded on its own, a value starting at byte 0, 1 or 2 of a
 * 3-byte group yields three different strings; keeping only the characters that depend on the value's bytes
 * alone gives, for each alignment, a string found in the encoding of any text that contains the value.
 * Plus the whole header value git sends: `base64("x-access-token:" + value)`.
 */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Character i holds bits [6i, 6i + 6); keep those within the value's bits [8 * offset, 8 * (offset + length)).
    const fragment = encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6));
    forms.push(fragment, toBase64Url(fragment));
  }
  const basic = Buffer.from(`x-access-token:${value}`, 'utf8').toString('base64');
  forms.push(basic, toBase64Url(basic));
  return [...new Set(forms)];
}

function toBase64Url(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_');
}

function jsonEscape(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

function uriEncode(value: string): string | undefined {
  try {
    return encodeURIComponent(value);
  } catch {
    return undefined; // a lone surrogate
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}
