import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIModel } from '../../src/agent/openai-model.js';
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai-server.js';
import { captureLogger } from '../helpers/logger.js';

describe('OpenAIModel.compact against the loopback OpenAI', () => {
  let fake: FakeOpenAI;
  let model: OpenAIModel;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.url });
    model = new OpenAIModel({
      client,
      model: 'gpt-6.2-sol',
      reasoningEffort: 'medium',
      logger: captureLogger().logger,
    });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('seeds a new conversation with the compacted items, at most 20 per call, and leaves the old one alone', async () => {
    const client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.url });
    const messages = Array.from({ length: 30 }, (_, i) => ({
      type: 'message' as const,
      role: 'user' as const,
      content: `message ${i} ${'x'.repeat(400)}`,
    }));
    const old = await client.conversations.create({ items: messages.slice(0, 20) });
    await client.conversations.items.create(old.id, { items: messages.slice(20) });

    const done = await model.compact({
      conversationId: old.id,
      instructions: 'Work on the repo.',
      pending: [{ type: 'message', role: 'user', content: 'one more thing' }],
      metadata: { thread: 't1' },
      signal: new AbortController().signal,
    });
    expect(done.conversationId).not.toBe(old.id);
    expect(done.usage.inputTokens).toBeGreaterThan(3_000);
    const seeded = fake.conversationItems(done.conversationId);
    // 31 user messages kept, then the compaction item: more than one call's worth.
    expect(seeded).toHaveLength(32);
    expect(seeded.at(-1)?.type).toBe('compaction');
    expect(fake.conversationItems(old.id)).toHaveLength(30);
  });
});
