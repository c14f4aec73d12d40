import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { balanceFences, SLACK_LIMITS, trimEnd } from './blocks.js';

export interface PostQueueOptions {
  channel: string;
  logger: Logger;
  /**
   * Least time between the end of one post and the start of the next in this channel
   * (Slack allows about one message per second per channel). Default 1000 ms.
   */
  minIntervalMs?: number;
  /** Most characters of one coalesced message; more lines wait for the next post. Default 6000. */
  maxMessageChars?: number;
}

export type PostResult = { ok: true; ts: string } | { ok: false; error: string };

export interface QueuedLine {
  client: WebClient;
  threadTs: string;
  /** mrkdwn, already redacted. */
  text: string;
}

export interface QueuedMessage extends QueuedLine {
  blocks?: KnownBlock[];
}

interface Entry {
  seq: number;
  client: WebClient;
  threadTs: string;
  text: string;
  blocks: KnownBlock[] | undefined;
  /** Posted on its own (blocks, terminal messages); lines are coalesced. */
  standalone: boolean;
  failures: number;
  settle: (result: PostResult) => void;
}

/** Errors after which the same blocks will never be accepted: retry as text only. */
const BLOCK_ERRORS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_blocks_too_long']);

function slackError(error: unknown): { code: string | undefined; platform: string | undefined } {
  const e = error as { code?: unknown; data?: { error?: unknown } } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const platform = typeof e?.data?.error === 'string' ? e.data.error : undefined;
  return { code, platform };
}

/**
 * The posting budget of one Slack channel, shared by every run in it. One post at a time, at most
 * one per `minIntervalMs`; lines of the same thread that wait are coalesced into one reply (joined
 * by newlines, up to `maxMessageChars`), never dropped. A failed post is logged and its lines are
 * retried once with the next batch. Callers never wait on Slack unless they choose to await the
 * returned promise, which always resolves (never rejects).
 */
export class PostQueue {
  readonly channel: string;
  private readonly logger: Logger;
  private readonly minIntervalMs: number;
  private readonly maxMessageChars: number;
  private pending: Entry[] = [];
  private readonly unsettled = new Set<Promise<PostResult>>();
  private seq = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private nextAt = 0;

  constructor(options: PostQueueOptions) {
    this.channel = options.channel;
    this.logger = options.logger.child({ channel: options.channel, component: 'slack-post-queue' });
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.maxMessageChars = Math.min(options.maxMessageChars ?? 6000, SLACK_LIMITS.text);
  }

  /** Entries waiting or being posted. */
  get size(): number {
    return this.unsettled.size;
  }

  /** A line of a thread's progress: coalesced with the thread's other waiting lines. */
  add(line: QueuedLine): Promise<PostResult> {
    return this.enqueue(line, undefined, false);
  }

  /** A message of its own (e.g. with blocks): never coalesced, posted in order after earlier lines. */
  post(message: QueuedMessage): Promise<PostResult> {
    return this.enqueue(message, message.blocks, true);
  }

  /** Resolves when everything handed to the queue so far has been posted (or finally given up). */
  async flush(): Promise<void> {
    await Promise.all([...this.unsettled]);
  }

  private enqueue(item: QueuedLine, blocks: KnownBlock[] | undefined, standalone: boolean): Promise<PostResult> {
    let settle: (result: PostResult) => void = () => {};
    const promise = new Promise<PostResult>((resolve) => {
      settle = resolve;
    });
    this.unsettled.add(promise);
    void promise.then(() => this.unsettled.delete(promise));
    this.seq += 1;
    this.pending.push({
      seq: this.seq,
      client: item.client,
      threadTs: item.threadTs,
      text: balanceFences(trimEnd(item.text, (standalone ? SLACK_LIMITS.text : this.maxMessageChars) - 8)),
      blocks,
      standalone,
      failures: 0,
      settle,
    });
    this.schedule();
    return promise;
  }

  private schedule(): void {
    if (this.inFlight || this.timer !== undefined || this.pending.length === 0) return;
    // Always at least one macrotask later, so a burst handed over synchronously becomes one post.
    const wait = Math.max(0, this.nextAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sendNext();
    }, wait);
  }

  /**
   * The oldest waiting entry decides the thread; a standalone entry goes alone, otherwise that
   * thread's lines are taken in order until a standalone entry or the size limit.
   */
  private takeBatch(): Entry[] {
    const head = this.pending[0];
    if (!head) return [];
    const batch = [head];
    if (!head.standalone) {
      let size = head.text.length;
      for (const entry of this.pending.slice(1)) {
        if (entry.threadTs !== head.threadTs || entry.client !== head.client) continue;
        if (entry.standalone || size + 1 + entry.text.length > this.maxMessageChars) break;
        batch.push(entry);
        size += 1 + entry.text.length;
      }
    }
    const taken = new Set(batch);
    this.pending = this.pending.filter((entry) => !taken.has(entry));
    return batch;
  }

  private async sendNext(): Promise<void> {
    if (this.inFlight) return;
    const batch = this.takeBatch();
    const head = batch[0];
    if (!head) return;
    this.inFlight = true;
    try {
      const text = batch.map((entry) => entry.text).join('\n');
      const result = await head.client.chat.postMessage({
        channel: this.channel,
        thread_ts: head.threadTs,
        text,
        ...(head.blocks ? { blocks: head.blocks } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      const ts = typeof result.ts === 'string' ? result.ts : '';
      for (const entry of batch) entry.settle({ ok: true, ts });
    } catch (error) {
      this.failed(batch, error);
    } finally {
      this.inFlight = false;
      this.nextAt = Date.now() + this.minIntervalMs;
      this.schedule();
    }
  }

  /**
   * Puts back what may be retried once, gives up on the rest (logged). Rate limits never get here: the
   * WebClient owns Slack's 429s and waits them out before it answers.
   */
  private failed(batch: Entry[], error: unknown): void {
    const { code, platform } = slackError(error);
    const reason = platform ?? code ?? errorMessage(error);
    const retry: Entry[] = [];
    const dropped: Entry[] = [];
    for (const entry of batch) {
      entry.failures += 1;
      if (platform && BLOCK_ERRORS.has(platform)) entry.blocks = undefined;
      if (platform === 'msg_too_long') entry.text = balanceFences(trimEnd(entry.text, 3000));
      (entry.failures < 2 ? retry : dropped).push(entry);
    }
    const context = { threadTs: batch[0]?.threadTs, error: reason, messages: batch.length };
    if (retry.length > 0) {
      this.logger.warn({ ...context, retrying: retry.length }, 'Slack post failed; retrying with the next batch');
      this.pending = [...retry, ...this.pending].sort((a, b) => a.seq - b.seq);
    }
    if (dropped.length > 0) {
      const chars = dropped.reduce((sum, entry) => sum + entry.text.length, 0);
      this.logger.error({ ...context, err: error, lost: dropped.length, chars }, 'Slack post failed again; giving up');
      for (const entry of dropped) entry.settle({ ok: false, error: reason });
    }
  }
}

/** One `PostQueue` per channel, created on first use; built once by the composition root. */
export class PostQueues {
  private readonly queues = new Map<string, PostQueue>();

  constructor(private readonly options: Omit<PostQueueOptions, 'channel'>) {}

  forChannel(channel: string): PostQueue {
    let queue = this.queues.get(channel);
    if (!queue) {
      queue = new PostQueue({ ...this.options, channel });
      this.queues.set(channel, queue);
    }
    return queue;
  }

  /** Waits for every channel's queue (graceful shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.flush()));
  }
}
