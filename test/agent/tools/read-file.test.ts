import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFile } from '../../../src/agent/tools/read-file.js';
import { type Harness, makeHarness } from './harness.js';

describe('read_file', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    await h.sh('seq -f "row %g" 1 1000 > big.txt');
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('shows a small file whole, with numbered lines', async () => {
    const result = await h.call(readFile, { path: 'src/lib/math.ts' });
    expect(result.output).toBe(
      'src/lib/math.ts (3 lines):\n   1| export function add(a, b) {\n   2|   return a + b;\n   3| }',
    );
    expect(result.action).toEqual({ kind: 'file-read', path: 'src/lib/math.ts', lines: '1-3' });
  });

  it('windows a large file and says how to read on', async () => {
    const first = await h.call(readFile, { path: 'big.txt', start_line: null, end_line: null });
    const lines = first.output.split('\n');
    expect(lines[0]).toBe('big.txt: lines 1-300 of 1000:');
    expect(lines[1]).toBe('   1| row 1');
    expect(lines[300]).toBe(' 300| row 300');
    expect(lines.at(-1)).toBe('[lines 301-1000 not shown; call read_file with start_line=301 for more]');

    const next = await h.call(readFile, { path: 'big.txt', start_line: 301 });
    expect(next.output.split('\n')[1]).toBe(' 301| row 301');
    expect(next.action).toEqual({ kind: 'file-read', path: 'big.txt', lines: '301-600' });

    const last = await h.call(readFile, { path: 'big.txt', start_line: 990, end_line: 5000 });
    expect(last.output.split('\n')).toEqual([
      'big.txt: lines 990-1000 of 1000:',
      ...Array.from({ length: 11 }, (_, i) => `${String(990 + i).padStart(4)}| row ${990 + i}`),
    ]);
  });

  it('shows fewer lines when they would pass outputMaxChars', async () => {
    h.context.limits.outputMaxChars = 1000;
    const result = await h.call(readFile, { path: 'big.txt' });
    expect(result.output.length).toBeLessThanOrEqual(1000);
    const shownLast = /lines 1-(\d+) of 1000/.exec(result.output)?.[1];
    expect(Number(shownLast)).toBeLessThan(300);
    expect(result.output).toContain(`start_line=${Number(shownLast) + 1}`);
  });

  it('cuts a single line longer than the whole budget', async () => {
    h.context.limits.outputMaxChars = 1000;
    await h.sh('head -c 5000 /dev/zero | tr "\\0" x > min.js');
    const result = await h.call(readFile, { path: 'min.js' });
    expect(result.output).toMatch(/line cut: \d+ more chars/);
    expect(result.output.length).toBeLessThan(1100);
  });

  it('refuses a window that starts past the end or runs backwards', async () => {
    expect((await h.call(readFile, { path: 'big.txt', start_line: 1001 })).output).toBe(
      'Error: start_line 1001 is past the end: big.txt has 1000 lines.',
    );
    expect((await h.call(readFile, { path: 'big.txt', start_line: 10, end_line: 5 })).output).toBe(
      'Error: end_line 5 is before start_line 10.',
    );
    expect(readFile.parse({ path: 'big.txt', start_line: 0 }).ok).toBe(false);
  });

  it('says when a file is empty and shows CRLF files cleanly', async () => {
    await h.sh(': > empty.txt && printf "a\\r\\nb\\r\\n" > dos.txt');
    expect((await h.call(readFile, { path: 'empty.txt' })).output).toBe('empty.txt is empty (0 lines).');
    expect((await h.call(readFile, { path: 'dos.txt' })).output).toBe(
      'dos.txt (2 lines, CRLF line endings):\n   1| a\n   2| b',
    );
  });

  it('refuses binary files politely', async () => {
    await h.sh('printf "\\x89PNG\\r\\n\\x1a\\n\\x00\\x00" > logo.png && printf "\\xff\\xfe bad utf8" > latin.txt');
    const png = await h.call(readFile, { path: 'logo.png' });
    expect(png.output).toMatch(/^Error: logo\.png is a binary file \(10 bytes\)/);
    expect(png.action?.kind).toBe('failed');
    expect((await h.call(readFile, { path: 'latin.txt' })).output).toMatch(/binary file/);
  });

  it('explains missing files, directories and paths outside the repo', async () => {
    expect((await h.call(readFile, { path: 'nope.ts' })).output).toBe(
      'Error: nope.ts does not exist; list_files shows what is there.',
    );
    expect((await h.call(readFile, { path: 'src' })).output).toBe(
      'Error: src is a directory; use list_files to see what is in it.',
    );
    for (const path of ['../x', '/etc/passwd', 'a/../../x']) {
      expect((await h.call(readFile, { path })).output).toMatch(/^Error: .*(outside the repo root|absolute)/);
    }
  });

  it('never reads more than 2 MB into the bot: a big file, a device behind a symlink', async () => {
    await h.sh('head -c 3000000 /dev/zero | tr "\\0" a > huge.txt && ln -s /dev/zero zero && mkfifo pipe');
    const huge = await h.call(readFile, { path: 'huge.txt' });
    expect(huge.ok).toBe(false);
    expect(huge.output).toMatch(
      /^Error: huge\.txt is larger than 2097152 bytes \(or never ends\), so it is not read here/,
    );
    const zero = await h.call(readFile, { path: 'zero' });
    expect(zero.output).toBe('Error: zero is not a regular file (a device, a pipe or a socket), so it is not read.');
    const pipe = await h.call(readFile, { path: 'pipe' });
    expect(pipe.output).toMatch(/pipe is not a regular file/);
  });
});
