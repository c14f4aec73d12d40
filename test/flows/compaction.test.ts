import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS } from '../fakes/slack-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const THRESHOLD = 10_000;
const TURNS = 30;

describe('long runs stay under the input threshold', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { COMPACT_AT_INPUT_TOKENS: String(THRESHOLD), RUN_MAX_TURNS: '100' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('compacts into a new conversation before a request would pass COMPACT_AT_INPUT_TOKENS', {
    timeout: 120_000,
  }, async () => {
    // Each turn's command prints about 1 500 tokens: without compaction the input would pass 40 000 tokens.
    h.openai.script([
      ...Array.from({ length: TURNS }, (_, i) =>
        toolCalls([{ name: 'run_command', arguments: { command: `seq ${i * 1000} ${i * 1000 + 999}` } }]),
      ),
      text('Counted everything.'),
    ]);
    const root = await h.mention('count in steps');
    const end = await h.waitForEnd(root, 1, DEFAULT_IDS.channelId, 90_000);
    expect(end).toContain('Counted everything');

    const inputs = h.openai.requests.map((r) => r.tokens.input);
    expect(inputs).toHaveLength(TURNS + 1);
    expect(Math.max(...inputs)).toBeLessThan(THRESHOLD);
    expect(h.openai.compactions.length).toBeGreaterThanOrEqual(3);
    expect(h.openai.compactions.every((c) => c.status === 200)).toBe(true);

    // One conversation per thread at a time: the thread's record names the newest.
    const conversations = [...new Set(h.openai.requests.map((r) => r.conversationId))];
    expect(conversations.length).toBe(h.openai.compactions.length + 1);
    const state = await h.bot.threads.get(DEFAULT_IDS.channelId, root);
    expect(state?.conversationId).toBe(conversations.at(-1));

    // The card says so.
    const first = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === root);
    const card = h.slack.messageHistory(DEFAULT_IDS.channelId, String(first?.response?.ts)).at(-1);
    expect(card?.text).toMatch(/context compacted \d+×/);
  });
});
