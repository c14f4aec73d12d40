/** Token shapes that are redacted even when their value is not known to us. */
const TOKEN_SHAPES: RegExp[] = [
  /\bgh[pousr]_[A-Za-z0-9_]{16,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  /\be2b_[A-Za-z0-9]{16,}/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

export const REDACTED = '[redacted]';

export type Redactor = (text: string) => string;

/**
 * Builds a function that removes every known secret value and anything shaped like a token.
 * Values shorter than 8 characters are ignored: redacting them would shred ordinary text.
 */
export function createRedactor(secrets: ReadonlyArray<string | undefined>): Redactor {
  const known = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8))].sort(
    (a, b) => b.length - a.length,
  );
  // A private key arrives with \n escapes in env files; redact both spellings.
  const variants = known.flatMap((s) => (s.includes('\n') ? [s, s.replaceAll('\n', '\\n')] : [s]));
  return (text: string): string => {
    let out = text;
    for (const secret of variants) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const shape of TOKEN_SHAPES) out = out.replace(shape, REDACTED);
    return out;
  };
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
