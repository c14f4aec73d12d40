import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listFiles } from '../../../src/agent/tools/list-files.js';
import { type Harness, makeHarness } from './harness.js';

describe('list_files', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('lists the root sorted, marks directories and symlinks, hides .git', async () => {
    await h.sh('ln -s README.md link.md');
    const result = await h.call(listFiles, { path: '.' });
    expect(result.output.split('\n')).toEqual(['./ (4 entries):', 'README.md', 'docs/', 'link.md@', 'src/']);
    expect(result.action).toEqual({ kind: 'files-listed', path: '.', count: 4 });
  });

  it('lists a subdirectory and says when a directory is empty', async () => {
    expect((await h.call(listFiles, { path: 'src/' })).output).toBe('src/ (2 entries):\nindex.ts\nlib/');
    expect((await h.call(listFiles, { path: 'docs', repo: null })).output).toBe('docs/ is empty.');
  });

  it('caps long listings with a note', async () => {
    await h.sh('mkdir many && cd many && for i in $(seq 1 510); do : > "f$i"; done');
    const result = await h.call(listFiles, { path: 'many' });
    expect(result.output).toContain('many/ (510 entries):');
    expect(result.output).toContain('… and 10 more entries');
    expect(result.output.split('\n')).toHaveLength(1 + 500 + 1);
  });

  it.each([
    ['nope', 'Error: nope does not exist.'],
    ['README.md', 'Error: README.md is a file, not a directory; use read_file to read it.'],
  ])('explains why %s cannot be listed', async (path, output) => {
    const result = await h.call(listFiles, { path });
    expect(result.output).toBe(output);
    expect(result.action).toEqual({ kind: 'failed', error: output.slice('Error: '.length) });
  });

  it.each(['../x', '/etc', 'a/../../x'])('refuses %s outside the repo', async (path) => {
    expect((await h.call(listFiles, { path })).output).toMatch(/^Error: .*(outside the repo root|absolute)/);
  });
});
