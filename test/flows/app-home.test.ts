import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { appHomeOpenedEvent, DEFAULT_IDS, MANIFEST_BOT_SCOPES, sendEvent } from '../fakes/slack-server.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';

describe('the Home tab', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    h.slack.setChannel(DEFAULT_IDS.channelId, {
      members: [DEFAULT_IDS.userId, DEFAULT_IDS.botUserId, 'U0LINKER', 'U0ALICE'],
    });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0LINKER' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const openHome = async (user: string) => {
    const before = h.slack.homeViews(user).length;
    await sendEvent(h.botUrl, SIGNING_SECRET, appHomeOpenedEvent({ user }));
    await h.slack.waitFor(() => h.slack.homeViews(user).length > before, 5000);
    return JSON.stringify(h.slack.homeView(user)?.view);
  };

  it('is published on app_home_opened with the linked repos, recent PRs and dollars this week', async () => {
    // Before anyone ran anything here, the person who linked the repo sees the channel.
    const empty = await openHome('U0LINKER');
    expect(empty).toContain(`<#${DEFAULT_IDS.channelId}>`);
    expect(empty).toContain('acme/widgets');
    expect(empty).toContain('No pull request yet.');

    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'notes\n' } }], {
        usage: { input_tokens: 100_000, cached_tokens: 0, output_tokens: 0 },
      }),
      text('Wrote the notes.', { usage: { input_tokens: 100_000, cached_tokens: 0, output_tokens: 0 } }),
    ]);
    const root = await h.mention('write the notes');
    await h.waitForEnd(root);

    // $0.20 + $0.20 of gpt-6.2-sol input, and a little sandbox time.
    const home = await openHome(DEFAULT_IDS.userId);
    expect(home).toContain(`<#${DEFAULT_IDS.channelId}>* · $0.40 this week`);
    expect(home).toMatch(/acme\/widgets#1>/);
    expect(home).toContain('write the notes');

    // Someone who is not in the channel sees no channel.
    const stranger = await openHome('U0STRANGER');
    expect(stranger).toContain('No linked channel you can see yet');
  });

  it('lists the linked channels the person is in, and never a private channel they are not in', async () => {
    const secret = 'G0SECRET';
    const other = 'C0OTHER';
    // U0DAVE linked a repo in the private channel and has left it since; U0BOB is in it.
    h.slack.setChannel(secret, { isPrivate: true, members: [DEFAULT_IDS.botUserId, 'U0BOB', 'U0DAVE'] });
    h.slack.setChannel(other, { members: [DEFAULT_IDS.botUserId, 'U0ALICE', 'U0BOB'] });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0DAVE', channel: secret });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0BOB', channel: other });
    h.slack.setChannel(secret, { isPrivate: true, members: [DEFAULT_IDS.botUserId, 'U0BOB'] });

    // Alice never used the bot: she sees both public channels she is in, not the private one.
    const alice = await openHome('U0ALICE');
    expect(alice).toContain(`<#${DEFAULT_IDS.channelId}>`);
    expect(alice).toContain(`<#${other}>`);
    expect(alice).not.toContain(secret);
    // Bob is in the private channel.
    expect(await openHome('U0BOB')).toContain(`<#${secret}>`);
    // Dave linked a repo there, but is no longer in it.
    const dave = await openHome('U0DAVE');
    expect(dave).not.toContain(secret);
    expect(dave).toContain('No linked channel you can see yet');

    // The bot asked Slack once per person, with the bot token, for public and private channels.
    const asked = h.slack.callsOf('users.conversations').filter((c) => c.args.user === 'U0ALICE');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.args.types).toBe('public_channel,private_channel');
    expect(asked[0]?.response?.ok).toBe(true);

    // Kept briefly: opening the tab again within the minute does not ask Slack again.
    h.slack.setChannel(other, { members: [DEFAULT_IDS.botUserId, 'U0BOB'] });
    expect(await openHome('U0ALICE')).toContain(`<#${other}>`);
    expect(h.slack.callsOf('users.conversations').filter((c) => c.args.user === 'U0ALICE')).toHaveLength(1);
  });

  it('reads every page of a person’s channels (up to its cap)', async () => {
    // 250 channels before the linked one: it is on the second page of 200.
    for (let i = 0; i < 250; i += 1) {
      h.slack.setChannel(`C0BULK${String(i).padStart(3, '0')}`, { members: ['U0FRANK'] });
    }
    h.slack.setChannel('C0LATE', { members: [DEFAULT_IDS.botUserId, 'U0FRANK'] });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0BOB', channel: 'C0LATE' });
    expect(await openHome('U0FRANK')).toContain('<#C0LATE>');
    const pages = h.slack.callsOf('users.conversations').filter((c) => c.args.user === 'U0FRANK');
    expect(pages).toHaveLength(2);
    expect(pages[1]?.args.cursor).toBeTruthy();
  });

  it('lists no channel, and says why, when Slack will not say which channels the person is in', async () => {
    const granted = [...MANIFEST_BOT_SCOPES];
    h.slack.setScopes(granted.filter((scope) => scope !== 'groups:read'));
    try {
      const home = await openHome('U0ERIN');
      expect(home).toContain('No linked channel you can see yet');
      expect(home).toContain('channels:read and groups:read');
      const [refused] = h.slack.callsOf('users.conversations').filter((c) => c.args.user === 'U0ERIN');
      expect(refused?.response).toMatchObject({ ok: false, error: 'missing_scope', needed: 'groups:read' });
    } finally {
      h.slack.setScopes(granted);
    }
  });
});
