import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { type Redactor, redactDeep } from '../lib/redact.js';
import type { SlackMessage } from './blocks.js';
import type { PostResult } from './post-queue.js';
import { type CardState, type StatusCardOptions, statusCardMessage } from './status-card.js';

/** The clock and timers the updater uses (tests pass a manual clock). */
export interface CardTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: CardTimers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface CardUpdaterOptions {
  client: WebClient;
  channel: string;
  threadTs: string;
  logger: Logger;
  /** Applied to every string of the card before it leaves for Slack. */
  redact?: Redactor;
  /** Least time between the end of one edit and the start of the next. Default 2000 ms (Tier 3 allows ~50/min). */
  minIntervalMs?: number;
  timers?: CardTimers;
  /**
   * How the card is first posted. Default: `chat.postMessage` in the thread. Pass the channel's
   * `PostQueue.post` to keep the card in order with the thread's other replies and within the channel's budget.
   */
  post?: (message: SlackMessage) => Promise<PostResult>;
  /** Default `statusCardMessage`. */
  render?: (state: CardState, now: number, options: StatusCardOptions) => SlackMessage;
  /** Failed edits `finish` tries before it gives up on the final state. Default 5. */
  finalAttempts?: number;
  /** Longest wait between retries of a failing edit. Default 30 000 ms. */
  maxRetryDelayMs?: number;
}

/** Errors after which no edit of this message will ever succeed. */
const GIVE_UP = new Set([
  'message_not_found',
  'cant_update_message',
  'channel_not_found',
  'is_archived',
  'not_in_channel',
  'edit_window_closed',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
]);
/** Errors after which the same blocks will never be accepted: the card goes on without its plan block. */
const BLOCK_ERRORS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_blocks_too_long']);

function platformError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * One run's status card in Slack: posted once, then edited in place with `chat.update`, at most one edit per
 * `minIntervalMs` and only the newest state (states handed over in between are skipped, never queued). `update`
 * never waits on Slack. A failed edit is retried with the newest state; the WebClient has already waited out
 * Slack's 429s. `finish` flushes the last state and resolves when Slack has it (or the updater gave up, logged).
 */
export class CardUpdater {
  private readonly options: CardUpdaterOptions;
  private readonly logger: Logger;
  private readonly timers: CardTimers;
  private readonly interval: number;
  private latest: CardState | undefined;
  private version = 0;
  private shownVersion = 0;
  private ts: string | undefined;
  private posting: Promise<string | undefined> | undefined;
  private busy = false;
  private timer: unknown;
  private timerArmed = false;
  private lastEditEnd = Number.NEGATIVE_INFINITY;
  private failures = 0;
  private failuresSinceFinish = 0;
  private dead = false;
  private withoutPlan = false;
  private finishWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(options: CardUpdaterOptions) {
    this.options = options;
    this.timers = options.timers ?? realTimers;
    this.interval = options.minIntervalMs ?? 2000;
    this.logger = options.logger.child({ channel: options.channel, threadTs: options.threadTs, component: 'card' });
  }

  /** The card's message ts once posted (or attached). */
  get messageTs(): string | undefined {
    return this.ts;
  }

  /** Posts the card (once) and answers its ts, or undefined when Slack refused it (logged; the run goes on). */
  start(state: CardState): Promise<string | undefined> {
    if (this.posting) {
      this.update(state);
      return this.posting;
    }
    this.latest = state;
    this.version += 1;
    const version = this.version;
    this.posting = this.postCard(state).then((ts) => {
      this.lastEditEnd = this.timers.now();
      if (ts) {
        this.ts = ts;
        this.shownVersion = Math.max(this.shownVersion, version);
      } else {
        this.dead = true;
      }
      this.kick();
      this.settle(this.idleWaiters);
      return ts;
    });
    return this.posting;
  }

  /** Edits an existing message of the bot's (e.g. the run's first reply) instead of posting a new one. */
  attach(ts: string, state?: CardState): void {
    this.ts = ts;
    this.posting = Promise.resolve(ts);
    if (state) this.update(state);
  }

  /** Hands over the newest state; returns at once. */
  update(state: CardState): void {
    this.latest = state;
    this.version += 1;
    this.kick();
  }

  /** Sends the newest state (the given one, if any) and resolves once Slack has it or the updater gave up. */
  async finish(state?: CardState): Promise<void> {
    if (state) this.update(state);
    if (this.posting) await this.posting;
    this.failuresSinceFinish = 0;
    await new Promise<void>((resolve) => {
      this.finishWaiters.push(resolve);
      this.kick();
    });
  }

  /** Resolves when no edit is on its way to Slack (for tests driving a manual clock). */
  whenIdle(): Promise<void> {
    if (!this.busy && !this.postingUnsettled()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private postingUnsettled(): boolean {
    return this.posting !== undefined && this.ts === undefined && !this.dead;
  }

  private render(state: CardState): SlackMessage {
    const render = this.options.render ?? statusCardMessage;
    const message = render(state, this.timers.now(), { withoutPlan: this.withoutPlan });
    return this.options.redact ? redactDeep(message, this.options.redact) : message;
  }

  private async postCard(state: CardState): Promise<string | undefined> {
    const { client, channel, threadTs } = this.options;
    try {
      const message = this.render(state);
      if (this.options.post) {
        const result = await this.options.post(message);
        if (result.ok && result.ts) return result.ts;
        this.logger.error({ error: result.ok ? 'no ts' : result.error }, 'could not post the status card');
        return undefined;
      }
      const result = await client.chat.postMessage({
        channel,
        thread_ts: threadTs,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      return typeof result.ts === 'string' ? result.ts : undefined;
    } catch (error) {
      this.logger.error({ err: error, error: platformError(error) }, 'could not post the status card');
      return undefined;
    }
  }

  /** Arms the timer for the next edit when one is due and none is on its way; settles `finish` when all is sent. */
  private kick(): void {
    // The post's own continuation kicks again once it is settled.
    if (this.busy || this.timerArmed || this.postingUnsettled()) return;
    if (this.dead || this.ts === undefined || this.shownVersion >= this.version) {
      this.settle(this.finishWaiters);
      return;
    }
    const backoff = this.failures === 0 ? 0 : Math.min(this.interval * 2 ** (this.failures - 1), this.maxRetryDelay());
    const wait = Math.max(0, this.lastEditEnd + this.interval + backoff - this.timers.now());
    this.timerArmed = true;
    this.timer = this.timers.setTimeout(() => {
      this.timerArmed = false;
      this.timer = undefined;
      void this.edit();
    }, wait);
  }

  /** Stops editing (shutdown): a pending edit is dropped and `finish` resolves. */
  dispose(): void {
    if (this.timerArmed) this.timers.clearTimeout(this.timer);
    this.timerArmed = false;
    this.timer = undefined;
    this.dead = true;
    this.settle(this.finishWaiters);
    this.settle(this.idleWaiters);
  }

  private maxRetryDelay(): number {
    return this.options.maxRetryDelayMs ?? 30_000;
  }

  private async edit(): Promise<void> {
    const state = this.latest;
    const ts = this.ts;
    if (this.busy || !state || ts === undefined || this.dead) return;
    this.busy = true;
    const version = this.version;
    try {
      const message = this.render(state);
      await this.options.client.chat.update({
        channel: this.options.channel,
        ts,
        text: message.text,
        blocks: message.blocks ?? [],
      });
      this.shownVersion = Math.max(this.shownVersion, version);
      this.failures = 0;
    } catch (error) {
      this.failed(error);
    } finally {
      this.lastEditEnd = this.timers.now();
      this.busy = false;
      this.kick();
      this.settle(this.idleWaiters);
    }
  }

  private failed(error: unknown): void {
    const code = platformError(error);
    if (code && GIVE_UP.has(code)) {
      this.dead = true;
      this.logger.error({ err: error, error: code }, 'the status card cannot be edited any more; giving up on it');
      return;
    }
    if (code && BLOCK_ERRORS.has(code) && !this.withoutPlan) {
      this.withoutPlan = true;
      this.logger.error({ err: error, error: code }, 'Slack refused the status card; going on without its plan block');
      return;
    }
    this.failures += 1;
    if (this.finishWaiters.length > 0) {
      this.failuresSinceFinish += 1;
      if (this.failuresSinceFinish >= (this.options.finalAttempts ?? 5)) {
        this.dead = true;
        this.logger.error(
          { err: error, error: code ?? errorMessage(error), attempts: this.failuresSinceFinish },
          'could not edit the status card to its final state; giving up',
        );
        return;
      }
    }
    this.logger.warn(
      { err: error, error: code ?? errorMessage(error), failures: this.failures },
      'could not edit the status card; retrying with the newest state',
    );
  }

  private settle(waiters: Array<() => void>): void {
    for (const resolve of waiters.splice(0)) resolve();
  }
}
