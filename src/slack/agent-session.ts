import type { WebClient } from '@slack/web-api';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Redactor } from '../lib/redact.js';

/**
 * An agent session's status (platform notes §6): `processing` shows Slack's native Stop, `suspended` waits on a
 * person (an approval, a budget), `active` is a usable thread, `closed` is over.
 */
export type AgentSessionStatus = 'processing' | 'active' | 'suspended' | 'closed';

/** `title` of `agents.sessions.setStatus` / `rename`: 1–200 characters. */
export const SESSION_TITLE_MAX = 200;

/** Slack's warning when the app does not subscribe `agent_session_stopped` (its Stop would reach nobody). */
export const MISSING_STOPPED_SUBSCRIPTION = 'missing_agent_session_stopped_event_subscription';

/** A session title from a task: one line, at most 200 characters, or undefined when nothing is left. */
export function sessionTitle(task: string): string | undefined {
  const flat = task.replace(/\s+/g, ' ').trim();
  if (flat === '') return undefined;
  return flat.length <= SESSION_TITLE_MAX ? flat : `${flat.slice(0, SESSION_TITLE_MAX - 1).trimEnd()}…`;
}

function platformError(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

function warnings(result: unknown): string[] {
  const r = result as { warning?: unknown; response_metadata?: { warnings?: unknown } } | undefined;
  const list = Array.isArray(r?.response_metadata?.warnings) ? r.response_metadata.warnings : [];
  return [...(typeof r?.warning === 'string' ? r.warning.split(',') : []), ...list].filter(
    (w): w is string => typeof w === 'string',
  );
}

export interface AgentSessionsOptions {
  client: WebClient;
  logger: Logger;
  /** Applied to titles (they come from what people wrote). */
  redact?: Redactor;
  /** Threads whose session state is remembered (the oldest is forgotten first). Default 1000. */
  maxThreads?: number;
}

/**
 * The agent sessions of the bot's threads; one per process (built by the composition root), so the warning about
 * the missing `agent_session_stopped` subscription is logged once, and a thread's later runs know its session
 * already exists.
 */
export class AgentSessions {
  readonly client: WebClient;
  readonly logger: Logger;
  readonly redact: Redactor | undefined;
  private readonly maxThreads: number;
  private readonly threads = new Map<string, AgentSession>();
  private warnedMissingSubscription = false;

  constructor(options: AgentSessionsOptions) {
    this.client = options.client;
    this.logger = options.logger.child({ component: 'agent-session' });
    this.redact = options.redact;
    this.maxThreads = options.maxThreads ?? 1000;
  }

  /** The session of one thread (the same object for the same thread while it is remembered). */
  forThread(channel: string, threadTs: string, options: { initiatorUserId?: string } = {}): AgentSession {
    const key = `${channel}:${threadTs}`;
    let session = this.threads.get(key);
    if (session) {
      this.threads.delete(key); // most recently used last
    } else {
      session = new AgentSession(this, channel, threadTs, options.initiatorUserId);
    }
    this.threads.set(key, session);
    while (this.threads.size > this.maxThreads) {
      const oldest = this.threads.keys().next().value;
      if (oldest === undefined) break;
      this.threads.delete(oldest);
    }
    return session;
  }

  /** @internal Logs Slack's warnings; the missing subscription once per process. */
  noteWarnings(result: unknown, context: Record<string, unknown>): void {
    for (const warning of warnings(result)) {
      if (warning === MISSING_STOPPED_SUBSCRIPTION) {
        if (this.warnedMissingSubscription) continue;
        this.warnedMissingSubscription = true;
        this.logger.warn(
          { ...context, warning },
          'Slack says the app does not subscribe agent_session_stopped: its native Stop button reaches nobody; add the event in the app settings (manifest.yml has it)',
        );
      } else {
        this.logger.warn({ ...context, warning }, 'Slack warned about an agent session call');
      }
    }
  }
}

/**
 * The agent session of one thread. A session is decoration: every call resolves true or false and never throws,
 * so a run never fails over it. Calls of one session go out in the order they were made.
 */
export class AgentSession {
  private created = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly sessions: AgentSessions,
    readonly channel: string,
    readonly threadTs: string,
    private readonly initiatorUserId: string | undefined,
  ) {}

  /**
   * Sets the status, creating the session on the first call; `title` (cut to 200 characters) is sent only then, as
   * Slack ignores it afterwards: use `rename` to change it.
   */
  setStatus(status: AgentSessionStatus, title?: string): Promise<boolean> {
    return this.enqueue(async () => {
      const creating = !this.created;
      const cut = creating && title !== undefined ? sessionTitle(this.clean(title)) : undefined;
      const result = await this.sessions.client.agents.sessions.setStatus({
        channel_id: this.channel,
        thread_ts: this.threadTs,
        status,
        ...(cut ? { title: cut } : {}),
        ...(creating && this.initiatorUserId ? { initiator_user_id: this.initiatorUserId } : {}),
      });
      this.created = true;
      this.sessions.noteWarnings(result, this.context({ status }));
      return true;
    }, 'set the agent session status');
  }

  /** Renames the session (after it was created). */
  rename(title: string): Promise<boolean> {
    return this.enqueue(async () => {
      const cut = sessionTitle(this.clean(title));
      if (!cut) return false;
      const result = await this.sessions.client.agents.sessions.rename({
        channel_id: this.channel,
        thread_ts: this.threadTs,
        title: cut,
      });
      this.sessions.noteWarnings(result, this.context());
      return true;
    }, 'rename the agent session');
  }

  private clean(title: string): string {
    return this.sessions.redact ? this.sessions.redact(title) : title;
  }

  private context(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { channel: this.channel, threadTs: this.threadTs, ...extra };
  }

  private enqueue(call: () => Promise<boolean>, what: string): Promise<boolean> {
    const run = this.chain.then(call).catch((error: unknown) => {
      this.sessions.logger.warn(
        { ...this.context(), err: error, error: platformError(error) ?? errorMessage(error) },
        `could not ${what}`,
      );
      return false;
    });
    this.chain = run;
    return run;
  }
}
