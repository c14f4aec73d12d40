// Agent sessions (`agents.sessions.setStatus` / `agents.sessions.rename`), platform-notes §6.
// @slack/web-api 8.2 documents: status `active | processing | suspended | closed`; `title` ≤ 200 characters
// and `initiator_user_id` "only used when creating a new session; ignored if the session already exists"
// (so a later title is ignored, not an error: the fake ignores it and records that it came);
// rename takes a title of 1–200 characters.
// Unverified: the error names for a bad argument (`invalid_arguments`, Slack's schema error) and for renaming a
// session that does not exist (`session_not_found`).

export const AGENT_SESSION_STATUSES = ['processing', 'active', 'suspended', 'closed'] as const;
export type AgentSessionStatus = (typeof AGENT_SESSION_STATUSES)[number];

export const SESSION_TITLE_MAX = 200;
export const MISSING_STOPPED_SUBSCRIPTION_WARNING = 'missing_agent_session_stopped_event_subscription';

export interface AgentSessionStatusChange {
  status: AgentSessionStatus;
  at: number;
  /** `agents.sessions.setStatus`, or `chat.stopStream` (its `session_status`). */
  via: 'agents.sessions.setStatus' | 'chat.stopStream';
}

export interface AgentSession {
  channel: string;
  threadTs: string;
  /** Current title (creation title, then renames). */
  title: string | undefined;
  initiatorUserId: string | undefined;
  createdAt: number;
  /** Every status set, oldest first (the first one created the session). */
  statuses: AgentSessionStatusChange[];
  /** Titles in order: the creation title (if any), then each rename. */
  titles: Array<{ title: string; at: number; via: 'create' | 'rename' }>;
  /** `title` / `initiator_user_id` sent on a later `setStatus`, which Slack ignores. */
  ignored: Array<{ at: number; title?: string; initiator_user_id?: string }>;
  /** Stop presses sent with `fake.stopAgentSession` (the `agent_session_stopped` events). */
  stops: Array<{ at: number; user: string; streamingMessageTs: string[] }>;
}

type Args = Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const key = (channel: string, threadTs: string): string => `${channel}:${threadTs}`;

/** Slack's answer to arguments that fail its schema. */
export function invalidArguments(...messages: string[]): Args {
  return {
    ok: false,
    error: 'invalid_arguments',
    response_metadata: { messages: messages.map((m) => `[ERROR] ${m}`) },
  };
}

export function isSessionStatus(value: unknown): value is AgentSessionStatus {
  return typeof value === 'string' && (AGENT_SESSION_STATUSES as readonly string[]).includes(value);
}

export class AgentSessions {
  private readonly sessions = new Map<string, AgentSession>();

  get(channel: string, threadTs: string): AgentSession | undefined {
    return this.sessions.get(key(channel, threadTs));
  }

  all(): AgentSession[] {
    return [...this.sessions.values()];
  }

  clear(): void {
    this.sessions.clear();
  }

  setStatus(args: Args, warnMissingSubscription: boolean): Args {
    const channel = str(args.channel_id);
    const threadTs = str(args.thread_ts);
    const status = args.status;
    const problems: string[] = [];
    if (!channel) problems.push('missing required field: channel_id');
    // Only thread sessions are modelled (session channels omit thread_ts).
    if (!threadTs) problems.push('missing required field: thread_ts');
    if (!isSessionStatus(status)) {
      problems.push(`status must be one of ${AGENT_SESSION_STATUSES.join(', ')} [json-pointer:/status]`);
    }
    const existing = channel && threadTs ? this.get(channel, threadTs) : undefined;
    const title = args.title;
    if (!existing && title !== undefined && !validTitle(title)) {
      problems.push(`title must be 1-${SESSION_TITLE_MAX} characters [json-pointer:/title]`);
    }
    if (problems.length > 0 || !channel || !threadTs || !isSessionStatus(status)) return invalidArguments(...problems);

    const now = Date.now();
    let session = existing;
    if (!session) {
      session = {
        channel,
        threadTs,
        title: str(title),
        initiatorUserId: str(args.initiator_user_id),
        createdAt: now,
        statuses: [],
        titles: typeof title === 'string' ? [{ title, at: now, via: 'create' }] : [],
        ignored: [],
        stops: [],
      };
      this.sessions.set(key(channel, threadTs), session);
    } else if (args.title !== undefined || args.initiator_user_id !== undefined) {
      const ignored: AgentSession['ignored'][number] = { at: now };
      if (typeof args.title === 'string') ignored.title = args.title;
      if (typeof args.initiator_user_id === 'string') ignored.initiator_user_id = args.initiator_user_id;
      session.ignored.push(ignored);
    }
    session.statuses.push({ status, at: now, via: 'agents.sessions.setStatus' });
    if (!warnMissingSubscription) return { ok: true };
    return {
      ok: true,
      warning: MISSING_STOPPED_SUBSCRIPTION_WARNING,
      response_metadata: { warnings: [MISSING_STOPPED_SUBSCRIPTION_WARNING] },
    };
  }

  rename(args: Args): Args {
    const channel = str(args.channel_id);
    const threadTs = str(args.thread_ts);
    const problems: string[] = [];
    if (!channel) problems.push('missing required field: channel_id');
    if (!threadTs) problems.push('missing required field: thread_ts');
    if (!validTitle(args.title)) problems.push(`title must be 1-${SESSION_TITLE_MAX} characters [json-pointer:/title]`);
    if (problems.length > 0 || !channel || !threadTs || typeof args.title !== 'string') {
      return invalidArguments(...problems);
    }
    const session = this.get(channel, threadTs);
    if (!session) return { ok: false, error: 'session_not_found' };
    session.title = args.title;
    session.titles.push({ title: args.title, at: Date.now(), via: 'rename' });
    return { ok: true };
  }

  /** `chat.stopStream {session_status}`: applied to the thread's session when there is one. */
  applyStreamStatus(channel: string, threadTs: string, status: AgentSessionStatus): void {
    this.get(channel, threadTs)?.statuses.push({ status, at: Date.now(), via: 'chat.stopStream' });
  }
}

function validTitle(title: unknown): title is string {
  return typeof title === 'string' && title.length >= 1 && title.length <= SESSION_TITLE_MAX;
}
