import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDirectory } from '../../../src/agent/tools/create-directory.js';
import { saveContentToFile } from '../../../src/agent/tools/save-content-to-file.js';
import { type Harness, makeHarness } from './harness.js';

describe('save_content_to_file', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('creates a file and its parent directories, writing the content exactly', async () => {
    const content = 'héllo\nwörld';
    const result = await h.call(saveContentToFile, { path: 'a/b/c.txt', content });
    expect(result.output).toBe('Wrote 13 bytes to a/b/c.txt (new file, 2 lines).');
    expect(result.action).toEqual({
      kind: 'file-written',
      path: 'a/b/c.txt',
      bytes: 13,
      added: 2,
      removed: 0,
      created: true,
    });
    // Byte for byte: no newline was added at the end.
    expect(await h.sh('cat a/b/c.txt')).toBe(content);
  });

  it('replaces a file and counts lines added and removed against the old content', async () => {
    const content = 'export function add(a, b) {\n  return b + a;\n}\n\nexport const zero = 0;\n';
    const result = await h.call(saveContentToFile, { path: 'src/lib/math.ts', content });
    expect(result.output).toBe('Wrote 70 bytes to src/lib/math.ts (replaced the previous content: +3 −1 lines).');
    expect(result.action).toMatchObject({ kind: 'file-written', added: 3, removed: 1, created: false });
  });

  it('writes an empty file', async () => {
    const result = await h.call(saveContentToFile, { path: 'empty', content: '' });
    expect(result.output).toBe('Wrote 0 bytes to empty (new file, 0 lines).');
    expect(await h.sh('wc -c < empty')).toBe('0\n');
  });

  it('refuses content over 2 MB, and still replaces a file too big to read with small content', async () => {
    const big = await h.call(saveContentToFile, { path: 'big.txt', content: 'a'.repeat(2 * 1024 * 1024 + 1) });
    expect(big.ok).toBe(false);
    expect(big.output).toMatch(/would be 2097153 bytes, more than the 2097152 bytes a tool writes/);
    expect(await h.sh('test -e big.txt && echo there || echo absent')).toBe('absent\n');
    await h.sh('head -c 3000000 /dev/zero > huge.bin');
    const replaced = await h.call(saveContentToFile, { path: 'huge.bin', content: 'small\n' });
    expect(replaced.ok).toBe(true);
    expect(await h.sh('cat huge.bin')).toBe('small\n');
  });

  it.each([
    ['.git/config', /inside \.git/],
    ['../outside.txt', /outside the repo root/],
    ['/etc/passwd', /absolute/],
    ['a/../../x', /outside the repo root/],
    ['.', /repo root itself/],
    ['src', /src is a directory/],
    ['README.md/x', /part of that path is a file/],
  ])('refuses %s', async (path, why) => {
    const result = await h.call(saveContentToFile, { path, content: 'x' });
    expect(result.output).toMatch(/^Error: /);
    expect(result.output).toMatch(why);
  });
});

describe('create_directory', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('creates a directory with its parents, and says when it existed', async () => {
    const created = await h.call(createDirectory, { path: 'x/y/z' });
    expect(created.output).toBe('Created directory x/y/z/.');
    expect(created.action).toEqual({ kind: 'directory-created', path: 'x/y/z', existed: false });
    expect(await h.sh('test -d x/y/z && echo yes')).toBe('yes\n');
    const again = await h.call(createDirectory, { path: 'x/y/z/' });
    expect(again.output).toBe('Directory x/y/z/ already exists.');
    expect(again.action).toEqual({ kind: 'directory-created', path: 'x/y/z', existed: true });
  });

  it('refuses a path that is a file, inside .git or outside the repo', async () => {
    expect((await h.call(createDirectory, { path: 'README.md' })).output).toBe(
      'Error: README.md (or a directory above it) already exists as a file.',
    );
    expect((await h.call(createDirectory, { path: '.git/x' })).output).toMatch(/^Error: .*inside \.git/);
    expect((await h.call(createDirectory, { path: '../x' })).output).toMatch(/^Error: .*outside the repo root/);
  });
});
