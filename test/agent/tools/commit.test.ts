import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commit } from '../../../src/agent/tools/commit.js';
import { BRANCH, type Harness, makeHarness } from './harness.js';

describe('commit', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('commits every change on the thread branch as the bot, dated in UTC', async () => {
    await h.sh('echo more >> README.md && rm src/index.ts && mkdir -p new && echo hi > new/file.txt');
    const result = await h.call(commit, { message: 'Tidy the readme\n\nAnd add a file.' });
    const sha = (await h.sh('git rev-parse --short HEAD')).trim();
    expect(result.output).toBe(
      `Committed ${sha} on ${BRANCH}: 3 files changed\nM\tREADME.md\nA\tnew/file.txt\nD\tsrc/index.ts`,
    );
    expect(result.action).toEqual({ kind: 'commit', sha, message: 'Tidy the readme', files: 3 });
    const log = await h.sh('git log -1 --format="%an|%ae|%ai|%cn|%ce|%ci|%B"');
    expect(log).toMatch(
      /^ai-dev\|ai-dev@users\.noreply\.github\.com\|[\d-]+ [\d:]+ \+0000\|ai-dev\|ai-dev@users\.noreply\.github\.com\|[\d-]+ [\d:]+ \+0000\|Tidy the readme\n\nAnd add a file\.\n/,
    );
    expect(await h.sh('git status --porcelain')).toBe('');
    expect(await h.sh('git rev-list --count HEAD')).toBe('2\n');
  });

  it('says plainly when there is nothing to commit', async () => {
    const result = await h.call(commit, { message: 'Nothing' });
    expect(result.output).toBe(`Nothing to commit: the working tree of ${BRANCH} has no changes.`);
    expect(result.action).toBeUndefined();
    expect(await h.sh('git rev-list --count HEAD')).toBe('1\n');
  });

  it('refuses on another branch or a detached HEAD, saying how to get back', async () => {
    await h.sh('git checkout -q -b other && echo x >> README.md');
    const result = await h.call(commit, { message: 'Wrong place' });
    expect(result.output).toMatch(
      /^Error: The repo is on branch other, not on this thread's branch ai-dev\/test-branch/,
    );
    expect(result.output).toContain(`git checkout ${BRANCH}`);
    expect(result.action?.kind).toBe('failed');
    await h.sh('git checkout -q --detach');
    expect((await h.call(commit, { message: 'Detached' })).output).toMatch(/^Error: The repo is on a detached HEAD/);
    expect(await h.sh('git rev-list --count HEAD')).toBe('1\n');
  });

  it('refuses an empty message', async () => {
    await h.sh('echo x >> README.md');
    expect((await h.call(commit, { message: '  ' })).output).toBe(
      'Error: The commit message is empty; say what the change does.',
    );
  });

  it('passes a message with quotes and dollars through untouched', async () => {
    await h.sh('echo x >> README.md');
    const message = 'Fix "quoted" $HOME `tick` \'single\'';
    await h.call(commit, { message });
    expect(await h.sh('git log -1 --format=%B')).toBe(`${message}\n\n`);
  });
});
