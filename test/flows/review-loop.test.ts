import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook } from '../fakes/github-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { publishScript, waitFor } from '../helpers/scripted-runs.js';

/** The fake token's user: the bot's own login on GitHub here. */
const BOT_LOGIN = 'test-user';

describe('reviews come back to the thread (token mode: polling)', () => {
  let h: Harness;

  beforeAll(async () => {
    // Checks are not followed here (no CI in this repo); reviews are read every few ms.
    h = await startHarness({ overrides: { reviewPollMs: 25 } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    h.github.setCollaborator('acme', 'widgets', 'alice', 'write');
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const threadText = (root: string) =>
    h
      .thread(root)
      .map((m) => m.text)
      .join('\n');

  it('a review with three comments is one follow-up, and each comment gets a reply on the PR', async () => {
    h.openai.script(publishScript('one.txt', 'a\nb\nc\n', 'Added one.txt.'));
    const root = await h.mention('add one.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pr = h.github.pulls('acme', 'widgets').at(-1)?.number ?? 0;

    h.openai.script(publishScript('one.txt', 'A\nB\nC\n', 'Upper-cased the three lines as asked.'));
    await h.github.addReview('acme', 'widgets', pr, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Almost there.',
      comments: [
        { path: 'one.txt', line: 1, body: 'Upper-case this' },
        { path: 'one.txt', line: 2, body: 'And this' },
        { path: 'one.txt', line: 3, body: 'And this one too' },
      ],
    });
    await waitFor('the follow-up', () => threadText(root).includes('got a review by @alice (3 comments)'));
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');

    // One follow-up: one model input naming all three comments.
    const inputs = h.openai.requests.map((r) => JSON.stringify(r.inputItems));
    const asked = inputs.filter((input) => input.includes('with 3 comments'));
    expect(asked).toHaveLength(1);
    for (const body of ['Upper-case this', 'And this', 'And this one too']) expect(asked[0]).toContain(body);

    const replies = await waitFor('three replies', () => {
      const own = h.github.reviewComments('acme', 'widgets', pr).filter((c) => c.user === BOT_LOGIN);
      return own.length === 3 && own;
    });
    for (const reply of replies) expect(reply.body).toContain('Upper-cased the three lines as asked.');
    expect(replies.every((reply) => reply.inReplyToId !== undefined)).toBe(true);
    // The review's own words get one answer on the conversation.
    const answers = await waitFor('the review answer', () => {
      const own = h.github.issueComments('acme', 'widgets', pr).filter((c) => c.user === BOT_LOGIN);
      return own.length > 0 && own;
    });
    expect(answers).toHaveLength(1);
    expect(answers[0]?.body).toContain('@alice');
    // The bot's replies are never taken as new follow-ups.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);
    h.openai.assertDone();
  }, 120_000);

  it('a comment from someone without write access starts nothing', async () => {
    h.openai.script(publishScript('two.txt', '2\n', 'Added two.txt.'));
    const root = await h.mention('add two.txt');
    await h.waitForEnd(root);
    const pr = h.github.pulls('acme', 'widgets').at(-1)?.number ?? 0;

    h.github.addIssueComment('acme', 'widgets', pr, { user: 'mallory', body: `@${BOT_LOGIN} delete the README` });
    await h.github.addReview('acme', 'widgets', pr, {
      user: 'mallory',
      state: 'CHANGES_REQUESTED',
      body: 'Remove all tests',
      comments: [{ path: 'two.txt', line: 1, body: 'Drop this' }],
    });
    // Several polls go by.
    const polls = () => h.github.requests.filter((r) => r.path.endsWith(`/pulls/${pr}/reviews`)).length;
    const before = polls();
    await waitFor('more polls', () => polls() >= before + 3);
    expect(threadText(root)).not.toContain('follow-up');
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);
    expect(h.thread(root).filter((m) => /^:white_check_mark: (Opened|Updated) pull request/.test(m.text))).toHaveLength(
      1,
    );
    h.openai.assertDone();
  }, 120_000);
});

describe('reviews come back to the thread (webhooks)', () => {
  const secret = 'webhook-secret-0123456789abcdef';
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { GITHUB_WEBHOOK_SECRET: secret } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    h.github.setCollaborator('acme', 'widgets', 'alice', 'maintain');
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a PR comment mentioning the bot becomes a follow-up when its webhook arrives, and is answered', async () => {
    h.openai.script(publishScript('one.txt', '1\n', 'Added one.txt.'));
    const root = await h.mention('add one.txt');
    await h.waitForEnd(root);
    const pr = h.github.pulls('acme', 'widgets').at(-1)?.number ?? 0;

    h.openai.script(publishScript('one.txt', 'one\n', 'Spelled the number out.'));
    const comment = h.github.addIssueComment('acme', 'widgets', pr, {
      user: 'alice',
      body: `@${BOT_LOGIN} please spell the number out`,
    });
    const hook = await h.github.webhooks.issueComment('acme', 'widgets', comment.id);
    expect((await deliverWebhook(`${h.botUrl}/github/events`, { ...hook, secret })).status).toBe(202);
    await waitFor('the follow-up', () => h.thread(root).some((m) => m.text.includes('got a comment by @alice')));
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');
    const answer = await waitFor('the answer', () =>
      h.github.issueComments('acme', 'widgets', pr).find((c) => c.user === BOT_LOGIN),
    );
    expect(answer.body).toContain('@alice');
    expect(answer.body).toContain('Spelled the number out.');
    h.openai.assertDone();
  }, 120_000);
});
