import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverWebhook } from '../fakes/github-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { checksReadAnswered, publishScript, waitFor } from '../helpers/scripted-runs.js';

/**
 * GitHub App mode end to end: the bot reaches GitHub only through installation tokens minted with the App's
 * JWT, and CI results come back as webhooks on `POST /github/events`, signed with GITHUB_WEBHOOK_SECRET.
 */

const APP_ID = 4242;
const WEBHOOK_SECRET = 'app-webhook-secret-0123456789abcdef';

describe('GitHub App mode: CI results come back as signed webhooks', () => {
  let h: Harness;
  let url: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    h = await startHarness({
      github: {
        app: {
          id: APP_ID,
          slug: 'ai-dev',
          publicKey,
          permissions: {
            contents: 'write',
            pull_requests: 'write',
            metadata: 'read',
            checks: 'read',
            statuses: 'read',
            actions: 'read',
          },
        },
      },
      env: {
        GITHUB_TOKEN: '',
        GITHUB_APP_ID: String(APP_ID),
        GITHUB_APP_PRIVATE_KEY: pem.replaceAll('\n', '\\n'),
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        CI_FIX_ATTEMPTS: '2',
      },
    });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
    url = `${h.botUrl}/github/events`;
  });
  afterAll(async () => {
    await h?.close();
  });

  const threadText = (root: string) =>
    h
      .thread(root)
      .map((m) => m.text)
      .join('\n');
  /**
   * The run's end reads the head's checks once (for what came during the run); a check added before that
   * read would be found by it, not by the webhook under test.
   */
  const endOfRunRead = (sha: string) => checksReadAnswered(h.github.requests, 'acme/widgets', sha);
  const failing = (sha: string, log: string) =>
    h.github.addCheckRun('acme', 'widgets', {
      sha,
      name: 'test (ubuntu)',
      conclusion: 'failure',
      output: { title: '1 test failed' },
      actions: { log },
    });

  it('a failed check_run of the published head starts the fix run; a bad signature is ignored', async () => {
    h.openai.script(publishScript('one.txt', '1\n', 'Added one.txt.'));
    const root = await h.mention('add one.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    // Opened by the App, through an installation token.
    expect(pull?.user).toBe('ai-dev[bot]');
    expect(h.github.mintedTokens().length).toBeGreaterThan(0);
    await endOfRunRead(pull?.headSha ?? '');

    const run = await failing(pull?.headSha ?? '', '##[error]expected 1, got 2\n');
    const hook = await h.github.webhooks.checkRun('acme', 'widgets', run.id);
    // GitHub App deliveries name the App and the installation.
    expect(hook.target).toEqual({ type: 'integration', id: APP_ID });

    expect((await deliverWebhook(url, { ...hook, secret: 'someone-else-0123456789abcdef' })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(threadText(root)).not.toContain('checks failed');
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);

    h.openai.script(publishScript('one.txt', '1 fixed\n', 'Fixed the test.'));
    expect((await deliverWebhook(url, { ...hook, secret: WEBHOOK_SECRET })).status).toBe(202);
    await waitFor('attempt 1', () => threadText(root).includes('checks failed: test (ubuntu) — fixing, attempt 1/2'));
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');
    const sent = JSON.stringify(h.openai.requests.map((r) => r.body));
    expect(sent).toContain('expected 1, got 2');
    h.openai.assertDone();
  }, 60_000);

  it('after a restart the checks are read once (the webhook sent while down is lost), and a closed PR is dropped', async () => {
    h.openai.script(publishScript('two.txt', '2\n', 'Added two.txt.'));
    const root = await h.mention('add two.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    await endOfRunRead(pull?.headSha ?? '');

    // The check fails and its webhook never reaches the bot (it was down, or the delivery failed).
    await failing(pull?.headSha ?? '', '##[error]broken while down\n');
    h.openai.script(publishScript('two.txt', '2 fixed\n', 'Fixed it.'));
    await h.restart();
    url = `${h.botUrl}/github/events`;
    await waitFor('attempt 1', () => threadText(root).includes('checks failed: test (ubuntu) — fixing, attempt 1/2'));
    expect(await h.waitForEnd(root, 2)).toContain('Updated pull request');

    // Closed on GitHub: its webhook drops it, and a later failure of its head is not acted on.
    h.github.closePull('acme', 'widgets', pull?.number ?? 0);
    const closed = await h.github.webhooks.pullRequest('acme', 'widgets', pull?.number ?? 0);
    expect((await deliverWebhook(url, { ...closed, secret: WEBHOOK_SECRET })).status).toBe(202);
    await waitFor('dropped', () =>
      h.logs().includes(`no longer following pull request #${pull?.number} of acme/widgets (closed)`),
    );
    const head = h.github.pulls('acme', 'widgets').find((p) => p.number === pull?.number)?.headSha ?? '';
    const late = await failing(head, '##[error]after close\n');
    const lateHook = await h.github.webhooks.checkRun('acme', 'widgets', late.id);
    expect((await deliverWebhook(url, { ...lateHook, secret: WEBHOOK_SECRET })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(threadText(root).match(/fixing, attempt/g)).toHaveLength(1);
    h.openai.assertDone();
  }, 60_000);
});
