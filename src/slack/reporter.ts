import type { WebClient } from '@slack/web-api';
import type { RunEvent } from '../agent/events.js';
import type { Logger } from '../lib/logger.js';
import { type Redactor, redactDeep } from '../lib/redact.js';
import { type ActionTextOptions, actionText, narrationText, stillRunningText } from './action-text.js';
import { escapeMrkdwn, type SlackMessage } from './blocks.js';
import { outcomeMessage } from './outcome-text.js';
import type { PostQueue, PostResult } from './post-queue.js';

export interface SlackReporterOptions {
  client: WebClient;
  channel: string;
  /** The thread the run replies in. */
  threadTs: string;
  /** Applied to every text and block text before it leaves for Slack. */
  redact: Redactor;
  logger: Logger;
  /** The channel's shared posting budget (`PostQueues.forChannel(channel)`). */
  queue: PostQueue;
  /** Value of the Continue button on "budget reached"; default `${channel}:${threadTs}`. */
  threadKey?: string;
  /** A run_command still going after this long gets a "still running" line. Default 5000 ms; 0 = never. */
  slowCommandMs?: number;
  /** Characters of the model's interim narration posted. Default 1500; 0 = narration not posted. */
  narrationChars?: number;
  actionText?: ActionTextOptions;
}

/**
 * Turns a run's events into replies in its Slack thread. `handle` never waits on Slack: it hands
 * lines to the channel's `PostQueue`, which coalesces them under the rate limit. The terminal
 * event becomes the run's last reply.
 */
export class SlackReporter {
  private readonly options: SlackReporterOptions;
  private readonly logger: Logger;
  private readonly threadKey: string;
  private readonly inFlight = new Set<Promise<PostResult>>();
  private readonly slowTimers = new Map<string, NodeJS.Timeout>();

  constructor(options: SlackReporterOptions) {
    if (options.queue.channel !== options.channel) {
      throw new Error(`SlackReporter: queue of channel ${options.queue.channel} given for channel ${options.channel}`);
    }
    this.options = options;
    this.threadKey = options.threadKey ?? `${options.channel}:${options.threadTs}`;
    this.logger = options.logger.child({ channel: options.channel, threadTs: options.threadTs, component: 'reporter' });
  }

  /** Takes one event and returns at once (usable as a `RunEventListener`; never throws). */
  readonly handle = (event: RunEvent): void => {
    try {
      this.dispatch(event);
    } catch (error) {
      this.logger.error({ err: error, event: event.type }, 'could not report a run event');
    }
  };

  /** Resolves when everything handed to `handle` so far has been posted (or finally given up, logged). */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private dispatch(event: RunEvent): void {
    const { redact } = this.options;
    switch (event.type) {
      case 'run-start':
        this.logger.debug({ repo: event.repo, branch: event.branch }, 'run started');
        return;
      case 'sandbox-ready':
        if (event.note) this.line(`:computer: ${escapeMrkdwn(`${event.repo}: ${redact(event.note)}`)}`);
        return;
      case 'action-start':
        this.watchSlowCommand(event.id, event.tool, event.summary);
        return;
      case 'action-end':
        this.clearSlow(event.id);
        this.line(actionText(redactDeep(event.action, redact), this.options.actionText));
        return;
      case 'model-text': {
        const max = this.options.narrationChars ?? 1500;
        if (max > 0 && event.text.trim() !== '') this.line(narrationText(redact(event.text), max));
        return;
      }
      case 'notice':
        this.line(`:information_source: ${escapeMrkdwn(redact(event.text))}`);
        return;
      case 'usage':
        // A new model turn: every tool call of the previous turn has finished.
        this.clearSlow();
        return;
      case 'run-end':
        this.clearSlow();
        // Queued after every earlier line of this thread, so it is the run's last reply.
        this.message(outcomeMessage(redactDeep(event.outcome, redact), { threadKey: this.threadKey }));
        return;
    }
  }

  private watchSlowCommand(id: string, tool: string, summary: string): void {
    const after = this.options.slowCommandMs ?? 5000;
    if (tool !== 'run_command' || after <= 0) return;
    this.clearSlow(id);
    const timer = setTimeout(() => {
      this.slowTimers.delete(id);
      this.line(stillRunningText(this.options.redact(summary), after));
    }, after);
    timer.unref();
    this.slowTimers.set(id, timer);
  }

  private clearSlow(id?: string): void {
    const ids = id === undefined ? [...this.slowTimers.keys()] : [id];
    for (const key of ids) {
      clearTimeout(this.slowTimers.get(key));
      this.slowTimers.delete(key);
    }
  }

  private line(text: string): void {
    const { client, threadTs, redact, queue } = this.options;
    this.track(queue.add({ client, threadTs, text: redact(text) }));
  }

  private message(message: SlackMessage): void {
    const { client, threadTs, redact, queue } = this.options;
    const blocks = message.blocks ? redactDeep(message.blocks, redact) : undefined;
    this.track(queue.post({ client, threadTs, text: redact(message.text), ...(blocks ? { blocks } : {}) }));
  }

  private track(promise: Promise<PostResult>): void {
    this.inFlight.add(promise);
    void promise.then(() => this.inFlight.delete(promise));
  }
}
