/**
 * Secrets recognised by their shape, for values the redactor was never told about. Every shape starts with
 * a fixed prefix or sits in a fixed context, and most demand a digit or an exact length, so prose, git shas,
 * UUIDs, base64 hashes, package names and paths do not match.
 */

interface Shape {
  pattern: RegExp;
  /** The capture group that holds the secret; the whole match when absent (the pattern then has no `d` flag). */
  group?: number;
  /**
   * A test the whole match must pass too. Kept out of the pattern: a lookahead that scans ahead from every
   * candidate makes text such as `xoxb-xoxb-xoxb-…` quadratic.
   */
  accept?: (match: string) => boolean;
}

const DIGIT = /[0-9]/;
const hasDigit = (match: string) => DIGIT.test(match);

/** Not preceded by a letter or digit: a prefix must start a token, not sit inside a longer one (e.g. base64). */
const START = '(?<![A-Za-z0-9])';

const SHAPES: Shape[] = [
  // GitHub: classic tokens, and the long installation-token form `ghs_<app id>_<base64url with dots>`.
  { pattern: new RegExp(`${START}gh[pousr]_[A-Za-z0-9_-]{16,}(?:\\.[A-Za-z0-9_-]+)*`, 'g') },
  { pattern: new RegExp(`${START}github_pat_[A-Za-z0-9_]{20,}`, 'g') },
  // Slack bot, user, app-level, refresh, config and rotating tokens (xoxe.xoxp-1-…). Real ones hold digits.
  { pattern: new RegExp(`${START}(?:xox(?:e\\.xox)?[abcdeoprs]|xapp)-[A-Za-z0-9-]{8,}`, 'g'), accept: hasDigit },
  // Slack incoming webhooks and workflow triggers: the host stays, the path is the secret.
  { pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([A-Za-z0-9_/-]{8,})/dg, group: 1 },
  // OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-) and Anthropic (sk-ant-). A bare sk- must hold a digit, so a
  // kebab-case name such as sk-learn-pipeline-helpers survives.
  { pattern: new RegExp(`${START}sk-(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{16,}`, 'g') },
  { pattern: new RegExp(`${START}sk-[A-Za-z0-9_-]{16,}`, 'g'), accept: hasDigit },
  // E2B API keys and access tokens.
  { pattern: new RegExp(`${START}(?:sk_)?e2b_[A-Za-z0-9]{16,}`, 'g') },
  // AWS access key ids, and a secret access key next to its name.
  { pattern: new RegExp(`${START}(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])`, 'g') },
  {
    pattern: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi,
    group: 1,
  },
  // npm (`npm_config_cache` and friends hold underscores, so they survive).
  { pattern: new RegExp(`${START}npm_[A-Za-z0-9]{36,}(?![A-Za-z0-9_])`, 'g') },
  // GitLab personal, deploy, runner, trigger, project-access and CI-job tokens.
  { pattern: new RegExp(`${START}gl(?:pat|dt|rt|ptt|soat|cbt)-[A-Za-z0-9_-]{20,}(?:\\.[A-Za-z0-9_-]+)*`, 'g') },
  // Stripe secret, restricted and webhook signing keys.
  { pattern: new RegExp(`${START}(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9+/=]{24,})`, 'g') },
  // Google API keys: exactly 39 characters.
  { pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  // JWTs: a JSON header and a JSON payload, then a signature (empty for alg "none").
  { pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  // Whatever follows an HTTP auth scheme in an Authorization header (git's extraheader, curl -H, a JSON log).
  {
    pattern:
      /\b(?:proxy-)?authorization(?:\\?["'])?\s*[:=]\s*(?:\\?["'])?(?:basic|bearer|token|bot)\s+([A-Za-z0-9+/._~-]{8,}=*)/dgi,
    group: 1,
  },
  { pattern: /\bBearer\s+([A-Za-z0-9._~+/-]{20,}=*)/dg, group: 1 },
  // A password in a URL (scheme://user:password@host, redis://:password@host): the scheme, user and host stay.
  // The password may hold an unencoded @; the last @ before the path ends it. A placeholder in code that builds
  // such a URL (`${token}`, $TOKEN, {{token}}, %s) is not a password.
  { pattern: /:\/\/[^\s:/?#@"'<>]*:(?!\$\{|\$[A-Za-z_]|\{\{|%s@)([^\s/?#"'<>]+)@/dg, group: 1 },
];

/** Adds [start, end) pairs of every token-shaped secret in `text` to `ranges`. */
export function collectShapes(text: string, ranges: number[]): void {
  for (const { pattern, group, accept } of SHAPES) {
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (accept && !accept(match[0])) continue;
      const span = group === undefined ? undefined : match.indices?.[group];
      if (span) ranges.push(span[0], span[1]);
      else ranges.push(match.index, match.index + match[0].length);
    }
  }
  collectPrivateKeys(text, ranges);
}

const KEY_MARKER = /-----(BEGIN|END) (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;
const KEY_END_AT = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/y;
/** A header line before the body: Proc-Type and DEK-Info in PEM, Version and Comment in PGP. */
const KEY_HEADER = /[A-Za-z][A-Za-z0-9-]*: [^\r\n\\"]*/y;

/**
 * PEM private keys, whole or cut: a BEGIN line whose END was trimmed away is redacted to the end of its
 * base64 body, and an END line whose BEGIN was trimmed away from the start of the body before it.
 */
function collectPrivateKeys(text: string, ranges: number[]): void {
  if (!text.includes('PRIVATE KEY')) return;
  let floor = 0;
  KEY_MARKER.lastIndex = 0;
  for (let marker = KEY_MARKER.exec(text); marker !== null; marker = KEY_MARKER.exec(text)) {
    const markerEnd = marker.index + marker[0].length;
    // A marker with no body next to it (code that looks for one, a key cut right after its BEGIN line) holds
    // nothing secret and stays.
    if (marker[1] === 'BEGIN') {
      let end = keyBodyEnd(text, markerEnd);
      KEY_END_AT.lastIndex = skipNewlines(text, end);
      if (KEY_END_AT.test(text)) end = KEY_END_AT.lastIndex;
      if (end === markerEnd) continue;
      ranges.push(marker.index, end);
      floor = end;
      KEY_MARKER.lastIndex = end;
    } else {
      const start = keyBodyStart(text, marker.index, floor);
      if (start === marker.index) continue;
      ranges.push(start, markerEnd);
      floor = markerEnd;
    }
  }
}

/**
 * Where the base64 body that starts at `from` (just after a BEGIN line) ends: line after line of base64,
 * blank lines and PEM headers, with real or JSON-escaped newlines. It stops before a line of prose, and at
 * anything else (the END line, a trim marker, the quote that closes a JSON string).
 */
function keyBodyEnd(text: string, from: number): number {
  let end = from;
  let pos = from;
  let body = false; // headers come only before the first line of base64
  for (let first = true; ; first = false) {
    let q = skipBlanks(text, pos);
    const lineStart = q;
    let header = false;
    if (!first && !body) {
      KEY_HEADER.lastIndex = q;
      header = KEY_HEADER.test(text);
    }
    if (header) q = KEY_HEADER.lastIndex;
    else {
      q = skipBase64(text, q);
      // Only the rest of the BEGIN line may hold several runs: a key whose newlines became spaces.
      for (let next = skipBlanks(text, q); first && next > q && isBase64(text.charCodeAt(next)); ) {
        q = skipBase64(text, next);
        next = skipBlanks(text, q);
      }
    }
    const runEnd = q;
    q = skipBlanks(text, q);
    const newline = newlineLength(text, q);
    // Words after a blank are prose: the body ended with the line before.
    const prose = newline === 0 && q > runEnd && q < text.length && isAlphanumeric(text.charCodeAt(q));
    if (runEnd > lineStart && !prose) {
      end = runEnd;
      body ||= !header;
    }
    if (newline === 0) return end;
    pos = q + newline;
  }
}

/**
 * Where the base64 body that ends at `to` (an END line) starts, not before `floor`: the mirror of `keyBodyEnd`.
 * A partial first line counts when what precedes it is not a word (a trim marker, a quote). It reads back only
 * as far as the body goes, so a long line before an END costs nothing.
 */
function keyBodyStart(text: string, to: number, floor: number): number {
  let start = to;
  let i = to;
  for (;;) {
    let q = i;
    while (q > floor && isBlank(text.charCodeAt(q - 1))) q--;
    const runEnd = q;
    while (q > floor && isBase64(text.charCodeAt(q - 1)) && newlineBefore(text, q) === 0) q--;
    const runStart = q;
    while (q > floor && isBlank(text.charCodeAt(q - 1))) q--;
    const newline = q > floor ? newlineBefore(text, q) : 0;
    if (newline === 0 && q > floor) {
      // Something else precedes the run on its line: keep the run unless that is a word (prose).
      if (runStart < runEnd && !isAlphanumeric(text.charCodeAt(q - 1))) start = runStart;
      return start;
    }
    if (runStart < runEnd) start = runStart;
    if (newline === 0 || q - newline < floor) return start;
    i = q - newline;
  }
}

function skipBlanks(text: string, from: number): number {
  let i = from;
  while (i < text.length && isBlank(text.charCodeAt(i))) i++;
  return i;
}

function skipBase64(text: string, from: number): number {
  let i = from;
  while (i < text.length && isBase64(text.charCodeAt(i))) i++;
  return i;
}

/** Past blanks and newlines (real or JSON-escaped). */
function skipNewlines(text: string, from: number): number {
  let i = skipBlanks(text, from);
  for (let n = newlineLength(text, i); n > 0; n = newlineLength(text, i)) i = skipBlanks(text, i + n);
  return i;
}

/** The length of the newline at `i`: \n, \r\n, or their JSON escapes; 0 when there is none. */
function newlineLength(text: string, i: number): number {
  if (text.startsWith('\n', i)) return 1;
  if (text.startsWith('\r\n', i) || text.startsWith('\\n', i)) return 2;
  if (text.startsWith('\\r\\n', i)) return 4;
  return 0;
}

/** The length of the newline that ends just before `i`, as `newlineLength` counts it. */
function newlineBefore(text: string, i: number): number {
  if (text.charAt(i - 1) === '\n') return text.charAt(i - 2) === '\r' ? 2 : 1;
  if (text.charAt(i - 1) === 'n' && text.charAt(i - 2) === '\\') return text.startsWith('\\r', i - 4) ? 4 : 2;
  return 0;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function isBase64(c: number): boolean {
  return isAlphanumeric(c) || c === 43 || c === 47 || c === 61; // + / =
}

function isAlphanumeric(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
