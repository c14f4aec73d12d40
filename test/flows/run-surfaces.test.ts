import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS } from '../fakes/slack-server.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';

const channel = DEFAULT_IDS.channelId;

describe('a run in Slack: one agent session and one live status card', () => {
  let h: Harness;

  /** The run's first reply: the card, edited in place. */
  const cardTs = (root: string) => {
    const first = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === root);
    return String(first?.response?.ts);
  };
  const cardVersions = (root: string) => h.slack.messageHistory(channel, cardTs(root));

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({
      owner: 'acme',
      name: 'widgets',
      files: { 'README.md': '# widgets\n', 'AGENTS.md': 'Be brief.\n' },
    });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a normal run: processing then active; the card moves from the plan to done with its cost', async () => {
    h.openai.script([
      toolCalls([
        {
          name: 'update_plan',
          arguments: {
            items: [
              { title: 'Write the notes', status: 'in_progress' },
              { title: 'Open the PR', status: 'pending' },
            ],
          },
        },
      ]),
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'notes\n' } }]),
      toolCalls([
        {
          name: 'update_plan',
          arguments: {
            items: [
              { title: 'Write the notes', status: 'complete' },
              { title: 'Open the PR', status: 'complete' },
            ],
          },
        },
      ]),
      text('Wrote the notes.'),
    ]);
    const root = await h.mention('write the release notes');
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/Opened pull request/);

    expect(h.slack.sessionStatuses(channel, root)).toEqual(['processing', 'active']);
    expect(h.slack.agentSession(channel, root)?.title).toBe('write the release notes');

    const versions = cardVersions(root);
    expect(versions[0]?.via).toBe('chat.postMessage');
    expect(versions.length).toBeGreaterThan(1);
    expect(versions.slice(1).every((v) => v.via === 'chat.update')).toBe(true);
    const last = versions.at(-1);
    expect(last?.text).toMatch(/^:white_check_mark: Done on \*acme\/widgets\*/);
    expect(last?.text).toMatch(/\*\$\d+\.\d\d\* of \$10\.00/);
    const blocks = JSON.stringify(last?.blocks);
    expect(blocks).toContain('"type":"plan"');
    expect(blocks).toContain('Write the notes');
    expect(blocks).toContain('AGENTS.md found');
    expect(blocks).toContain('Network:');
    // The run is over: no Stop on the card.
    expect(blocks).not.toContain('ai_dev_stop');
    // The per-action replies stay, and the last reply is the outcome.
    expect(h.thread(root).some((m) => m.text.includes('NOTES.md'))).toBe(true);
  });

  it('a budget pause: suspended, then processing again on Continue and active at the end', async () => {
    h.openai.script([
      toolCalls([{ name: 'list_files', arguments: { path: '.' } }], {
        usage: { input_tokens: 100_000, cached_tokens: 0, output_tokens: 0 },
      }),
    ]);
    const root = await h.mention('look at the files budget=$0.10');
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/Budget reached/);
    expect(h.slack.sessionStatuses(channel, root)).toEqual(['processing', 'suspended']);
    expect(cardVersions(root).at(-1)?.text).toMatch(/^:double_vertical_bar: Paused on .*reached the \$0\.10 budget/);

    h.openai.script([text('Seen them.')]);
    await h.click('ai_dev_continue', root);
    await h.waitForEnd(root, 2);
    expect(h.slack.sessionStatuses(channel, root)).toEqual(['processing', 'suspended', 'processing', 'active']);
  });

  it('Slack’s native Stop stops the run like our button, and the session leaves processing', async () => {
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: 'sleep 30', timeout_seconds: 60 } }])]);
    h.slack.setEventTarget({ botUrl: `${h.botUrl}/slack/events`, signingSecret: SIGNING_SECRET });
    const root = await h.mention('wait a long time');
    // The model asked for the command: the run is under way.
    while (!h.openai.requests.some((r) => r.inputText.includes('wait a long time'))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await h.slack.stopAgentSession(channel, root, { user: DEFAULT_IDS.userId });
    const end = await h.waitForEnd(root);
    expect(end).toContain(`Stopped by <@${DEFAULT_IDS.userId}>`);
    expect(h.slack.sessionStatuses(channel, root)).toEqual(['processing', 'active']);
    expect(cardVersions(root).at(-1)?.text).toMatch(/Stopped on .*stopped by/);
  });

  it('the card reaches its final state through Slack 429s on chat.update', async () => {
    h.slack.rateLimit({ method: 'chat.update', times: 2, retryAfterSeconds: 1 });
    h.openai.script([toolCalls([{ name: 'list_files', arguments: { path: '.' } }]), text('Nothing to change.')]);
    const before = h.slack.rateLimited;
    const root = await h.mention('check the files');
    await h.waitForEnd(root);
    expect(h.slack.rateLimited - before).toBe(2);
    expect(cardVersions(root).at(-1)?.text).toMatch(/^:white_check_mark: Done on/);
    expect(h.slack.sessionStatuses(channel, root)).toEqual(['processing', 'active']);
  });
});
