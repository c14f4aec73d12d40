import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FollowedPrStore } from '../../src/store/followed-prs.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { openStore } from '../../src/store/open-store.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { captureLogger } from '../helpers/logger.js';
import { publishScript, waitFor } from '../helpers/scripted-runs.js';

/** Checks are polled every few ms; reviews only once a minute until the restart makes it every few ms. */
const FAST_POLLING = { ciPolling: { minDelayMs: 10, maxDelayMs: 40, noChecksAfterMs: 60_000, maxWaitMs: 120_000 } };

describe('the PRs followed survive a restart (token mode)', () => {
  let h: Harness;
  let store: KeyValueStore;
  let followed: FollowedPrStore;

  beforeAll(async () => {
    h = await startHarness({ env: { CI_FIX_ATTEMPTS: '2' }, overrides: FAST_POLLING });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    h.github.setCollaborator('acme', 'widgets', 'alice', 'write');
    await h.command('link acme/widgets', { expectResponse: true });
    // A second connection to the bot's SQLite file: what the bot persisted, as a restarted bot reads it.
    const { logger } = captureLogger();
    store = await openStore(h.env.STORE_URL ?? '', logger);
    followed = new FollowedPrStore(store, logger);
  });
  afterAll(async () => {
    await store?.close();
    await h?.close();
  });

  const threadText = (root: string) =>
    h
      .thread(root)
      .map((m) => m.text)
      .join('\n');
  const pullOf = (root: string) => async () => (await followed.list()).find((entry) => entry.threadTs === root);

  it('after a restart, a failing check is still fixed and a review still becomes a follow-up', async () => {
    h.openai.script(publishScript('one.txt', '1\n', 'Added one.txt.'));
    const root = await h.mention('add one.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    expect(await waitFor('the PR remembered', pullOf(root))).toMatchObject({ repo: 'acme/widgets', pr: pull?.number });

    await h.restart({}, { reviewPollMs: 25 });

    h.openai.script(publishScript('one.txt', '1 fixed\n', 'Fixed the failure.'));
    await h.github.addCheckRun('acme', 'widgets', {
      sha: pull?.headSha ?? '',
      name: 'test (ubuntu)',
      conclusion: 'failure',
      actions: { log: '##[error]expected 1, got 2\n' },
    });
    await waitFor('attempt 1', () => threadText(root).includes('checks failed: test (ubuntu) — fixing, attempt 1/2'));
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');

    h.openai.script(publishScript('one.txt', 'ONE\n', 'Upper-cased it.'));
    await h.github.addReview('acme', 'widgets', pull?.number ?? 0, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Upper-case the file, please.',
    });
    await waitFor('the follow-up', () => threadText(root).includes('got a review by @alice'));
    expect(await h.waitForEnd(root, 3)).toContain('Updated pull request');
    h.openai.assertDone();
  }, 60_000);

  it('a PR closed while the bot was down is dropped at start-up: its checks are not acted on', async () => {
    h.openai.script(publishScript('two.txt', '2\n', 'Added two.txt.'));
    const root = await h.mention('add two.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    await waitFor('the PR remembered', pullOf(root));

    h.github.closePull('acme', 'widgets', pull?.number ?? 0);
    // Reviews (and the closed-PR look) only once a minute: only the start-up can drop it in time.
    await h.restart({}, { reviewPollMs: 60_000 });
    await waitFor('the PR dropped', async () => !(await pullOf(root)()));
    expect(h.logs()).toContain(`no longer following pull request #${pull?.number} of acme/widgets (closed)`);

    await h.github.addCheckRun('acme', 'widgets', {
      sha: pull?.headSha ?? '',
      name: 'test (ubuntu)',
      conclusion: 'failure',
      actions: { log: '##[error]broken\n' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(threadText(root)).not.toContain('checks failed');
    // The other thread's open PR is still followed.
    expect((await followed.list()).map((entry) => entry.threadTs)).not.toContain(root);
    expect(await followed.list()).toHaveLength(1);
  }, 60_000);

  it('in token mode a PR merged while the bot runs is dropped on the next review poll', async () => {
    h.openai.script(publishScript('three.txt', '3\n', 'Added three.txt.'));
    const root = await h.mention('add three.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    await waitFor('the PR remembered', pullOf(root));
    await h.restart({}, { reviewPollMs: 25 });
    await h.github.mergePull('acme', 'widgets', pull?.number ?? 0);
    await waitFor('the PR dropped', async () => !(await pullOf(root)()));
    expect(h.logs()).toContain(`no longer following pull request #${pull?.number} of acme/widgets (merged)`);
  }, 60_000);
});
