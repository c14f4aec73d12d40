import { describe, expect, it } from 'vitest';
import { ChannelMembership } from '../../src/slack/channel-membership.js';

/** Slack's `users.conversations` for one person in `count` channels, `limit` a page. */
function slack(count: number) {
  const calls: Array<{ user?: string; cursor?: string; limit?: number }> = [];
  const client = {
    users: {
      conversations: async (args: { user?: string; cursor?: string; limit?: number } = {}) => {
        calls.push(args);
        const from = args.cursor ? Number(args.cursor) : 0;
        const to = Math.min(count, from + (args.limit ?? 100));
        const channels = Array.from({ length: to - from }, (_, i) => ({ id: `C${from + i}` }));
        return { ok: true, channels, response_metadata: { next_cursor: to < count ? String(to) : '' } };
      },
    },
  };
  return { client, calls };
}

const logger = { warn: () => {} };

describe('ChannelMembership', () => {
  it('reads at most maxPages pages and says when it stopped short', async () => {
    const { client, calls } = slack(25);
    const membership = new ChannelMembership({ client: client as never, logger, pageSize: 10, maxPages: 2 });
    const answer = await membership.channelsOf('U1');
    expect(answer?.channels.size).toBe(20);
    expect(answer?.truncated).toBe(true);
    expect(calls.map((c) => c.cursor)).toEqual([undefined, '10']);
  });

  it('keeps an answer for its ttl, then asks again; a refusal is kept too (no storm of calls)', async () => {
    let now = 0;
    const { client, calls } = slack(3);
    const membership = new ChannelMembership({ client: client as never, logger, ttlMs: 1000, now: () => now });
    expect((await membership.channelsOf('U1'))?.truncated).toBe(false);
    now = 999;
    await membership.channelsOf('U1');
    expect(calls).toHaveLength(1);
    now = 1000;
    await membership.channelsOf('U1');
    expect(calls).toHaveLength(2);

    const failing = new ChannelMembership({
      client: {
        users: {
          conversations: async () => {
            throw new Error('missing_scope');
          },
        },
      } as never,
      logger,
    });
    expect(await failing.channelsOf('U1')).toBeUndefined();
  });

  it('keeps at most maxEntries people, dropping the oldest', async () => {
    const { client, calls } = slack(1);
    const membership = new ChannelMembership({ client: client as never, logger, maxEntries: 2 });
    await membership.channelsOf('U1');
    await membership.channelsOf('U2');
    await membership.channelsOf('U3');
    await membership.channelsOf('U1');
    expect(calls.map((c) => c.user)).toEqual(['U1', 'U2', 'U3', 'U1']);
  });
});
