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

/**
 * Like `trimOutput` for a text known only by its head and its tail: the `omittedBytes` (UTF-8) between them
 * were never read, so their lines cannot be counted and the cut is marked in bytes. Keeps as much of the
 * head (its `headShare` of the budget) and of the tail as fits in `maxChars`, cutting on line boundaries
 * when one is near; what it cuts from them is added to the count.
 */
export function trimParts(
  head: string,
  tail: string,
  omittedBytes: number,
  maxChars: number,
  options: TrimOptions = {},
): string {
  const headShare = options.headShare ?? 0.5;
  const reserve = byteMarker(utf8Length(head) + omittedBytes + utf8Length(tail)).length;
  const budget = Math.max(0, maxChars - reserve);
  const headWanted = Math.min(head.length, Math.floor(budget * headShare));
  let headEnd = headWanted > 0 ? snapHead(head, headWanted) : 0;
  if (isLowSurrogate(head, headEnd)) headEnd--;
  let tailStart = snapTail(tail, Math.max(0, tail.length - (budget - headEnd)));
  if (isLowSurrogate(tail, tailStart)) tailStart++;
  const omitted = omittedBytes + utf8Length(head.slice(headEnd)) + utf8Length(tail.slice(0, tailStart));
  return `${head.slice(0, headEnd)}${byteMarker(omitted)}${tail.slice(tailStart)}`;
}

/**
 * The last `lines` lines of a text, each at most `lineChars` long, for a short excerpt a person reads.
 * `cutBefore` says the text is only the end of a longer one, so how many lines came earlier is not known.
 */
export function lastLines(text: string, lines: number, lineChars = 200, cutBefore = false): string {
  const all = text.replace(/\s+$/, '').split('\n');
  const kept = all.slice(-lines).map((line) => (line.length > lineChars ? `${line.slice(0, lineChars)}…` : line));
  const skipped = all.length - kept.length;
  if (cutBefore) return ['… (earlier output left out)', ...kept].join('\n');
  return skipped > 0 ? [`… (${skipped} earlier lines)`, ...kept].join('\n') : kept.join('\n');
}

/** Characters of each stream a sandbox's `exec` keeps in memory (see `CappedOutput`). */
export const EXEC_OUTPUT_MAX_CHARS = 16 * 1024 * 1024;

/**
 * Collects a stream of text chunks in bounded memory: the first half of `maxChars` and the most recent
 * half; what falls between is dropped as it arrives, counted, and marked like `trimOutput` marks a cut.
 * Memory stays near `maxChars` however long the stream runs.
 */
export class CappedOutput {
  private head = '';
  private readonly tail: string[] = [];
  private tailChars = 0;
  private droppedChars = 0;
  private droppedLines = 0;
  private readonly headMax: number;
  private readonly tailMax: number;

  constructor(maxChars: number = EXEC_OUTPUT_MAX_CHARS) {
    this.headMax = Math.floor(Math.max(2, maxChars) / 2);
    this.tailMax = Math.max(2, maxChars) - this.headMax;
  }

  push(text: string): void {
    let chunk = text;
    if (chunk === '') return;
    if (this.head.length < this.headMax) {
      let take = Math.min(chunk.length, this.headMax - this.head.length);
      if (take < chunk.length && isLowSurrogate(chunk, take)) take--;
      this.head += chunk.slice(0, take);
      chunk = chunk.slice(take);
      if (chunk === '') return;
    }
    if (chunk.length > this.tailMax) {
      let start = chunk.length - this.tailMax;
      if (isLowSurrogate(chunk, start)) start++;
      this.drop(chunk.slice(0, start));
      // A copy, so the kept part does not hold on to the whole (possibly huge) chunk.
      chunk = Buffer.from(chunk.slice(start), 'utf16le').toString('utf16le');
    }
    this.tail.push(chunk);
    this.tailChars += chunk.length;
    // Whole chunks leave the front once the rest still covers the tail's share.
    while (this.tail.length > 1) {
      const first = this.tail[0] ?? '';
      if (this.tailChars - first.length < this.tailMax) break;
      this.tail.shift();
      this.tailChars -= first.length;
      this.drop(first);
    }
  }

  toString(): string {
    const tail = this.tail.join('');
    if (this.droppedChars === 0 && tail.length <= this.tailMax) return `${this.head}${tail}`;
    let start = Math.max(0, tail.length - this.tailMax);
    if (isLowSurrogate(tail, start)) start++;
    const cut = tail.slice(0, start);
    const chars = this.droppedChars + cut.length;
    return `${this.head}${marker(chars, this.droppedLines + countLines(cut))}${tail.slice(start)}`;
  }

  private drop(text: string): void {
    this.droppedChars += text.length;
    this.droppedLines += countLines(text);
  }
}

function marker(chars: number, lines: number): string {
  return `\n… [${chars} chars, ${lines} lines left out] …\n`;
}

function byteMarker(bytes: number): string {
  return `\n… [${bytes} bytes left out] …\n`;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
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
