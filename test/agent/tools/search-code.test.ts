import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { searchCode } from '../../../src/agent/tools/search-code.js';
import { type Harness, makeHarness } from './harness.js';

describe('search_code', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
    await h.sh(
      'mkdir -p node_modules/dep && printf "export const answer = 1;\\n" > node_modules/dep/index.js && ' +
        'printf "answer\\n" > .git/answer-notes && printf "a:b answer here\\n" > "docs/odd:name.md"',
    );
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('finds matching lines as path:line: text, skipping .git and node_modules', async () => {
    const result = await h.call(searchCode, { pattern: 'answer', path: null });
    expect(result.output.split('\n')).toEqual([
      '2 matches in 2 files for /answer/ in the repo:',
      ...['docs/odd:name.md:1: a:b answer here', 'src/index.ts:1: export const answer = 42;'].sort(),
    ]);
    expect(result.action).toEqual({ kind: 'code-searched', pattern: 'answer', matches: 2 });
  });

  it('treats the pattern as a regular expression and searches only the path given', async () => {
    const result = await h.call(searchCode, { pattern: 'return \\w+ \\+ b;', path: 'src' });
    expect(result.output).toBe(
      '1 match in 1 file for /return \\w+ \\+ b;/ in src:\nsrc/lib/math.ts:2:   return a + b;',
    );
    const none = await h.call(searchCode, { pattern: 'answer', path: 'src/lib' });
    expect(none.output).toBe('No matches for /answer/ in src/lib.');
    expect(none.action).toEqual({ kind: 'code-searched', pattern: 'answer', matches: 0 });
  });

  it('says "no matches" when nothing matches', async () => {
    expect((await h.call(searchCode, { pattern: 'zebra' })).output).toBe('No matches for /zebra/ in the repo.');
  });

  it('returns the error for a bad regular expression', async () => {
    const result = await h.call(searchCode, { pattern: 'foo(' });
    expect(result.output).toMatch(/^Error: The search failed: .*parenthes.*The pattern is a regular expression/is);
    expect(result.action?.kind).toBe('failed');
  });

  it('caps the matches and says there are more', async () => {
    await h.sh('seq -f "needle %g" 1 250 > many.txt');
    const result = await h.call(searchCode, { pattern: 'needle' });
    const lines = result.output.split('\n');
    expect(lines[0]).toBe(
      'The first 200 matches for /needle/ in the repo (there are more; narrow the pattern or path):',
    );
    expect(lines).toHaveLength(201);
    expect(lines[200]).toBe('many.txt:200: needle 200');
  });

  it('refuses paths outside the repo and explains a missing one', async () => {
    for (const path of ['../x', '/etc', 'a/../../x']) {
      expect((await h.call(searchCode, { pattern: 'root', path })).output).toMatch(/^Error: .*(outside|absolute)/);
    }
    expect((await h.call(searchCode, { pattern: 'x', path: 'nope' })).output).toBe('Error: nope does not exist.');
  });
});
