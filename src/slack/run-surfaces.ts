import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { RunEvent, RunOutcome } from '../agent/events.js';
import type { NetworkPolicy } from '../config/network.js';
import type { Logger } from '../lib/logger.js';
import type { Redactor } from '../lib/redact.js';
import type { RunReporter } from '../runs/ports.js';
import { threadKeyOf } from '../runs/thread-key.js';
import type { AgentSessionStatus, AgentSessions } from './agent-session.js';
import { inlineCode } from './blocks.js';
import { type CardTimers, CardUpdater } from './card-updater.js';
import { describeNetwork } from './network-text.js';
import type { PostQueue } from './post-queue.js';
import { type CardState, initialCardState, nextCardState } from './status-card.js';

export interface RunSurfacesOptions {
  client: WebClient;
  logger: Logger;
  redact: Redactor;
  sessions: AgentSessions;
  /** The channel's shared posting budget: a card posted on its own keeps its place among the thread's replies. */
  queueFor: (channel: string) => PostQueue;
  network: NetworkPolicy;
  /** Least time between two edits of a card. Default 2000 ms. */
  cardIntervalMs?: number;
  timers?: CardTimers;
}

/** Where the session of a thread stands once a run ended. */
function sessionStatusAfter(outcome: RunOutcome): AgentSessionStatus {
  return outcome.kind === 'budget-reached' || outcome.kind === 'awaiting-approval' ? 'suspended' : 'active';
}

/**
 * The Slack surfaces of a run beside its thread replies: the live status card (the run's first reply, edited in
 * place) and the thread's agent session (processing while a run goes, suspended at a budget or an approval, active
 * when the thread can take a follow-up). One per process; `reporterFor` gives each run its own card.
 */
export class RunSurfaces {
  private readonly firstReplies = new Map<string, string>();

  constructor(readonly options: RunSurfacesOptions) {}

  /** The run's first reply (posted by the intake's announcement) becomes its card. */
  noteFirstReply(channel: string, threadTs: string, ts: string | undefined): void {
    if (ts) this.firstReplies.set(threadKeyOf(channel, threadTs), ts);
  }

  /** @internal The first reply waiting to become a card, once. */
  takeFirstReply(channel: string, threadTs: string): string | undefined {
    const key = threadKeyOf(channel, threadTs);
    const ts = this.firstReplies.get(key);
    this.firstReplies.delete(key);
    return ts;
  }

  reporterFor(channel: string, threadTs: string): RunReporter {
    return new SurfaceReporter(this, channel, threadTs);
  }
}

/** One run's card and session; every event is handled at once, nothing here waits on Slack. */
class SurfaceReporter implements RunReporter {
  private card: CardUpdater | undefined;
  private state: CardState | undefined;
  private finishing: Promise<unknown> | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly surfaces: RunSurfaces,
    private readonly channel: string,
    private readonly threadTs: string,
  ) {
    this.logger = surfaces.options.logger.child({ channel, threadTs, component: 'run-surfaces' });
  }

  private now(): number {
    return this.surfaces.options.timers?.now() ?? Date.now();
  }

  readonly handle = (event: RunEvent): void => {
    try {
      if (event.type === 'run-start') {
        this.begin(event);
        return;
      }
      if (!this.state || !this.card) return;
      let state = nextCardState(this.state, event, this.now());
      if (event.type === 'run-settings' && event.guidanceFound !== undefined) {
        state = { ...state, notes: [...(state.notes ?? []), event.guidanceFound ? 'AGENTS.md found' : 'no AGENTS.md'] };
      }
      this.state = state;
      if (event.type === 'run-end') {
        const session = this.session().setStatus(sessionStatusAfter(event.outcome));
        this.finishing = Promise.all([this.card.finish(state), session]);
        return;
      }
      this.card.update(state);
    } catch (error) {
      this.logger.error({ err: error, event: event.type }, 'could not show a run event on the card');
    }
  };

  async flush(): Promise<void> {
    await this.finishing;
  }

  private session() {
    return this.surfaces.options.sessions.forThread(this.channel, this.threadTs);
  }

  private begin(event: Extract<RunEvent, { type: 'run-start' }>): void {
    const { client, redact, queueFor, network, cardIntervalMs, timers } = this.surfaces.options;
    const title = event.task ?? event.repo;
    const initial = initialCardState({
      threadKey: threadKeyOf(this.channel, this.threadTs),
      title,
      repo: event.repo,
      branch: event.branch,
      startedAt: this.now(),
    });
    this.state = nextCardState(
      { ...initial, notes: [`from ${inlineCode(event.baseBranch, 80)}`, describeNetwork(network)] },
      event,
      this.now(),
    );
    const queue = queueFor(this.channel);
    this.card = new CardUpdater({
      client,
      channel: this.channel,
      threadTs: this.threadTs,
      logger: this.logger,
      redact,
      ...(cardIntervalMs !== undefined ? { minIntervalMs: cardIntervalMs } : {}),
      ...(timers ? { timers } : {}),
      post: (message) =>
        queue.post({
          client,
          threadTs: this.threadTs,
          text: message.text,
          ...(message.blocks ? { blocks: message.blocks as KnownBlock[] } : {}),
        }),
    });
    const first = this.surfaces.takeFirstReply(this.channel, this.threadTs);
    if (first) this.card.attach(first, this.state);
    else void this.card.start(this.state);
    void this.session().setStatus('processing', title);
  }
}
