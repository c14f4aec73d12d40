import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS } from '../fakes/slack-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const THRESHOLD = 10_000;
const TURNS = 200;
const WINDOW = 100;
/** A long file read a window per turn: each output is about 1 500 tokens and no two calls are alike. */
const BIG = Array.from({ length: TURNS * WINDOW }, (_, i) => `line ${i + 1}: the quick brown fox jumps`).join('\n');

describe('long runs stay under the input threshold', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { COMPACT_AT_INPUT_TOKENS: String(THRESHOLD), RUN_MAX_TURNS: '250' } });
    await h.github.addRepo({
      owner: 'acme',
      name: 'widgets',
      files: { 'README.md': '# widgets\n', 'big.txt': `${BIG}\n` },
    });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('compacts into a new conversation before a request would pass COMPACT_AT_INPUT_TOKENS', {
    timeout: 240_000,
  }, async () => {
    // 200 turns of about 1 500 tokens each: without compaction the input would pass 300 000 tokens.
    h.openai.script([
      ...Array.from({ length: TURNS }, (_, i) =>
        toolCalls([
          {
            name: 'read_file',
            arguments: { path: 'big.txt', start_line: i * WINDOW + 1, end_line: (i + 1) * WINDOW },
          },
        ]),
      ),
      text('Counted everything.'),
    ]);
    const root = await h.mention('count in steps');
    const end = await h.waitForEnd(root, 1, DEFAULT_IDS.channelId, 200_000);
    expect(end).toContain('Counted everything');

    const inputs = h.openai.requests.map((r) => r.tokens.input);
    expect(inputs).toHaveLength(TURNS + 1);
    expect(Math.max(...inputs)).toBeLessThan(THRESHOLD);
    expect(h.openai.compactions.length).toBeGreaterThanOrEqual(20);
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
