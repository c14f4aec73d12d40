export interface LineChanges {
  added: number;
  removed: number;
  /** False when the counts come from the multiset approximation (see `countLineChanges`). */
  exact: boolean;
}

/**
 * Above this many cells (changed lines before × after) the exact count costs too much time
 * for a progress line; 4M cells of a two-row table take a few milliseconds.
 */
export const EXACT_DIFF_MAX_CELLS = 4_000_000;

/** Splits text into lines; a final newline ends the last line rather than starting an empty one. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Counts lines added and removed between two texts, as `git diff --numstat` would.
 *
 * The common head and tail are stripped first, so an edit in a large file stays cheap. What is
 * left is compared exactly (longest common subsequence) while it fits `maxCells`; beyond that a
 * multiset comparison is used, which ignores order: a moved line counts as unchanged, so the
 * counts may be lower than git's, never higher. A final newline added or dropped is not counted.
 */
export function countLineChanges(before: string, after: string, maxCells = EXACT_DIFF_MAX_CELLS): LineChanges {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const middleA = a.slice(start, endA);
  const middleB = b.slice(start, endB);
  if (middleA.length === 0 || middleB.length === 0) {
    return { added: middleB.length, removed: middleA.length, exact: true };
  }
  if (middleA.length * middleB.length <= maxCells) {
    const common = lcsLength(middleA, middleB);
    return { added: middleB.length - common, removed: middleA.length - common, exact: true };
  }
  const common = multisetCommon(middleA, middleB);
  return { added: middleB.length - common, removed: middleA.length - common, exact: false };
}

/** Length of the longest common subsequence, in O(n·m) time and O(m) memory. */
function lcsLength(a: string[], b: string[]): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (const lineA of a) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = lineA === b[j - 1] ? (previous[j - 1] ?? 0) + 1 : Math.max(previous[j] ?? 0, current[j - 1] ?? 0);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length] ?? 0;
}

/** How many lines the two sides share, ignoring order. */
function multisetCommon(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const line of a) counts.set(line, (counts.get(line) ?? 0) + 1);
  let common = 0;
  for (const line of b) {
    const left = counts.get(line) ?? 0;
    if (left === 0) continue;
    counts.set(line, left - 1);
    common++;
  }
  return common;
}
