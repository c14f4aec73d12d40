import { describe, expect, it } from 'vitest';
import { planEdit } from '../../../src/agent/tools/edit-file.js';

// Overlapping matches are two places too: "aa" in "aaa" starts at 0 and at 1, so the edit is ambiguous.
describe('planEdit with overlapping matches', () => {
  it('refuses text that matches at overlapping places', () => {
    expect(() => planEdit('aaa\n', 'aa', 'b', 'f.txt')).toThrow(/old_text matches 2 times in f\.txt \(at lines 1, 1\)/);
  });

  it('refuses an overlapping match across lines', () => {
    const text = 'end\nend\nend\n';
    expect(() => planEdit(text, 'end\nend\n', 'x\n', 'g.txt')).toThrow(/matches 2 times in g\.txt \(at lines 1, 2\)/);
  });

  it('edits text that matches once', () => {
    expect(planEdit('abc\n', 'b', 'B', 'h.txt').after).toBe('aBc\n');
  });
});
