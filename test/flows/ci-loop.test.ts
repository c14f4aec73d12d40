import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook } from '../fakes/github-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { checksReadAnswered, publishScript, waitFor } from '../helpers/scripted-runs.js';

/** Polls every few ms instead of 10 s; a check needs two equal reads to count as settled. */
const FAST_POLLING = { ciPolling: { minDelayMs: 10, maxDelayMs: 40, noChecksAfterMs: 60_000, maxWaitMs: 120_000 } };
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

const threadText = (h: Harness, root: string) =>
  h
    .thread(root)
    .map((m) => m.text)
    .join('\n');

/** Every version (post, then edits) of the first bot message in the thread whose blocks say `words`. */
const cardSaying = (h: Harness, root: string, words: string) =>
  h.slack
    .callsOf('chat.postMessage')
    .filter((call) => call.args.thread_ts === root)
    .map((call) => h.slack.messageHistory('C0TEST', String(call.response?.ts)))
    .find((versions) => versions.some((v) => JSON.stringify(v.blocks ?? []).includes(words)));

const headOf = (h: Harness) => h.github.pulls('acme', 'widgets').at(-1)?.headSha ?? '';

async function failCheck(h: Harness, sha: string, log: string) {
  return h.github.addCheckRun('acme', 'widgets', {
    sha,
    name: 'test (ubuntu)',
    conclusion: 'failure',
    output: { title: '1 test failed' },
    actions: { log },
  });
}

describe('CI comes back to the thread (token mode: polling)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { CI_FIX_ATTEMPTS: '2' }, overrides: FAST_POLLING });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a failing check is fixed on the second attempt without anyone typing, and green is reported once', async () => {
    h.openai.script(publishScript('one.txt', '1\n', 'Added one.txt.'));
    const root = await h.mention('add one.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    // Waiting for the checks is not working: the agent session is active, not processing.
    await waitFor('the session active', () => h.slack.sessionStatuses('C0TEST', root).at(-1) === 'active');
    expect(h.slack.sessionStatuses('C0TEST', root)).toEqual(['processing', 'active']);

    h.openai.script(publishScript('one.txt', '1 fixed\n', 'Fixed the first failure.'));
    await failCheck(h, headOf(h), 'Run npm test\nFAIL test/one.test.ts\n##[error]expected 1, got 2\nCleaning up\n');
    await waitFor('attempt 1', () =>
      threadText(h, root).includes('checks failed: test (ubuntu) — fixing, attempt 1/2'),
    );
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');
    // The fix run's status card carries the attempt, from its first version to its last edit.
    const card = await waitFor('the attempt on the card', () => cardSaying(h, root, 'CI fix attempt 1/2'));
    expect(card[0]?.via).toBe('chat.postMessage');
    expect(JSON.stringify(card[0]?.blocks)).toContain('CI fix attempt 1/2: test (ubuntu) failed');
    const last = await waitFor('the card done', () => {
      const now = cardSaying(h, root, 'CI fix attempt 1/2')?.at(-1);
      return now?.text.includes('Done on') && now;
    });
    expect(last.via).toBe('chat.update');
    expect(JSON.stringify(last.blocks)).toContain('CI fix attempt 1/2: test (ubuntu) failed');
    // The model got the failing job's log tail, cut after the error line.
    const sent = JSON.stringify(h.openai.requests.map((r) => r.body));
    expect(sent).toContain('expected 1, got 2');
    expect(sent).not.toContain('Cleaning up');

    h.openai.script(publishScript('one.txt', '1 fixed again\n', 'Fixed the second failure.'));
    await failCheck(h, headOf(h), '##[error]expected 2, got 3\n');
    await waitFor('attempt 2', () => threadText(h, root).includes('fixing, attempt 2/2'));
    expect(await h.waitForEnd(root, 3)).toContain('Updated pull request');
    await waitFor('attempt 2 on a card', () => cardSaying(h, root, 'CI fix attempt 2/2: test (ubuntu) failed'));

    await h.github.addCheckRun('acme', 'widgets', { sha: headOf(h), name: 'test (ubuntu)', conclusion: 'success' });
    await waitFor('green', () => threadText(h, root).includes('Checks passed on pull request'));
    // Each fix attempt worked (processing) and went back to waiting (active); green starts nothing.
    expect(h.slack.sessionStatuses('C0TEST', root)).toEqual([
      'processing',
      'active',
      'processing',
      'active',
      'processing',
      'active',
    ]);
    // Reported once: a later poll or event about the same head says nothing more.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(threadText(h, root).match(/Checks passed/g)).toHaveLength(1);
    expect(h.github.pulls('acme', 'widgets')).toHaveLength(1);
    h.openai.assertDone();
  }, 120_000);

  it('a check that keeps failing stops at the cap with a clear message', async () => {
    h.openai.script(publishScript('two.txt', '2\n', 'Added two.txt.'));
    const root = await h.mention('add two.txt');
    await h.waitForEnd(root);
    for (const attempt of [1, 2]) {
      h.openai.script(publishScript('two.txt', `2 try ${attempt}\n`, `Attempt ${attempt}.`));
      await failCheck(h, headOf(h), `##[error]still broken ${attempt}\n`);
      await waitFor(`attempt ${attempt}`, () => threadText(h, root).includes(`fixing, attempt ${attempt}/2`));
      await h.waitForEnd(root, attempt + 1);
    }
    await failCheck(h, headOf(h), '##[error]still broken 3\n');
    const said = await waitFor('the stop', () => h.thread(root).find((m) => m.text.includes('I stopped trying')));
    expect(said.text).toContain('Checks still fail on pull request');
    expect(said.text).toContain('test (ubuntu)');
    expect(said.text).toContain('after 2 fix attempts (CI_FIX_ATTEMPTS=2)');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);
    h.openai.assertDone();
  }, 120_000);
});

describe('CI comes back to the thread (webhooks)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a webhook with a bad signature is refused and ignored; a signed one resumes the run', async () => {
    h.openai.script(publishScript('three.txt', '3\n', 'Added three.txt.'));
    const root = await h.mention('add three.txt');
    await h.waitForEnd(root);
    // The end of the run reads the checks once; the check fails after that, so only a webhook tells.
    await checksReadAnswered(h.github.requests, 'acme/widgets', headOf(h));
    const run = await failCheck(h, headOf(h), '##[error]broken\n');
    const hook = await h.github.webhooks.checkRun('acme', 'widgets', run.id);
    const url = `${h.botUrl}/github/events`;

    const forged = await deliverWebhook(url, { ...hook, secret: 'not-the-secret-at-all' });
    expect(forged.status).toBe(401);
    const unsigned = await deliverWebhook(url, hook);
    expect(unsigned.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(threadText(h, root)).not.toContain('checks failed');
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);

    h.openai.script(publishScript('three.txt', '3 fixed\n', 'Fixed it.'));
    const signed = await deliverWebhook(url, { ...hook, secret: WEBHOOK_SECRET });
    expect(signed.status).toBe(202);
    await waitFor('attempt 1', () =>
      threadText(h, root).includes('checks failed: test (ubuntu) — fixing, attempt 1/2'),
    );
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');
    // A redelivery of the same event acts no second time.
    expect((await deliverWebhook(url, { ...hook, secret: WEBHOOK_SECRET })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(threadText(h, root).match(/fixing, attempt/g)).toHaveLength(1);
    h.openai.assertDone();
  }, 120_000);
});
