export interface TrimOptions {
  /** Share of the budget given to the head; the rest goes to the tail, where errors usually are. */
  headShare?: number;
}

/**
 * Keeps the head and tail of a long text within `maxChars` and marks the cut with how much was
 * left out, so a reader knows it is not seeing everything. Cuts land on line boundaries when one
 * is near, so the kept lines are whole.
 */
export function trimOutput(text: string, maxChars: number, options: TrimOptions = {}): string {
  if (text.length <= maxChars) return text;
  const headShare = options.headShare ?? 0.5;
  // The marker's length depends on the numbers in it; reserve room for the widest it can be.
  const reserve = marker(text.length, countLines(text)).length;
  const budget = Math.max(0, maxChars - reserve);
  let headEnd = snapHead(text, Math.floor(budget * headShare));
  let tailStart = snapTail(text, text.length - (budget - headEnd));
  // Never cut between the halves of a surrogate pair: the head gives its half back, the tail skips it.
  if (isLowSurrogate(text, headEnd)) headEnd--;
  if (isLowSurrogate(text, tailStart)) tailStart++;
  const omitted = text.slice(headEnd, tailStart);
  return `${text.slice(0, headEnd)}${marker(omitted.length, countLines(omitted))}${text.slice(tailStart)}`;
}

/** The last `lines` lines of a text, each at most `lineChars` long, for a short excerpt a person reads. */
export function lastLines(text: string, lines: number, lineChars = 200): string {
  const all = text.replace(/\s+$/, '').split('\n');
  const kept = all.slice(-lines).map((line) => (line.length > lineChars ? `${line.slice(0, lineChars)}…` : line));
  const skipped = all.length - kept.length;
  return skipped > 0 ? [`… (${skipped} earlier lines)`, ...kept].join('\n') : kept.join('\n');
}

function marker(chars: number, lines: number): string {
  return `\n… [${chars} chars, ${lines} lines left out] …\n`;
}

function countLines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Moves a head cut back to just after a newline when that loses at most a fifth of the head. */
function snapHead(text: string, end: number): number {
  const newline = text.lastIndexOf('\n', end - 1);
  return newline >= 0 && end - (newline + 1) <= end / 5 ? newline + 1 : end;
}

/** Moves a tail cut forward to just after a newline when that loses at most a fifth of the tail. */
function snapTail(text: string, start: number): number {
  if (start > 0 && text[start - 1] === '\n') return start;
  const newline = text.indexOf('\n', start);
  const tail = text.length - start;
  return newline >= 0 && newline + 1 - start <= tail / 5 ? newline + 1 : start;
}

function isLowSurrogate(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  return index > 0 && code >= 0xdc00 && code <= 0xdfff;
}
