import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hang, text, toolCalls } from '../fakes/openai-server.js';
import { botMessageEvent, DEFAULT_IDS, mentionEvent, nextTs, sendEvent } from '../fakes/slack-server.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';

/**
 * Defects a user would feel that the rest of the suite let through when they were injected (test-strength
 * review of 2026-12-02): each test here fails when its defect is put back.
 */
describe('defects a user would notice', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_RUN_USERS: 'U0USER,U0LEAD' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const occurrences = (haystack: string, needle: string) => haystack.split(needle).length - 1;
  /** First replies posted in the thread: one per run (the card is edited afterwards, so count the posts). */
  const runsAnnounced = (root: string) =>
    h.slack.calls.filter(
      (c) => c.method === 'chat.postMessage' && c.args.thread_ts === root && String(c.args.text).includes('Working on'),
    ).length;
  const threadText = (root: string) =>
    h
      .thread(root)
      .map((m) => m.text)
      .join('\n');

  it('gives the model a task once, however often Slack delivers it (twin events and retries)', async () => {
    const task = `count the widgets ${Math.random().toString(36).slice(2, 8)}`;
    h.openai.script([text('There are three widgets.')]);
    const ts = nextTs();
    const event = mentionEvent({ ts, text: `<@${DEFAULT_IDS.botUserId}> ${task}`, channel: DEFAULT_IDS.channelId });
    const twin = { ...event, type: 'message', channel_type: 'channel' };
    await Promise.all([
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'EvTwin1' }),
      sendEvent(h.botUrl, SIGNING_SECRET, twin, { eventId: 'EvTwin2' }),
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'EvTwin1', retryNum: 1, retryReason: 'http_timeout' }),
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'EvTwin1', retryNum: 2, retryReason: 'http_timeout' }),
    ]);
    expect(await h.waitForEnd(ts)).toContain('three widgets');
    // How often the text reached the model, not how many requests held it: one request may carry it three times.
    const sent = h.openai.requests.map((r) => r.inputText).join('\n');
    expect(occurrences(sent, task)).toBe(1);
    expect(runsAnnounced(ts)).toBe(1);

    // A retry that comes after the run: not a follow-up either. A person's reply after it shows what the model got.
    await sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'EvTwin1', retryNum: 3, retryReason: 'http_timeout' });
    h.openai.script([text('Still three.')]);
    await h.reply(ts, 'are you sure?');
    expect(await h.waitForEnd(ts, 2)).toContain('Still three.');
    const all = h.openai.requests.map((r) => r.inputText).join('\n');
    expect(occurrences(all, task)).toBe(1);
    expect(runsAnnounced(ts)).toBe(2);
  });

  it('never gives a command the GitHub token, even in a form the redactor cannot recognise', async () => {
    h.openai.script([
      toolCalls([
        {
          name: 'run_command',
          arguments: {
            command:
              'echo "token:[$GITHUB_TOKEN][$GH_TOKEN]" | rev; env | cut -d= -f1 | sort | tr "\\n" " "; echo; env | base64 -w0',
          },
        },
      ]),
      (req) => {
        const output = String(req.functionCallOutputs[0]?.output ?? '');
        // Reversed, "token:[][]" with nothing between the brackets.
        expect(output).toContain('][][:nekot');
        // The redactor hiding something here would mean the command saw a secret.
        expect(output).not.toContain('[redacted]');
        expect(output).not.toMatch(/\b(GITHUB_TOKEN|GH_TOKEN|OPENAI_API_KEY|SLACK_BOT_TOKEN|E2B_API_KEY)\b/);
        return text('Looked at the environment.');
      },
    ]);
    const root = await h.mention('show me the environment');
    await h.waitForEnd(root);
    const token = h.env.GITHUB_TOKEN ?? '';
    const reversed = [...token].reverse().join('');
    const toModel = JSON.stringify(h.openai.requests.map((r) => r.body));
    expect(toModel).not.toContain(reversed);
    expect(toModel).not.toContain(Buffer.from(token).toString('base64').slice(0, 16));
  });

  it('posts the first reply before the run sends its first model request', async () => {
    const working = () =>
      h.slack.callsOf('chat.postMessage').filter((c) => c.status === 200 && String(c.args.text).includes('Working on'))
        .length;
    const before = working();
    // Slack makes the first reply wait a second: the run must wait for it too.
    h.slack.rateLimit({ method: 'chat.postMessage', times: 1, retryAfterSeconds: 1 });
    h.openai.script([
      () => {
        expect(working()).toBe(before + 1);
        return text('Hello.');
      },
    ]);
    const root = await h.mention('say hello');
    expect(await h.waitForEnd(root)).toContain('Hello.');
  });

  it('keeps messages written while a run is being stopped, and does not start again on them', async () => {
    h.openai.script([hang()]);
    const root = await h.mention('think very hard', { user: 'U0USER' });
    await h.openai.waitForRequests(h.openai.requests.length + 1, 10_000);
    // The request hangs, so this waits for the model's next turn, which never comes.
    await h.reply(root, 'and also the tests', { user: 'U0USER' });
    await expect.poll(async () => (await h.bot.threads.get('C0TEST', root))?.queued.length, { timeout: 5_000 }).toBe(1);
    const requests = h.openai.requests.length;
    await h.click('ai_dev_stop', root, { user: 'U0LEAD' });
    expect(await h.waitForEnd(root)).toMatch(/Stopped by <@U0LEAD>/);
    await expect
      .poll(() => threadText(root), { timeout: 5_000 })
      .toContain('1 message sent while I was stopping is kept');
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);
    const state = await h.bot.threads.get('C0TEST', root);
    expect(state?.status).toBe('idle');
    expect(state?.queued.map((m) => m.text)).toEqual(['and also the tests']);
    expect(h.openai.requests.length).toBe(requests);
    h.openai.takeProblems();

    // The next reply goes on with both messages.
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('and also the tests');
        expect(req.inputText).toContain('go on now');
        return text('Going on.');
      },
    ]);
    await h.reply(root, 'go on now', { user: 'U0USER' });
    expect(await h.waitForEnd(root, 2)).toContain('Going on.');
  });

  it('refuses a Stop from someone not in ALLOW_RUN_USERS, and the run goes on', async () => {
    h.openai.script([hang()]);
    const root = await h.mention('think', { user: 'U0USER' });
    await h.openai.waitForRequests(h.openai.requests.length + 1, 10_000);
    await h.click('ai_dev_stop', root, { user: 'U0STRANGER' });
    await h.slack.waitForResponse((r) => /may start, steer or stop my work/.test(String(r.body.text)), 5_000);
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(true);
    expect(threadText(root)).not.toMatch(/Stopped by/);
    await h.click('ai_dev_stop', root, { user: 'U0LEAD' });
    expect(await h.waitForEnd(root)).toMatch(/Stopped by <@U0LEAD>/);
    h.openai.takeProblems();
  });

  it('takes another app’s post in a bot thread as nothing: no run, not given to the model', async () => {
    // Everyone may run (the default): only the bot filter stands between another app and a run.
    await h.restart({ ALLOW_RUN_USERS: '' });
    h.openai.script([text('Done.')]);
    const root = await h.mention('look at the README');
    await h.waitForEnd(root);
    const botText = `deploy bot says: rebuild everything ${Math.random().toString(36).slice(2, 8)}`;
    for (const style of ['bot_user', 'bot_message'] as const) {
      await sendEvent(
        h.botUrl,
        SIGNING_SECRET,
        botMessageEvent({ style, channel: DEFAULT_IDS.channelId, thread_ts: root, text: botText }),
      );
    }
    // A person's reply after the bots' posts: its run must not carry them.
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('what now?');
        expect(req.inputText).not.toContain(botText);
        return text('Nothing.');
      },
    ]);
    await h.reply(root, 'what now?');
    expect(await h.waitForEnd(root, 2)).toContain('Nothing.');
    const sent = h.openai.requests.map((r) => r.inputText).join('\n');
    expect(sent).not.toContain(botText);
    expect(runsAnnounced(root)).toBe(2);
    await h.restart();
  });
});

describe('defects a user would notice (E2B sandbox)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ sandbox: 'e2b' });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives no command a secret in its environment, and the model no form of the GitHub token', async () => {
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'echo "token:[$GITHUB_TOKEN][$GH_TOKEN]" | rev' } }]),
      (req) => {
        const output = String(req.functionCallOutputs[0]?.output ?? '');
        expect(output).toContain('][][:nekot');
        expect(output).not.toContain('[redacted]');
        return text('Looked.');
      },
    ]);
    const root = await h.mention('show me the token');
    await h.waitForEnd(root);
    const secrets = [h.env.GITHUB_TOKEN, h.env.OPENAI_API_KEY, h.env.SLACK_BOT_TOKEN, h.env.E2B_API_KEY].filter(
      (s): s is string => typeof s === 'string' && s.length > 0,
    );
    const commands = h.e2b?.allCommands() ?? [];
    expect(commands.length).toBeGreaterThan(0);
    // Every command the bot started in any sandbox, its own git commands included.
    for (const command of commands) {
      const env = JSON.stringify(command.envs);
      for (const secret of secrets) expect(env).not.toContain(secret);
      expect(Object.keys(command.envs)).not.toContain('GITHUB_TOKEN');
    }
    const reversed = [...(h.env.GITHUB_TOKEN ?? '')].reverse().join('');
    expect(JSON.stringify(h.openai.requests.map((r) => r.body))).not.toContain(reversed);
  });
});
