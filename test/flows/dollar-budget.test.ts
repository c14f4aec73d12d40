import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS } from '../fakes/slack-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

describe('budgets in dollars, set from Slack', () => {
  let h: Harness;

  const firstReply = (root: string) =>
    String(
      h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === root && c.args.channel !== undefined)?.args
        .text,
    );

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_MODELS: 'gpt-6.2-astra' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('budget=$0.50 pauses the run once passed, publishes the work so far, and Continue goes on', async () => {
    h.openai.script([
      (req) => {
        // The options are not part of the task the model reads.
        expect(req.inputText).toContain('write the notes');
        expect(req.inputText).not.toContain('budget=');
        expect(req.body.model).toBe('gpt-6.2-astra');
        expect((req.body.reasoning as { effort?: string } | undefined)?.effort).toBe('high');
        return toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'notes\n' } }], {
          // gpt-6.2-astra: 100 000 × $8 / 1M = $0.80, past the $0.50 budget.
          usage: { input_tokens: 100_000, cached_tokens: 0, output_tokens: 0 },
        });
      },
    ]);
    const root = await h.mention('write the notes budget=$0.50 model=gpt-6.2-astra effort=high');
    const end = await h.waitForEnd(root);
    expect(firstReply(root)).toContain('Settings: model gpt-6.2-astra · effort high · budget $0.50 per run.');
    expect(end).toMatch(
      /Budget reached: this run used its \$0\.50 budget \(\$0\.8\d spent\); the work so far is published/,
    );
    const endCall = h.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.thread_ts === root)
      .at(-1);
    expect(JSON.stringify(endCall?.args.blocks)).toContain('ai_dev_continue');
    // The work so far is on GitHub.
    const [pull] = h.github.pulls('acme', 'widgets');
    expect(pull?.title).toBe('write the notes');
    h.openai.assertDone();

    // Continue: another budget of the same size, the same thread settings.
    h.openai.script([
      (req) => {
        expect(req.body.model).toBe('gpt-6.2-astra');
        expect(req.inputText).toContain('Continue where you stopped');
        return text('Notes are done.', { usage: { input_tokens: 1_000, cached_tokens: 0, output_tokens: 100 } });
      },
    ]);
    await h.click('ai_dev_continue', root);
    const resumed = await h.waitForEnd(root, 2);
    expect(resumed).toContain('Notes are done');
    expect(resumed).toMatch(/of \$0\.50/);
  });

  it('refuses a budget above ALLOW_MAX_DOLLARS for a non-admin, and a model not allowed, saying why', async () => {
    const root = await h.mention('do a big thing budget=$100');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root, 5000);
    expect(firstReply(root)).toContain('I did not start: `budget=$100` is above the $25 a run may have');

    const other = await h.mention('do it model=gpt-9-huge');
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === other, 5000);
    expect(firstReply(other)).toContain('`model=gpt-9-huge` is not allowed here; pick one of');
    expect(h.bot.coordinator.isRunning(DEFAULT_IDS.channelId, root)).toBe(false);
  });

  it('a workspace admin may go above the cap', async () => {
    h.slack.setUser('UADMIN', { is_admin: true });
    h.openai.script([text('Nothing to do.')]);
    const root = await h.mention('look around budget=$40', { user: 'UADMIN' });
    await h.waitForEnd(root);
    expect(firstReply(root)).toContain('budget $40.00 per run');
  });

  it('/ai-dev config sets the channel default a mention gets', async () => {
    const { response } = await h.command('config budget 5', { expectResponse: true });
    expect(response?.body.text).toContain('set this channel’s runs to model gpt-6.2-sol · effort');
    expect(response?.body.text).toContain('budget $5.00 per run');
    const refused = await h.command('config effort sideways', { expectResponse: true });
    expect(refused.response?.body.text).toContain('`effort=sideways` is not an effort');

    h.openai.script([text('Nothing to change.')]);
    const root = await h.mention('check the readme');
    const end = await h.waitForEnd(root);
    expect(firstReply(root)).toContain('budget $5.00 per run');
    expect(end).toMatch(/of \$5\.00/);
  });
});
