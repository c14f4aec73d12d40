import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/lib/redact.js';
import { type CardTimers, CardUpdater, type CardUpdaterOptions } from '../../src/slack/card-updater.js';
import { PostQueue } from '../../src/slack/post-queue.js';
import { type CardState, initialCardState, statusCardMessage } from '../../src/slack/status-card.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';
import { captureLogger } from '../helpers/logger.js';

const CHANNEL = 'C0CARDS';
const THREAD = '1700000000.000100';
const T0 = 1_800_000_000_000;

/** A clock that moves only when the test says so; timers fire in order as it passes them. */
class ManualClock implements CardTimers {
  time = T0;
  private seq = 0;
  private timers: Array<{ id: number; at: number; callback: () => void }> = [];
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, ms: number): number {
    this.seq += 1;
    this.timers.push({ id: this.seq, at: this.time + ms, callback });
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get armed(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = end;
  }
}

let fake: FakeSlack;
let clock: ManualClock;
/** Manual-clock times at which the updater called chat.update (each call, before the WebClient's own retries). */
let editStarts: number[];

function makeClient(retries: number): WebClient {
  const client = new WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries, factor: 1, minTimeout: 5, maxTimeout: 5 },
    logLevel: LogLevel.ERROR,
  });
  const update = client.chat.update.bind(client.chat);
  client.chat.update = (args) => {
    editStarts.push(clock.now());
    return update(args);
  };
  return client;
}

function updater(client: WebClient, extra: Partial<CardUpdaterOptions> = {}) {
  const log = captureLogger();
  const card = new CardUpdater({
    client,
    channel: CHANNEL,
    threadTs: THREAD,
    logger: log.logger,
    timers: clock,
    ...extra,
  });
  return { card, log };
}

function state(step: number, overrides: Partial<CardState> = {}): CardState {
  return {
    ...initialCardState({
      threadKey: `${CHANNEL}:${THREAD}`,
      title: 'Fix the leap-year bug',
      repo: 'acme/widgets',
      branch: 'ai-dev/fix',
      startedAt: T0,
      model: 'gpt-6.2-sol',
      effort: 'medium',
      budgetDollars: 10,
    }),
    plan: [{ title: `step ${step}`, status: 'in_progress' }],
    dollars: step / 100,
    ...overrides,
  };
}

/** The final state: ended, so its rendering does not depend on the clock. */
function finalState(): CardState {
  return state(99, { phase: 'done', endedAt: T0 + 60_000, plan: [{ title: 'step 99', status: 'complete' }] });
}

/** Moves the clock by `ms` and waits until no edit is on its way. */
async function tick(card: CardUpdater, ms = 500): Promise<void> {
  clock.advance(ms);
  await card.whenIdle();
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] ?? 0));
}

beforeEach(async () => {
  fake = await startFakeSlack();
  clock = new ManualClock();
  editStarts = [];
});

afterEach(async () => {
  await fake.close();
});

describe('CardUpdater', () => {
  it('posts the card once and edits it in place with only the newest of a burst', async () => {
    const { card } = updater(makeClient(0));
    const posting = card.start(state(0));
    for (let i = 1; i <= 10; i += 1) card.update(state(i));
    const ts = await posting;
    expect(ts).toMatch(/^\d+\.\d{6}$/);
    await card.whenIdle();
    expect(fake.callsOf('chat.update')).toHaveLength(0); // not before the interval
    await tick(card, 2000);
    const history = fake.messageHistory(CHANNEL, String(ts));
    expect(history.map((v) => v.via)).toEqual(['chat.postMessage', 'chat.update']);
    expect(history.at(-1)?.blocks).toEqual(statusCardMessage(state(10), clock.now()).blocks);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
    // Nothing new: no edit.
    await tick(card, 10_000);
    expect(fake.callsOf('chat.update')).toHaveLength(1);
  });

  it("under Slack's chat.update rate limit, edits at most one per 2 s and ends on the final state", async () => {
    fake.setChatUpdateLimit({ limit: 2, windowMs: 150, retryAfterSeconds: 0 });
    const { card } = updater(makeClient(100));
    const ts = await card.start(state(0));
    for (let i = 1; i <= 40; i += 1) {
      card.update(state(i));
      await tick(card, 300);
    }
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 300);
    await finished;
    expect(fake.rateLimited).toBeGreaterThan(0);
    const history = fake.messageHistory(CHANNEL, String(ts));
    expect(history.at(-1)?.blocks).toEqual(statusCardMessage(finalState(), 0).blocks);
    expect(history.at(-1)?.blocks?.some((b) => (b as { type: string }).type === 'actions')).toBe(false);
    expect(editStarts.length).toBeGreaterThan(3);
    expect(editStarts.length).toBeLessThan(41);
    for (const gap of gaps(editStarts)) expect(gap).toBeGreaterThanOrEqual(2000);
  });

  it('retries a failed edit with the newest state', async () => {
    const { card, log } = updater(makeClient(0));
    const ts = await card.start(state(0));
    fake.failNext('chat.update', 'internal_error');
    card.update(state(1));
    await tick(card, 2000);
    card.update(state(2));
    card.update(state(3));
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 1000);
    await finished;
    const edits = fake.callsOf('chat.update');
    expect(edits.map((c) => c.response?.ok)).toEqual([false, true]);
    expect(fake.messageHistory(CHANNEL, String(ts)).at(-1)?.blocks).toEqual(statusCardMessage(finalState(), 0).blocks);
    expect(log.text()).toMatch(/retrying with the newest state/);
    expect(gaps(editStarts)[0]).toBeGreaterThanOrEqual(4000); // the interval plus a backoff after a failure
  });

  it('retries when the WebClient gives up on 429s', async () => {
    fake.rateLimit({ method: 'chat.update', times: 3, retryAfterSeconds: 0 });
    const { card } = updater(makeClient(1));
    const ts = await card.start(state(0));
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 1000);
    await finished;
    expect(fake.callsOf('chat.update').map((c) => c.status)).toEqual([429, 429, 429, 200]);
    expect(fake.messageHistory(CHANNEL, String(ts)).at(-1)?.blocks).toEqual(statusCardMessage(finalState(), 0).blocks);
  });

  it('goes on without the plan block when Slack refuses the blocks', async () => {
    const { card, log } = updater(makeClient(0));
    const ts = await card.start(state(0));
    fake.failNext('chat.update', 'invalid_blocks');
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 1000);
    await finished;
    const last = fake.messageHistory(CHANNEL, String(ts)).at(-1);
    expect(last?.via).toBe('chat.update');
    expect(last?.blocks).toEqual(statusCardMessage(finalState(), 0, { withoutPlan: true }).blocks);
    expect(last?.text).toMatch(/Done on/);
    expect(log.text()).toMatch(/without its plan block/);
  });

  it('gives up on a message it can no longer edit, and finish still resolves', async () => {
    const { card, log } = updater(makeClient(0));
    await card.start(state(0));
    fake.failNext('chat.update', 'message_not_found');
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 1000);
    await finished;
    card.update(state(5));
    await tick(card, 10_000);
    expect(fake.callsOf('chat.update')).toHaveLength(1);
    expect(log.text()).toMatch(/cannot be edited any more/);
  });

  it('gives up on the final state after a few failed attempts', async () => {
    const { card, log } = updater(makeClient(0), { finalAttempts: 3 });
    await card.start(state(0));
    for (let i = 0; i < 10; i += 1) fake.failNext('chat.update', 'internal_error');
    const finished = card.finish(finalState());
    while (clock.armed > 0) await tick(card, 5000);
    await finished;
    expect(fake.callsOf('chat.update')).toHaveLength(3);
    expect(log.text()).toMatch(/could not edit the status card to its final state/);
  });

  it('resolves finish at once when the card was never posted, and when Slack refused the post', async () => {
    const never = updater(makeClient(0)).card;
    never.update(state(1));
    await never.finish(finalState());
    fake.failNext('chat.postMessage', 'channel_not_found');
    const refused = updater(makeClient(0));
    expect(await refused.card.start(state(0))).toBeUndefined();
    refused.card.update(state(1));
    await refused.card.finish(finalState());
    expect(fake.callsOf('chat.update')).toHaveLength(0);
    expect(refused.log.text()).toMatch(/could not post the status card/);
  });

  it("edits an attached message (the run's first reply), posts through a PostQueue, and redacts", async () => {
    const client = makeClient(0);
    const first = await client.chat.postMessage({ channel: CHANNEL, thread_ts: THREAD, text: 'Working on it…' });
    const attached = updater(client).card;
    attached.attach(String(first.ts), state(1));
    const finished = attached.finish(state(2, { phase: 'done', endedAt: T0 }));
    while (clock.armed > 0) await tick(attached, 1000);
    await finished;
    expect(fake.messageHistory(CHANNEL, String(first.ts)).map((v) => v.via)).toEqual([
      'chat.postMessage',
      'chat.update',
    ]);

    const { logger } = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: 0 });
    const secret = 'sk-live-very-secret-value';
    const queued = updater(client, {
      post: (message) => queue.post({ client, threadTs: THREAD, ...message }),
      redact: createRedactor([secret]),
    }).card;
    const ts = await queued.start(state(0, { plan: [{ title: `use ${secret}`, status: 'pending' }] }));
    expect(JSON.stringify(fake.message(CHANNEL, String(ts))?.blocks)).not.toContain(secret);
    expect(fake.message(CHANNEL, String(ts))?.thread_ts).toBe(THREAD);
  });
});
