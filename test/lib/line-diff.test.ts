import { describe, expect, it } from 'vitest';
import { countLineChanges, splitLines } from '../../src/lib/line-diff.js';

describe('splitLines', () => {
  it('treats a final newline as the end of the last line', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a')).toEqual(['a']);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('\n')).toEqual(['']);
  });
});

describe('countLineChanges', () => {
  it('counts a new file as all added and a deleted one as all removed', () => {
    expect(countLineChanges('', 'a\nb\n')).toEqual({ added: 2, removed: 0, exact: true });
    expect(countLineChanges('a\nb\n', '')).toEqual({ added: 0, removed: 2, exact: true });
  });

  it('counts a changed line as one removed and one added', () => {
    expect(countLineChanges('a\nb\nc\n', 'a\nB\nc\n')).toEqual({ added: 1, removed: 1, exact: true });
  });

  it('matches git for insertions in the middle and reordered lines', () => {
    expect(countLineChanges('a\nb\nc\nd\n', 'a\nx\nb\nc\ny\nd\n')).toEqual({ added: 2, removed: 0, exact: true });
    // Moving a line is one removal and one addition, as in git diff.
    expect(countLineChanges('a\nb\nc\n', 'b\nc\na\n')).toEqual({ added: 1, removed: 1, exact: true });
  });

  it('falls back to an order-blind count above the size cap', () => {
    const before = 'a\nb\nc\nd\n';
    const after = 'd\nc\nb\na\ne\n';
    expect(countLineChanges(before, after)).toEqual({ added: 4, removed: 3, exact: true });
    expect(countLineChanges(before, after, 4)).toEqual({ added: 1, removed: 0, exact: false });
  });

  it('stays exact for a small edit in a large file, because the common head and tail are set aside', () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i}`);
    const edited = [...lines];
    edited[100_000] = 'changed';
    expect(countLineChanges(lines.join('\n'), edited.join('\n'))).toEqual({ added: 1, removed: 1, exact: true });
  });
});
