import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PostQueue, PostQueues } from '../../src/slack/post-queue.js';
import { type FakeSlack, type RecordedCall, startFakeSlack } from '../fakes/slack-server.js';
import { drive, useFakeClock } from '../helpers/fake-clock.js';
import { captureLogger } from '../helpers/logger.js';

const CHANNEL = 'C0QUEUE';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fake: FakeSlack;
let client: WebClient;

function makeClient(): WebClient {
  return new WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 },
    logLevel: LogLevel.ERROR,
  });
}

/** chat.postMessage calls Slack accepted, in arrival order. */
function accepted(threadTs?: string): RecordedCall[] {
  return fake
    .callsOf('chat.postMessage')
    .filter((c) => c.status === 200 && c.response?.ok === true && (!threadTs || c.args.thread_ts === threadTs));
}

/** The numbers of every `line-<n>` in the thread, in the order a reader sees them. */
function lineNumbers(threadTs: string, prefix = 'line'): number[] {
  const text = fake
    .threadMessages(CHANNEL, threadTs)
    .map((m) => m.text)
    .join('\n');
  return [...text.matchAll(new RegExp(`${prefix}-(\\d+)\\b`, 'g'))].map((m) => Number(m[1]));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

beforeEach(async () => {
  fake = await startFakeSlack();
  client = makeClient();
});

afterEach(async () => {
  vi.useRealTimers();
  await fake.close();
});

describe('PostQueue', () => {
  it('coalesces a burst of lines into few posts, keeping every line in order', async () => {
    const { logger } = captureLogger();
    const interval = 100;
    useFakeClock();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: interval });
    const started = Date.now();
    // A line every 5 ms of the queue's clock: at most one post per interval can go out.
    await drive(
      (async () => {
        for (const i of range(50)) {
          void queue.add({ client, threadTs: '100.000001', text: `line-${i}` });
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await queue.flush();
      })(),
      5,
    );
    const elapsed = Date.now() - started;

    const posts = accepted();
    expect(posts.length).toBeLessThanOrEqual(Math.floor(elapsed / interval) + 1);
    expect(posts.length).toBeLessThan(25);
    expect(lineNumbers('100.000001')).toEqual(range(50));
    expect(queue.size).toBe(0);
  });

  it('posts lines handed over in the same tick as one message', async () => {
    const { logger } = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: 100 });
    const results = range(20).map((i) => queue.add({ client, threadTs: '100.000002', text: `line-${i}` }));
    const settled = await Promise.all(results);
    expect(accepted()).toHaveLength(1);
    expect(new Set(settled.map((r) => (r.ok ? r.ts : r.error))).size).toBe(1);
    expect(lineNumbers('100.000002')).toEqual(range(20));
  });

  it('spaces posts of several threads in one channel by the interval and keeps each thread in order', async () => {
    const { logger } = captureLogger();
    const interval = 120;
    useFakeClock();
    const queues = new PostQueues({ logger, minIntervalMs: interval });
    const queue = queues.forChannel(CHANNEL);
    expect(queues.forChannel(CHANNEL)).toBe(queue);
    await drive(
      (async () => {
        for (const i of range(30)) {
          void queue.add({ client, threadTs: '200.000001', text: `line-${i}` });
          void queue.add({ client, threadTs: '200.000002', text: `line-${i}` });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await queues.flushAll();
      })(),
      5,
    );

    // Arrival times on the queue's (fake) clock: the spacing holds exactly, however loaded the machine.
    const posts = accepted();
    for (let i = 1; i < posts.length; i += 1) {
      const gap = (posts[i]?.at ?? 0) - (posts[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(interval);
    }
    expect(accepted('200.000001').length).toBeGreaterThan(0);
    expect(accepted('200.000002').length).toBeGreaterThan(0);
    expect(lineNumbers('200.000001')).toEqual(range(30));
    expect(lineNumbers('200.000002')).toEqual(range(30));
  });

  it('loses nothing when Slack answers 429 with Retry-After, and coalesces what arrived meanwhile', async () => {
    const { logger } = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: 50 });
    fake.rateLimit({ method: 'chat.postMessage', times: 1, retryAfterSeconds: 1 });
    void queue.add({ client, threadTs: '300.000001', text: 'line-0' });
    for (const i of range(9)) {
      await sleep(60);
      void queue.add({ client, threadTs: '300.000001', text: `line-${i + 1}` });
    }
    await queue.flush();
    expect(fake.rateLimited).toBe(1);
    expect(lineNumbers('300.000001')).toEqual(range(10));
    // line-0 after its retry, then what waited during the pause.
    expect(accepted().length).toBeLessThanOrEqual(3);
  });

  it('logs a failed post and retries its lines once with the next batch', async () => {
    const captured = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger: captured.logger, minIntervalMs: 50 });
    fake.failNext('chat.postMessage', 'internal_error');
    void queue.add({ client, threadTs: '400.000001', text: 'line-0' });
    await sleep(20);
    void queue.add({ client, threadTs: '400.000001', text: 'line-1' });
    await queue.flush();
    expect(lineNumbers('400.000001')).toEqual([0, 1]);
    expect(accepted()).toHaveLength(1);
    const warning = captured.lines().find((l) => l.msg === 'Slack post failed; retrying with the next batch');
    expect(warning).toMatchObject({ level: 40, error: 'internal_error', channel: CHANNEL });
  });

  it('gives up after a second failure (logged as an error) and goes on with later lines', async () => {
    const captured = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger: captured.logger, minIntervalMs: 30 });
    fake.failNext('chat.postMessage', 'internal_error');
    fake.failNext('chat.postMessage', 'internal_error');
    const lost = queue.add({ client, threadTs: '400.000002', text: 'line-0' });
    expect(await lost).toEqual({ ok: false, error: 'internal_error' });
    void queue.add({ client, threadTs: '400.000002', text: 'line-1' });
    await queue.flush();
    expect(lineNumbers('400.000002')).toEqual([1]);
    const error = captured.lines().find((l) => l.msg === 'Slack post failed again; giving up');
    expect(error).toMatchObject({ level: 50, lost: 1 });
  });

  it('posts a standalone message on its own, in order with the lines around it', async () => {
    const { logger } = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: 30 });
    const threadTs = '500.000001';
    void queue.add({ client, threadTs, text: 'line-0' });
    void queue.add({ client, threadTs, text: 'line-1' });
    const blocks = [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'the end' } }];
    const final = queue.post({ client, threadTs, text: 'line-2 final', blocks });
    void queue.add({ client, threadTs, text: 'line-3' });
    await queue.flush();
    expect(accepted().map((c) => c.args.text)).toEqual(['line-0\nline-1', 'line-2 final', 'line-3']);
    expect(accepted()[1]?.args.blocks).toEqual(blocks);
    expect(await final).toMatchObject({ ok: true });
  });

  it('splits into several messages only when one would be too long', async () => {
    const { logger } = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger, minIntervalMs: 20, maxMessageChars: 1000 });
    const threadTs = '600.000001';
    for (const i of range(10)) void queue.add({ client, threadTs, text: `line-${i} ${'z'.repeat(290)}` });
    void queue.add({ client, threadTs, text: `line-10 ${'w'.repeat(5000)}` });
    await queue.flush();
    const posts = accepted();
    expect(posts.length).toBeGreaterThanOrEqual(4);
    expect(posts.length).toBeLessThanOrEqual(5);
    for (const post of posts) expect(String(post.args.text).length).toBeLessThanOrEqual(1000);
    expect(lineNumbers(threadTs)).toEqual(range(11));
  });
});
