import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hang, text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const FILES = { 'README.md': '# repo\n' };

describe('who may do what: ALLOW_REPOS, ALLOW_RUN_USERS, the thread’s starter, other organisations', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_RUN_USERS: 'U0USER,U0LEAD,U0OTHER', RUN_MAX_TURNS: '1' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
    await h.github.addRepo({ owner: 'acme', name: 'secret-infra', private: true, files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
    await h.command('link acme/secret-infra', { expectResponse: true, channel: 'C0INFRA' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('applies an ALLOW_REPOS tightened after the links were made, to new mentions and to follow-ups', async () => {
    h.openai.script([text('Looked.')]);
    const infraThread = await h.mention('look at the infra', { channel: 'C0INFRA' });
    await h.waitForEnd(infraThread, 1, 'C0INFRA');

    await h.restart({ ALLOW_REPOS: 'acme/widgets' });
    const requests = h.openai.requests.length;
    const refused = await h.mention('print the secrets', { channel: 'C0INFRA' });
    await expect
      .poll(
        () =>
          h
            .thread(refused, 'C0INFRA')
            .map((m) => m.text)
            .join('\n'),
        { timeout: 5_000 },
      )
      .toContain('no longer on the bot’s list of allowed repos (ALLOW_REPOS)');
    await h.reply(infraThread, 'and now?', { channel: 'C0INFRA' });
    await expect
      .poll(
        () =>
          h
            .thread(infraThread, 'C0INFRA')
            .map((m) => m.text)
            .join('\n'),
        { timeout: 5_000 },
      )
      .toContain('no longer linked to this channel (or no longer allowed)');
    expect(h.openai.requests.length).toBe(requests);
    await h.restart();
  });

  it('gives Continue only to the thread’s starter (or someone in ALLOW_RUN_USERS), and a Stop only to ALLOW_RUN_USERS', async () => {
    h.openai.script([toolCalls([{ name: 'list_files', arguments: { path: '.' } }])]);
    const root = await h.mention('look around', { user: 'U0USER' });
    expect(await h.waitForEnd(root)).toMatch(/Budget reached/);

    // U0STRANGER may not run at all; U0OTHER may run, but did not start this thread… and is listed in
    // ALLOW_RUN_USERS, which lets them continue: both rules checked, in that order.
    const requests = h.openai.requests.length;
    await h.click('ai_dev_continue', root, { user: 'U0STRANGER' });
    await h.slack.waitForResponse((r) => /not on the list of people who may start/.test(String(r.body.text)));
    expect(h.openai.requests.length).toBe(requests);

    h.openai.script([text('Continued.')]);
    await h.click('ai_dev_continue', root, { user: 'U0USER' });
    expect(await h.waitForEnd(root, 2)).toContain('Continued.');

    // Stop from someone not allowed: told no, the run goes on.
    h.openai.script([hang(), text('unused')]);
    const running = await h.mention('think hard', { user: 'U0USER' });
    await h.openai.waitForRequests(h.openai.requests.length + 1, 10_000);
    await h.click('ai_dev_stop', running, { user: 'U0STRANGER' });
    await h.slack.waitForResponse((r) => /may start, steer or stop my work/.test(String(r.body.text)));
    expect(h.bot.coordinator.isRunning('C0TEST', running)).toBe(true);
    await h.click('ai_dev_stop', running, { user: 'U0LEAD' });
    expect(await h.waitForEnd(running)).toMatch(/Stopped by <@U0LEAD>/);
    h.openai.takeProblems();
  });

  it('without ALLOW_RUN_USERS, only the starter may Continue', async () => {
    await h.restart({ ALLOW_RUN_USERS: '', RUN_MAX_TURNS: '1' });
    h.openai.script([toolCalls([{ name: 'list_files', arguments: { path: '.' } }])]);
    const root = await h.mention('look around', { user: 'U0USER' });
    expect(await h.waitForEnd(root)).toMatch(/Budget reached/);
    await h.click('ai_dev_continue', root, { user: 'U0OTHER' });
    await h.slack.waitForResponse((r) => /Only the person who started this thread/.test(String(r.body.text)));
    expect(h.bot.coordinator.isRunning('C0TEST', root)).toBe(false);
    await h.restart();
  });

  it('refuses people from another organisation (Slack Connect) unless ALLOW_EXTERNAL_USERS is set', async () => {
    const requests = h.openai.requests.length;
    const root = await h.mention('do something', { user: 'U0USER', userTeam: 'T0ELSEWHERE' });
    await h.slack.waitFor(
      (c) =>
        c.method === 'chat.postEphemeral' && /own organisation/.test(String(c.args.text)) && c.args.thread_ts === root,
      5_000,
    );
    expect(h.openai.requests.length).toBe(requests);
    expect(await h.bot.threads.get('C0TEST', root)).toBeUndefined();

    await h.restart({ ALLOW_EXTERNAL_USERS: 'true' });
    h.openai.script([text('Hello, neighbour.')]);
    const allowed = await h.mention('say hi', { user: 'U0USER', userTeam: 'T0ELSEWHERE' });
    expect(await h.waitForEnd(allowed)).toContain('Hello, neighbour.');
    await h.restart();
  });
});
