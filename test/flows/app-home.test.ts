import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { appHomeOpenedEvent, DEFAULT_IDS, sendEvent } from '../fakes/slack-server.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';

describe('the Home tab', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
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

    // Someone who never used the bot here sees no channel.
    const stranger = await openHome('U0STRANGER');
    expect(stranger).toContain('No linked channel you can see yet');
  });
});
