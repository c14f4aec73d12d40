import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { editFile } from '../../../src/agent/tools/edit-file.js';
import { type Harness, makeHarness } from './harness.js';

describe('edit_file', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('replaces the one match and shows the new lines', async () => {
    const result = await h.call(editFile, {
      path: 'src/lib/math.ts',
      old_text: '  return a + b;\n',
      new_text: '  const sum = a + b;\n  return sum;\n',
    });
    expect(await h.sh('cat src/lib/math.ts')).toBe(
      'export function add(a, b) {\n  const sum = a + b;\n  return sum;\n}\n',
    );
    expect(result.action).toEqual({ kind: 'file-edited', path: 'src/lib/math.ts', added: 2, removed: 1 });
    expect(result.output).toBe(
      [
        'Edited src/lib/math.ts: replaced 1 line at line 2 with 2 (+2 −1).',
        'Lines 1-4 now read:',
        '   1| export function add(a, b) {',
        '   2|   const sum = a + b;',
        '   3|   return sum;',
        '   4| }',
      ].join('\n'),
    );
  });

  it('deletes text when new_text is empty', async () => {
    const result = await h.call(editFile, { path: 'README.md', old_text: '# Widgets\n', new_text: '' });
    expect(result.action).toEqual({ kind: 'file-edited', path: 'README.md', added: 0, removed: 1 });
    expect(await h.sh('cat README.md')).toBe('');
  });

  it('refuses when old_text is not found, and says so', async () => {
    const result = await h.call(editFile, { path: 'src/index.ts', old_text: 'answer = 43', new_text: 'x' });
    expect(result.output).toBe(
      'Error: old_text was not found in src/index.ts; read_file it to see its current content.',
    );
    expect(result.action?.kind).toBe('failed');
    expect(await h.sh('cat src/index.ts')).toBe('export const answer = 42;\n');
  });

  it('points at a match that differs only in whitespace', async () => {
    const result = await h.call(editFile, {
      path: 'src/lib/math.ts',
      old_text: 'export function add(a, b) {\n    return a + b;\n}',
      new_text: 'x',
    });
    expect(result.output).toContain('matches when whitespace is ignored, starting at line 1');
    expect(result.output).toContain('2|   return a + b;');
  });

  it('points at where the first line matches when the rest differs', async () => {
    const result = await h.call(editFile, {
      path: 'src/lib/math.ts',
      old_text: 'export function add(a, b) {\n  return a - b;',
      new_text: 'x',
    });
    expect(result.output).toMatch(
      /^Error: old_text was not found in src\/lib\/math\.ts\. Its first line appears at line 1/,
    );
  });

  it('notices line-number prefixes copied from read_file', async () => {
    const result = await h.call(editFile, {
      path: 'src/index.ts',
      old_text: '   1| export const answer = 42;',
      new_text: 'x',
    });
    expect(result.output).toMatch(/line-number prefixes/);
  });

  it('refuses when old_text matches several times, with the lines', async () => {
    await h.sh('printf "a = 1\\nb = 2\\na = 1\\n" > conf.txt');
    const result = await h.call(editFile, { path: 'conf.txt', old_text: 'a = 1', new_text: 'a = 3' });
    expect(result.output).toBe(
      'Error: old_text matches 2 times in conf.txt (at lines 1, 3); include more surrounding lines so it matches exactly once.',
    );
    expect(await h.sh('cat conf.txt')).toBe('a = 1\nb = 2\na = 1\n');
    const unique = await h.call(editFile, { path: 'conf.txt', old_text: 'b = 2\na = 1', new_text: 'b = 2\na = 3' });
    expect(unique.action).toEqual({ kind: 'file-edited', path: 'conf.txt', added: 1, removed: 1 });
    expect(await h.sh('cat conf.txt')).toBe('a = 1\nb = 2\na = 3\n');
  });

  it('keeps CRLF line endings when the edit was written with LF', async () => {
    await h.sh('printf "one\\r\\ntwo\\r\\nthree\\r\\n" > dos.txt');
    const result = await h.call(editFile, { path: 'dos.txt', old_text: 'one\ntwo', new_text: 'one\n2' });
    expect(result.action).toEqual({ kind: 'file-edited', path: 'dos.txt', added: 1, removed: 1 });
    expect(await h.sh('cat dos.txt')).toBe('one\r\n2\r\nthree\r\n');
  });

  it.each([
    [{ path: 'nope.ts', old_text: 'a', new_text: 'b' }, /^Error: nope\.ts does not exist/],
    [{ path: 'src/index.ts', old_text: '', new_text: 'b' }, /^Error: old_text is empty/],
    [{ path: 'src/index.ts', old_text: 'answer', new_text: 'answer' }, /^Error: old_text and new_text are the same/],
    [{ path: '../x', old_text: 'a', new_text: 'b' }, /^Error: .*outside the repo root/],
    [{ path: '/etc/passwd', old_text: 'a', new_text: 'b' }, /^Error: .*absolute/],
    [{ path: '.git/HEAD', old_text: 'ref', new_text: 'b' }, /^Error: .*inside \.git/],
  ])('refuses %j', async (args, why) => {
    expect((await h.call(editFile, args)).output).toMatch(why);
  });
});
