import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpError, insufficientQuota, text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const FILES = {
  'README.md': '# widgets\n',
  'notes.txt': 'deploy key: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n',
};

describe('faults of the remote services', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('OpenAI 5xx: retried by the bot, and input the failed request already appended is not sent twice', async () => {
    h.openai.script([
      toolCalls([{ name: 'list_files', arguments: { path: '.' } }]),
      // The server appended the tool output, then failed: a blind retry would append it again.
      async (req) => {
        await fetch(`${h.openai.url}/conversations/${req.conversationId}/items`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.openai.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ items: req.inputItems }),
        });
        return httpError(500, { message: 'The server had an error', type: 'server_error' });
      },
      (req) => {
        expect(req.functionCallOutputs).toEqual([]);
        return httpError(503, { message: 'Overloaded', type: 'server_error' });
      },
      text('Listed after two server errors.'),
    ]);
    const root = await h.mention('list the files');
    const end = await h.waitForEnd(root);
    expect(end).toContain('Listed after two server errors');
    const conversation = h.openai.requests.at(-1)?.conversationId ?? '';
    expect(h.openai.duplicateCallOutputs(conversation)).toEqual([]);
    expect(h.openai.functionCallOutputs(conversation)).toHaveLength(1);
    h.openai.assertDone();
  });

  it('OpenAI 429 rate limit: backs off and goes on', async () => {
    h.openai.script([
      httpError(429, { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' }),
      text('Done after a rate limit.'),
    ]);
    const root = await h.mention('say hello');
    expect(await h.waitForEnd(root)).toContain('Done after a rate limit');
    h.openai.assertDone();
  });

  it('OpenAI insufficient_quota: stops at once and says so, no retries', async () => {
    const before = h.openai.requests.length;
    h.openai.script([insufficientQuota()]);
    const root = await h.mention('say hello again');
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/The run failed: The OpenAI account has run out of quota/);
    expect(h.openai.requests.length - before).toBe(1);
    // The message is kept: a reply after the operator adds credit goes on with it.
    const state = await h.bot.threads.get('C0TEST', root);
    expect(JSON.stringify(state?.pendingInput)).toContain('say hello again');
    h.openai.assertDone();
  });

  it('Slack 429s and a failed post: every reply still arrives, in order', async () => {
    h.slack.rateLimit({ method: 'chat.postMessage', times: 2, retryAfterSeconds: 1 });
    h.slack.failNext('chat.postMessage', 'internal_error');
    h.openai.script([
      toolCalls([{ name: 'read_file', arguments: { path: 'README.md' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'echo one' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'echo two' } }]),
      text('All three done.'),
    ]);
    const root = await h.mention('three steps');
    const end = await h.waitForEnd(root);
    expect(end).toContain('All three done');
    const thread = h
      .thread(root)
      .map((m) => m.text)
      .join('\n');
    expect(thread).toContain('README.md');
    expect(thread.indexOf('echo one')).toBeGreaterThan(-1);
    expect(thread.indexOf('echo two')).toBeGreaterThan(thread.indexOf('echo one'));
    expect(h.slack.rateLimited).toBeGreaterThanOrEqual(2);
    h.openai.assertDone();
  });

  it('GitHub 502 and a secondary rate limit while publishing: retried, one PR', async () => {
    h.github.failNext({ method: 'POST', pathIncludes: '/git/trees', status: 502, times: 1 });
    h.github.failNext({
      method: 'POST',
      pathIncludes: '/pulls',
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      headers: { 'retry-after': '1' },
      times: 1,
    });
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'new.txt', content: 'new\n' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add new.txt', body: 'New file.' } }]),
      (req) => {
        expect(String(req.functionCallOutputs[0]?.output)).toMatch(/pull request/i);
        expect(String(req.functionCallOutputs[0]?.output)).not.toMatch(/^Error/);
        return text('Published despite GitHub.');
      },
    ]);
    const root = await h.mention('add new.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    expect(h.github.pulls('acme', 'widgets').filter((p) => p.title === 'Add new.txt')).toHaveLength(1);
    h.openai.assertDone();
  });

  it('redacts token shapes from what the model reads and what Slack shows', async () => {
    h.openai.script([
      toolCalls([{ name: 'read_file', arguments: { path: 'notes.txt' } }]),
      (req) => {
        const output = String(req.functionCallOutputs[0]?.output);
        expect(output).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
        expect(output).toContain('[redacted]');
        return toolCalls([
          { name: 'run_command', arguments: { command: 'echo xoxb-1234-5678-abcdefghij; cat notes.txt' } },
        ]);
      },
      text('The key is ghp_abcdefghijklmnopqrstuvwxyz0123456789, careful.'),
    ]);
    const root = await h.mention('what is in notes.txt?');
    await h.waitForEnd(root);
    const slackText = JSON.stringify(h.slack.calls.map((c) => c.args));
    expect(slackText).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    expect(slackText).not.toContain('xoxb-1234-5678-abcdefghij');
    expect(h.logs()).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    h.openai.assertDone();
  });

  it('leaves a follow-up alone once its repo was unlinked, and says how to go on', async () => {
    h.openai.script([text('Hi.')]);
    const root = await h.mention('say hi');
    await h.waitForEnd(root);
    await h.command('unlink acme/widgets', { expectResponse: true });
    try {
      const requests = h.openai.requests.length;
      await h.reply(root, 'one more thing');
      const reply = await h.slack.waitFor(
        (c) =>
          c.method === 'chat.postMessage' && c.args.thread_ts === root && /no longer linked/.test(String(c.args.text)),
      );
      expect(String(reply.args.text)).toContain('/ai-dev link owner/repo');
      expect(h.openai.requests.length).toBe(requests);
    } finally {
      await h.command('link acme/widgets', { expectResponse: true });
    }
  });

  it('turns Slack markup into plain text for the model and bounds very long messages', async () => {
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('@bob please read the docs (https://docs.example.com) & fix #general <now>');
        expect(req.inputText).not.toContain('<@U0BOB');
        expect(req.inputText).toMatch(/more characters cut/);
        expect(req.inputText.length).toBeLessThan(25_000);
        // User text is content, never instructions.
        expect(String(req.body.instructions)).not.toContain('please read the docs');
        return text('Read it.');
      },
    ]);
    const long = 'x'.repeat(60_000);
    const root = await h.mention(
      `<@U0BOB|bob> please read <https://docs.example.com|the docs> &amp; fix <#C0GEN|general> &lt;now&gt; ${long}`,
    );
    expect(await h.waitForEnd(root)).toContain('Read it');
    h.openai.assertDone();
  });
});

describe('who may start and steer runs (ALLOW_RUN_USERS)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_RUN_USERS: 'U0USER' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers others politely, only to them, and acts on nothing they write', async () => {
    const refused = await h.mention('delete the repo', { user: 'U0STRANGER' });
    const ephemeral = await h.slack.waitFor((c) => c.method === 'chat.postEphemeral' && c.args.thread_ts === refused);
    expect(String(ephemeral.args.user)).toBe('U0STRANGER');
    expect(String(ephemeral.args.text)).toMatch(/not on the list of people who may start or steer/);
    expect(h.thread(refused)).toEqual([]);

    h.openai.script([text('Hello.')]);
    const root = await h.mention('say hello');
    await h.waitForEnd(root);
    const requests = h.openai.requests.length;
    await h.reply(root, 'now push to main', { user: 'U0STRANGER' });
    await h.slack.waitFor((c) => c.method === 'chat.postEphemeral' && c.args.thread_ts === root);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.openai.requests.length).toBe(requests);
    expect((await h.bot.threads.get('C0TEST', root))?.queued).toEqual([]);
    h.openai.assertDone();
  });
});
