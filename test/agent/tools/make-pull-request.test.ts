import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makePullRequest } from '../../../src/agent/tools/make-pull-request.js';
import { AppError } from '../../../src/lib/errors.js';
import { SandboxGoneError } from '../../../src/sandbox/sandbox.js';
import { BRANCH, type Harness, makeHarness } from './harness.js';

describe('make_pull_request', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('commits leftover changes with the title, then publishes and returns the URL', async () => {
    await h.sh('echo more >> README.md');
    const result = await h.call(makePullRequest, { title: 'Improve the readme', body: 'Adds a line.' });
    const sha = (await h.sh('git rev-parse --short HEAD')).trim();
    expect(result.output).toBe(
      [
        'Opened pull request #7: https://github.com/acme/widgets/pull/7',
        `Branch ${BRANCH} into main.`,
        `Uncommitted changes were committed first as ${sha} (1 file), with the title as message.`,
      ].join('\n'),
    );
    expect(result.action).toEqual({
      kind: 'pull-request',
      url: 'https://github.com/acme/widgets/pull/7',
      number: 7,
      created: true,
      branch: BRANCH,
    });
    expect(h.published).toEqual([{ title: 'Improve the readme', body: 'Adds a line.' }]);
    expect(await h.sh('git log -1 --format="%s|%an"')).toBe('Improve the readme|ai-dev\n');
    expect(await h.sh('git status --porcelain')).toBe('');
  });

  it('updates the same pull request on a second call, with nothing to commit', async () => {
    await h.call(makePullRequest, { title: 'First', body: '' });
    const again = await h.call(makePullRequest, { title: 'Second', body: 'More.' });
    expect(again.output).toBe(
      `Updated pull request #7: https://github.com/acme/widgets/pull/7\nBranch ${BRANCH} into main.`,
    );
    expect(h.published).toHaveLength(2);
    expect(await h.sh('git rev-list --count HEAD')).toBe('1\n');
  });

  it('refuses on another branch without publishing', async () => {
    await h.sh('git checkout -q -b elsewhere');
    const result = await h.call(makePullRequest, { title: 'Nope', body: '' });
    expect(result.output).toMatch(/^Error: The repo is on branch elsewhere/);
    expect(h.published).toEqual([]);
  });

  it('returns a permanent publish failure to the model and throws a transient one', async () => {
    h.context.publish = async () => {
      throw new AppError('github_forbidden', 'GitHub refused the push: the token cannot write to acme/widgets');
    };
    expect((await h.call(makePullRequest, { title: 'T', body: '' })).output).toBe(
      'Error: GitHub refused the push: the token cannot write to acme/widgets',
    );
    h.context.publish = async () => {
      throw new SandboxGoneError('local-1');
    };
    await expect(h.call(makePullRequest, { title: 'T', body: '' })).rejects.toBeInstanceOf(SandboxGoneError);
  });

  it('refuses an empty title', async () => {
    expect((await h.call(makePullRequest, { title: ' ', body: 'x' })).output).toMatch(/^Error: The title is empty/);
  });
});
