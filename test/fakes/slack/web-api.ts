// The fake Web API's state and method answers (no HTTP here; see ../slack-server.ts).
import { AgentSessions, invalidArguments, isSessionStatus } from './agent-sessions.js';
import { validateBlocks } from './block-kit.js';
import { Waiters } from './wait.js';
import { DEFAULT_IDS, nextTs } from './wire.js';

/** The bot scopes of manifest.yml: what `x-oauth-scopes` lists unless `scopes` is given. */
export const MANIFEST_BOT_SCOPES = [
  'app_mentions:read',
  'channels:history',
  'groups:history',
  'chat:write',
  'assistant:write',
  'commands',
  'users:read',
  'channels:read',
  'groups:read',
] as const;

/** The scope `users.conversations` needs for each conversation type it is asked to list. */
const TYPE_SCOPES: Record<string, string> = {
  public_channel: 'channels:read',
  private_channel: 'groups:read',
  mpim: 'mpim:read',
  im: 'im:read',
};

/** A channel's members, for `users.conversations` (the fake knows no other membership). */
export interface FakeChannel {
  /** Private: listed only to a bot that is a member too, as Slack does for a bot token. */
  isPrivate: boolean;
  members: Set<string>;
  archived: boolean;
}

/** Methods whose `blocks` are checked against Block Kit's rules (answer `invalid_blocks`). */
const MESSAGE_BLOCK_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.stopStream']);

export interface FakeUser {
  name?: string;
  real_name?: string;
  /** Default: the fake's team (`T000TEST`); another team for a Slack Connect user. */
  team_id?: string;
  is_bot?: boolean;
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  /** Guest (multi-channel); `is_ultra_restricted` for a single-channel guest. */
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  deleted?: boolean;
}

export interface RateWindow {
  /** Accepted calls per window. */
  limit: number;
  /** Window length (default 60 000 ms: Slack's tiers are per minute). */
  windowMs?: number;
  /** `Retry-After` (default: seconds until the oldest call in the window leaves it, at least 1). */
  retryAfterSeconds?: number;
}

export interface FakeSlackOptions {
  /** Accepted bot token (default `xoxb-test-bot-token`). */
  botToken?: string;
  /** Accepted app-level token for `apps.connections.open` (default `xapp-test-app-token`). */
  appToken?: string;
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  appId?: string;
  /** Answer `chat.postMessage` with 429 when a channel got this many accepted posts in the last 1000 ms. */
  postMessagePerSecondPerChannel?: number;
  /** `Retry-After` for the per-channel limit (default 1). */
  postMessageRetryAfterSeconds?: number;
  /** After this many POSTs to one response_url answer 404 `used_url` (default: unlimited). */
  responseUrlMaxUses?: number;
  /**
   * Tier-3 limit on `chat.update`, counted per workspace (Slack's tiers are per method per workspace per app,
   * ~50/min); off by default. Over it: 429 with `Retry-After`.
   */
  chatUpdateLimit?: RateWindow;
  /** `users.info` answers; unknown ids get `name: <id lowercased>` and every flag false. */
  users?: Record<string, FakeUser>;
  /** Bot scopes listed in the `x-oauth-scopes` response header (default: manifest.yml's). */
  scopes?: readonly string[];
  /**
   * False: the app does not subscribe `agent_session_stopped`, so `agents.sessions.setStatus` answers
   * `ok: true` with `warning: 'missing_agent_session_stopped_event_subscription'` (default true).
   */
  agentSessionStoppedSubscription?: boolean;
  /**
   * Echo the bot's own posts back as `message` events (and its edits / deletes as `message_changed` /
   * `message_deleted`), as real Slack does with `message.channels`. Needs `fake.setEventTarget(…)`.
   */
  echoBotMessages?: boolean;
  /** How long `socket.sendEnvelope` waits for the ack (default 5000 ms). */
  ackTimeoutMs?: number;
  /** Server ping interval on Socket Mode links (default 10 000 ms; socket-mode drops a link after 30 s without one). */
  socketPingIntervalMs?: number;
}

export type Args = Record<string, unknown>;

export interface RecordedCall {
  method: string;
  /** Parsed arguments (form or JSON; JSON-string fields such as `blocks` parsed), without `token`. */
  args: Args;
  /** ms timestamp when the request arrived. */
  at: number;
  /** Bearer token (or body `token`). */
  token: string | undefined;
  /** HTTP status answered: 200, or 429 when rate limited. */
  status: number;
  /** The JSON answer (`undefined` for a 429). */
  response: Args | undefined;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  /** Bot user id for messages the bot posted; the given user for `addMessage` (none for a `bot_message`). */
  user: string;
  bot_id?: string;
  /** App of a bot post (ours unless set, e.g. by `postAsOtherApp`). */
  app_id?: string;
  subtype?: string;
  /** Number of `chat.update` / `chat.appendStream` / `chat.stopStream` applied. */
  updates: number;
  /** True between `chat.startStream` and `chat.stopStream`. */
  streaming?: boolean;
}

/** A bot post, edit or delete, handed to `onBotMessage` (the echo). */
export interface BotMessageChange {
  kind: 'posted' | 'changed' | 'deleted';
  /** The Web API method. */
  via: string;
  /** The message after the change (before it, for a delete). */
  message: StoredMessage;
  /** The message's wire shape before an edit or delete. */
  previous?: Args;
}

/** One version of a message, as `fake.messageHistory(channel, ts)` lists them. */
export interface MessageVersion {
  /** What made this version: `chat.postMessage`, `chat.update`, `chat.startStream`, `chat.appendStream`,
   *  `chat.stopStream`, `chat.delete`, `addMessage` or `postAsOtherApp`. */
  via: string;
  at: number;
  text: string;
  blocks?: unknown[];
  /** True for the `chat.delete` entry. */
  deleted?: boolean;
}

/** A `views.publish` the fake accepted. */
export interface PublishedView {
  user_id: string;
  at: number;
  view: Args;
  /** The `hash` the fake answered with (send it back to guard the next publish). */
  hash: string;
}

export interface RecordedResponse {
  /** The id from `fake.responseUrl(id)`. */
  id: string;
  at: number;
  text?: string;
  blocks?: unknown[];
  response_type?: string;
  replace_original?: boolean;
  delete_original?: boolean;
  /** The whole parsed JSON body. */
  body: Args;
}

export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: Args;
}

export type MethodHandler = (args: Args, call: RecordedCall) => Args | Promise<Args>;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
const arr = (value: unknown): unknown[] | undefined => (Array.isArray(value) ? value : undefined);
const key = (channel: string, ts: string): string => `${channel}:${ts}`;
const byTs = (a: StoredMessage, b: StoredMessage): number => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);
const isObj = (value: unknown): value is Args => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Slack's `invalid_blocks` answer: `errors` and `response_metadata.messages` name each problem. */
function invalidBlocks(errors: string[]): Args {
  return {
    ok: false,
    error: 'invalid_blocks',
    errors,
    response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
  };
}

/** Text from `chunks` (`[{type: 'markdown_text', text}]`) or `markdown_text`. */
function streamText(args: Args): string {
  const chunks = arr(args.chunks) ?? [];
  const fromChunks = chunks
    .map((c) => (c && typeof c === 'object' && 'text' in c && typeof c.text === 'string' ? c.text : ''))
    .join('');
  return (str(args.markdown_text) ?? '') + fromChunks;
}

export class FakeWebApi {
  readonly ids: Required<
    Pick<
      FakeSlackOptions,
      'teamId' | 'teamName' | 'teamDomain' | 'botUserId' | 'botId' | 'botName' | 'appId' | 'botToken' | 'appToken'
    >
  >;
  readonly calls: RecordedCall[] = [];
  readonly responses: RecordedResponse[] = [];
  /** Number of 429 answers sent. */
  rateLimited = 0;
  postMessagePerSecondPerChannel: number | undefined;
  chatUpdateLimit: RateWindow | undefined;
  scopes: readonly string[];
  agentSessionStoppedSubscription: boolean;
  readonly waiters = new Waiters();
  readonly sessions = new AgentSessions();
  /** Called after the bot posts, edits or deletes a message (the fake's echo hooks in here). */
  onBotMessage: ((change: BotMessageChange) => void) | undefined;

  private readonly store = new Map<string, StoredMessage>();
  private readonly reactionStore = new Map<string, Set<string>>();
  private readonly statuses = new Map<string, string>();
  private readonly forcedLimits = new Map<string, { times: number; retryAfterSeconds: number }>();
  private readonly failures = new Map<string, string[]>();
  private readonly handlers = new Map<string, MethodHandler>();
  private readonly postTimes = new Map<string, number[]>();
  private updateTimes: number[] = [];
  private readonly responseUses = new Map<string, number>();
  private readonly history = new Map<string, MessageVersion[]>();
  private readonly views = new Map<string, PublishedView[]>();
  private readonly users = new Map<string, FakeUser>();
  /** Channel membership; the default channel starts with the default user and the bot in it. */
  private readonly channels = new Map<string, FakeChannel>();
  /** Cursors `users.conversations` handed out, and where each goes on. */
  private readonly cursors = new Map<string, { query: string; offset: number }>();

  constructor(
    private readonly options: FakeSlackOptions,
    private readonly socketUrl: () => string,
  ) {
    this.ids = {
      teamId: options.teamId ?? DEFAULT_IDS.teamId,
      teamName: options.teamName ?? DEFAULT_IDS.teamName,
      teamDomain: options.teamDomain ?? DEFAULT_IDS.teamDomain,
      botUserId: options.botUserId ?? DEFAULT_IDS.botUserId,
      botId: options.botId ?? DEFAULT_IDS.botId,
      botName: options.botName ?? DEFAULT_IDS.botName,
      appId: options.appId ?? DEFAULT_IDS.appId,
      botToken: options.botToken ?? 'xoxb-test-bot-token',
      appToken: options.appToken ?? 'xapp-test-app-token',
    };
    this.postMessagePerSecondPerChannel = options.postMessagePerSecondPerChannel;
    this.chatUpdateLimit = options.chatUpdateLimit;
    this.scopes = options.scopes ?? MANIFEST_BOT_SCOPES;
    this.agentSessionStoppedSubscription = options.agentSessionStoppedSubscription ?? true;
    for (const [id, user] of Object.entries(options.users ?? {})) this.users.set(id, user);
    this.channels.set(DEFAULT_IDS.channelId, {
      isPrivate: false,
      members: new Set([DEFAULT_IDS.userId, this.ids.botUserId]),
      archived: false,
    });
  }

  // ---- test controls ----

  rateLimit(method: string, times: number, retryAfterSeconds: number): void {
    this.forcedLimits.set(method, { times, retryAfterSeconds });
  }

  failNext(method: string, error: string): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
  }

  setHandler(method: string, handler: MethodHandler | undefined): void {
    if (handler) this.handlers.set(method, handler);
    else this.handlers.delete(method);
  }

  addMessage(message: Partial<StoredMessage> & { channel: string; text: string }, via = 'addMessage'): StoredMessage {
    const stored: StoredMessage = { ts: nextTs(), user: DEFAULT_IDS.userId, updates: 0, ...message };
    this.store.set(key(stored.channel, stored.ts), stored);
    this.recordVersion(stored, via);
    this.waiters.notify();
    return stored;
  }

  setUser(id: string, user: FakeUser | undefined): void {
    if (user) this.users.set(id, user);
    else this.users.delete(id);
  }

  /** Sets a channel's members (the bot's user id among them when the bot is in it); `undefined` forgets it. */
  setChannel(id: string, channel: { members: readonly string[]; isPrivate?: boolean; archived?: boolean } | undefined) {
    if (!channel) {
      this.channels.delete(id);
      return;
    }
    this.channels.set(id, {
      isPrivate: channel.isPrivate ?? id.startsWith('G'),
      members: new Set(channel.members),
      archived: channel.archived ?? false,
    });
  }

  messageHistory(channel: string, ts: string): MessageVersion[] {
    return [...(this.history.get(key(channel, ts)) ?? [])];
  }

  homeViews(userId: string): PublishedView[] {
    return [...(this.views.get(userId) ?? [])];
  }

  /** Marks the listed streams stopped, as Slack does when the user presses Stop on an agent session. */
  stopStreams(channel: string, tsList: readonly string[]): void {
    for (const ts of tsList) {
      const m = this.store.get(key(channel, ts));
      if (m?.streaming) m.streaming = false;
    }
  }

  /** The `message` event shape of a stored message (as `conversations.replies` returns it). */
  wireMessage(m: StoredMessage): Args {
    return this.wire(m);
  }

  get messages(): StoredMessage[] {
    return [...this.store.values()].sort(byTs);
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.store.get(key(channel, ts));
  }

  threadMessages(channel: string, threadTs: string, botOnly = true): StoredMessage[] {
    return this.messages.filter(
      (m) =>
        m.channel === channel &&
        (m.ts === threadTs || m.thread_ts === threadTs) &&
        (!botOnly || m.user === this.ids.botUserId),
    );
  }

  reactions(channel: string, ts: string): string[] {
    return [...(this.reactionStore.get(key(channel, ts)) ?? [])];
  }

  threadStatus(channel: string, threadTs: string): string | undefined {
    return this.statuses.get(key(channel, threadTs));
  }

  reset(): void {
    this.calls.length = 0;
    this.responses.length = 0;
    this.rateLimited = 0;
    for (const map of [this.store, this.reactionStore, this.statuses, this.forcedLimits, this.failures]) map.clear();
    this.postTimes.clear();
    this.updateTimes = [];
    this.responseUses.clear();
    this.history.clear();
    this.views.clear();
    this.sessions.clear();
  }

  // ---- response_url ----

  handleResponseUrl(id: string, body: Args): { status: number; text: string } {
    const uses = (this.responseUses.get(id) ?? 0) + 1;
    this.responseUses.set(id, uses);
    const max = this.options.responseUrlMaxUses;
    if (max !== undefined && uses > max) return { status: 404, text: 'used_url' };
    const recorded: RecordedResponse = { id, at: Date.now(), body };
    if (typeof body.text === 'string') recorded.text = body.text;
    if (Array.isArray(body.blocks)) recorded.blocks = body.blocks;
    if (typeof body.response_type === 'string') recorded.response_type = body.response_type;
    if (typeof body.replace_original === 'boolean') recorded.replace_original = body.replace_original;
    if (typeof body.delete_original === 'boolean') recorded.delete_original = body.delete_original;
    this.responses.push(recorded);
    this.waiters.notify();
    return { status: 200, text: 'ok' };
  }

  // ---- Web API ----

  async handle(method: string, args: Args, token: string | undefined): Promise<ApiAnswer> {
    const call: RecordedCall = { method, args, at: Date.now(), token, status: 200, response: undefined };
    this.calls.push(call);
    try {
      const answer = await this.answer(method, args, token, call);
      call.status = answer.status;
      call.response = answer.status === 200 ? answer.body : undefined;
      if (answer.status === 429) this.rateLimited += 1;
      return answer;
    } finally {
      this.waiters.notify();
    }
  }

  private async answer(method: string, args: Args, token: string | undefined, call: RecordedCall): Promise<ApiAnswer> {
    const appLevel = method === 'apps.connections.open';
    // Slack lists a bot token's scopes on every answer to it (auth.test is where apps look).
    const headers: Record<string, string> = appLevel ? {} : { 'x-oauth-scopes': this.scopes.join(',') };
    const ok = (body: Args): ApiAnswer => ({ status: 200, headers, body });
    const expected = appLevel ? this.ids.appToken : this.ids.botToken;
    if (!token) return { status: 200, headers: {}, body: { ok: false, error: 'not_authed' } };
    if (token !== expected) return { status: 200, headers: {}, body: { ok: false, error: 'invalid_auth' } };

    const forced = this.forcedLimits.get(method);
    if (forced && forced.times > 0) {
      forced.times -= 1;
      return this.tooMany(forced.retryAfterSeconds);
    }
    if (method === 'chat.postMessage' && this.postMessagePerSecondPerChannel !== undefined) {
      const channel = str(args.channel) ?? '';
      const now = Date.now();
      const recent = (this.postTimes.get(channel) ?? []).filter((t) => now - t < 1000);
      if (recent.length >= this.postMessagePerSecondPerChannel) {
        this.postTimes.set(channel, recent);
        return this.tooMany(this.options.postMessageRetryAfterSeconds ?? 1);
      }
      recent.push(now);
      this.postTimes.set(channel, recent);
    }
    if (method === 'chat.update' && this.chatUpdateLimit !== undefined) {
      const { limit, windowMs = 60_000, retryAfterSeconds } = this.chatUpdateLimit;
      const now = Date.now();
      this.updateTimes = this.updateTimes.filter((t) => now - t < windowMs);
      if (this.updateTimes.length >= limit) {
        const oldest = this.updateTimes[0] ?? now;
        return this.tooMany(retryAfterSeconds ?? Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)));
      }
      this.updateTimes.push(now);
    }
    const failure = this.failures.get(method)?.shift();
    if (failure !== undefined) return ok({ ok: false, error: failure });

    const rejected = this.checkBlocks(method, args);
    if (rejected) return ok(rejected);

    const custom = this.handlers.get(method);
    if (custom) return ok(await custom(args, call));
    const builtin = this.builtins[method];
    if (builtin) return ok(builtin(args));
    return ok({ ok: false, error: 'unknown_method' });
  }

  /** Slack's Block Kit checks, before any handler: a custom handler never sees blocks Slack would refuse. */
  private checkBlocks(method: string, args: Args): Args | undefined {
    if (MESSAGE_BLOCK_METHODS.has(method) && args.blocks !== undefined) {
      // A `blocks` field that is not a JSON array (or did not parse) is a format error, not a rule error.
      if (!Array.isArray(args.blocks)) return { ok: false, error: 'invalid_blocks_format' };
      const errors = validateBlocks(args.blocks, 'message');
      if (errors.length > 0) return invalidBlocks(errors);
    }
    return undefined;
  }

  private tooMany(retryAfterSeconds: number): ApiAnswer {
    return {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
      body: { ok: false, error: 'ratelimited' },
    };
  }

  private wire(m: StoredMessage): Args {
    const out: Args = { type: 'message', text: m.text, ts: m.ts, team: this.ids.teamId };
    if (m.subtype !== undefined) out.subtype = m.subtype;
    if (m.user !== '') out.user = m.user;
    if (m.bot_id) {
      out.bot_id = m.bot_id;
      out.app_id = m.app_id ?? this.ids.appId;
    }
    if (m.thread_ts !== undefined) out.thread_ts = m.thread_ts;
    if (m.blocks !== undefined) out.blocks = m.blocks;
    return out;
  }

  private post(channel: string, text: string, blocks: unknown[] | undefined, threadTs: string | undefined) {
    const m: StoredMessage = {
      channel,
      ts: nextTs(),
      text,
      user: this.ids.botUserId,
      bot_id: this.ids.botId,
      updates: 0,
    };
    if (threadTs !== undefined && threadTs !== '') {
      m.thread_ts = threadTs;
      this.statuses.delete(key(channel, threadTs));
    }
    if (blocks !== undefined) m.blocks = blocks;
    this.store.set(key(channel, m.ts), m);
    return m;
  }

  private recordVersion(m: StoredMessage, via: string, deleted = false): void {
    const k = key(m.channel, m.ts);
    const versions = this.history.get(k) ?? [];
    const version: MessageVersion = { via, at: Date.now(), text: m.text };
    if (m.blocks !== undefined) version.blocks = structuredClone(m.blocks);
    if (deleted) version.deleted = true;
    versions.push(version);
    this.history.set(k, versions);
  }

  private botChanged(change: BotMessageChange): void {
    this.recordVersion(change.message, change.via, change.kind === 'deleted');
    this.onBotMessage?.(change);
  }

  /** `views.publish`: Slack reports a bad view, blocks included, as `invalid_arguments` (see README). */
  private publishView(args: Args): Args {
    const userId = str(args.user_id);
    if (!userId) return invalidArguments('invalid `user_id`');
    const view = args.view;
    if (!isObj(view)) return invalidArguments('`view` must be a JSON-encoded view object [json-pointer:/view]');
    const problems: string[] = [];
    for (const field of Object.keys(view)) {
      if (!['type', 'blocks', 'private_metadata', 'callback_id', 'external_id'].includes(field)) {
        problems.push(`unknown field \`${field}\` [json-pointer:/view/${field}]`);
      }
    }
    if (view.type !== 'home') problems.push('`type` must be `home` [json-pointer:/view/type]');
    if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) {
      problems.push('must be less than 3001 characters [json-pointer:/view/private_metadata]');
    }
    if (typeof view.callback_id === 'string' && view.callback_id.length > 255) {
      problems.push('must be less than 256 characters [json-pointer:/view/callback_id]');
    }
    if (view.blocks === undefined) problems.push('missing required field: blocks [json-pointer:/view/blocks]');
    else problems.push(...validateBlocks(view.blocks, 'home', '/view/blocks'));
    if (problems.length > 0) return invalidArguments(...problems);
    const published = this.views.get(userId) ?? [];
    const current = published.at(-1);
    const hash = str(args.hash);
    if (hash !== undefined && current !== undefined && hash !== current.hash)
      return { ok: false, error: 'hash_conflict' };
    const record: PublishedView = { user_id: userId, at: Date.now(), view, hash: nextTs() };
    published.push(record);
    this.views.set(userId, published);
    return {
      ok: true,
      view: {
        id: `V${userId.slice(1)}HOME`,
        team_id: this.ids.teamId,
        type: 'home',
        blocks: view.blocks,
        private_metadata: view.private_metadata ?? '',
        callback_id: view.callback_id ?? '',
        external_id: view.external_id ?? '',
        state: { values: {} },
        hash: record.hash,
        app_id: this.ids.appId,
        bot_id: this.ids.botId,
      },
    };
  }

  /**
   * `users.conversations {user?, types?, exclude_archived?, limit?, cursor?}` with the bot token: the channels
   * `user` is in (default: the bot), private ones only where the bot is a member too. Refuses as Slack does: a
   * type without its read scope (`missing_scope` with `needed`/`provided`), an unknown type (`invalid_types`),
   * a limit outside 1–999 (`invalid_limit`), a cursor it did not hand out for this query (`invalid_cursor`).
   */
  private userConversations(args: Args): Args {
    const types = (str(args.types) ?? 'public_channel').split(',').map((t) => t.trim());
    if (types.some((t) => !(t in TYPE_SCOPES))) return { ok: false, error: 'invalid_types' };
    const needed = types.map((t) => TYPE_SCOPES[t] ?? '').filter((scope) => !this.scopes.includes(scope));
    if (needed.length > 0) {
      return { ok: false, error: 'missing_scope', needed: needed.join(','), provided: this.scopes.join(',') };
    }
    const rawLimit = args.limit === undefined ? '100' : String(args.limit);
    const limit = Number(rawLimit);
    if (!/^\d+$/.test(rawLimit) || limit < 1 || limit > 999) return { ok: false, error: 'invalid_limit' };
    const user = str(args.user) ?? this.ids.botUserId;
    if (!/^[UW][A-Z0-9]+$/.test(user)) return { ok: false, error: 'user_not_found' };
    const excludeArchived = String(args.exclude_archived) === 'true' || String(args.exclude_archived) === '1';
    const query = JSON.stringify([user, [...types].sort(), excludeArchived]);
    let offset = 0;
    const cursor = str(args.cursor);
    if (cursor) {
      const known = this.cursors.get(cursor);
      if (!known || known.query !== query) return { ok: false, error: 'invalid_cursor' };
      offset = known.offset;
    }
    const visible = [...this.channels.entries()].filter(([, c]) => {
      if (!c.members.has(user)) return false;
      if (excludeArchived && c.archived) return false;
      if (!types.includes(c.isPrivate ? 'private_channel' : 'public_channel')) return false;
      // A bot token sees the private channels it shares with the user, not the others.
      return !c.isPrivate || c.members.has(this.ids.botUserId);
    });
    const page = visible.slice(offset, offset + limit);
    let next = '';
    if (offset + limit < visible.length) {
      next = Buffer.from(`next:${this.cursors.size + 1}`).toString('base64');
      this.cursors.set(next, { query, offset: offset + limit });
    }
    return {
      ok: true,
      channels: page.map(([id, c]) => ({
        id,
        name: id.toLowerCase(),
        is_channel: !c.isPrivate,
        is_group: c.isPrivate,
        is_private: c.isPrivate,
        is_archived: c.archived,
        is_member: c.members.has(this.ids.botUserId),
      })),
      response_metadata: { next_cursor: next },
    };
  }

  private readonly builtins: Record<string, (args: Args) => Args> = {
    'auth.test': () => ({
      ok: true,
      url: `https://${this.ids.teamDomain}.slack.com/`,
      team: this.ids.teamName,
      user: this.ids.botName,
      team_id: this.ids.teamId,
      user_id: this.ids.botUserId,
      bot_id: this.ids.botId,
      is_enterprise_install: false,
    }),
    'apps.connections.open': () => ({ ok: true, url: this.socketUrl() }),
    'chat.postMessage': (args) => {
      const channel = str(args.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const text = str(args.text) ?? str(args.markdown_text);
      const blocks = arr(args.blocks);
      if (!text && !blocks?.length && !arr(args.attachments)?.length) return { ok: false, error: 'no_text' };
      const m = this.post(channel, text ?? '', blocks, str(args.thread_ts));
      this.botChanged({ kind: 'posted', via: 'chat.postMessage', message: m });
      return { ok: true, channel, ts: m.ts, message: this.wire(m) };
    },
    'chat.update': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      if (m.user !== this.ids.botUserId) return { ok: false, error: 'cant_update_message' };
      const text = str(args.text) ?? str(args.markdown_text);
      if (text === undefined && args.blocks === undefined && args.attachments === undefined) {
        return { ok: false, error: 'no_text' };
      }
      const previous = this.wire(m);
      if (text !== undefined) m.text = text;
      if (args.blocks !== undefined) m.blocks = arr(args.blocks) ?? [];
      m.updates += 1;
      this.botChanged({ kind: 'changed', via: 'chat.update', message: m, previous });
      return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: this.wire(m) };
    },
    'chat.delete': (args) => {
      const k = key(str(args.channel) ?? '', str(args.ts) ?? '');
      const m = this.store.get(k);
      if (!m) return { ok: false, error: 'message_not_found' };
      if (m.user !== this.ids.botUserId) return { ok: false, error: 'cant_delete_message' };
      this.store.delete(k);
      this.botChanged({ kind: 'deleted', via: 'chat.delete', message: m, previous: this.wire(m) });
      return { ok: true, channel: args.channel, ts: args.ts };
    },
    'chat.postEphemeral': (args) => {
      if (!str(args.channel)) return { ok: false, error: 'channel_not_found' };
      if (!str(args.user)) return { ok: false, error: 'user_not_in_channel' };
      if (!str(args.text) && !arr(args.blocks)?.length && !arr(args.attachments)?.length) {
        return { ok: false, error: 'no_text' };
      }
      return { ok: true, message_ts: nextTs() };
    },
    'chat.getPermalink': (args) => {
      const channel = str(args.channel);
      const ts = str(args.message_ts);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!ts) return { ok: false, error: 'message_not_found' };
      const threadTs = str(args.thread_ts) ?? this.store.get(key(channel, ts))?.thread_ts;
      const query = threadTs && threadTs !== ts ? `?thread_ts=${threadTs}&cid=${channel}` : '';
      return {
        ok: true,
        channel,
        permalink: `https://example.slack.com/archives/${channel}/p${ts.replace('.', '')}${query}`,
      };
    },
    'chat.startStream': (args) => {
      const channel = str(args.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const m = this.post(channel, streamText(args), undefined, str(args.thread_ts));
      m.streaming = true;
      this.recordVersion(m, 'chat.startStream');
      return { ok: true, channel, ts: m.ts };
    },
    'chat.appendStream': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      if (!m.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
      m.text += streamText(args);
      m.updates += 1;
      this.recordVersion(m, 'chat.appendStream');
      return { ok: true, channel: m.channel, ts: m.ts };
    },
    'chat.stopStream': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      if (!m.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
      const sessionStatus = args.session_status;
      if (sessionStatus !== undefined && !isSessionStatus(sessionStatus)) {
        return invalidArguments('session_status must be one of processing, active, suspended, closed');
      }
      m.text += streamText(args);
      const blocks = arr(args.blocks);
      if (blocks) m.blocks = blocks;
      m.streaming = false;
      m.updates += 1;
      this.recordVersion(m, 'chat.stopStream');
      if (sessionStatus !== undefined) this.sessions.applyStreamStatus(m.channel, m.thread_ts ?? m.ts, sessionStatus);
      return { ok: true, channel: m.channel, ts: m.ts, message: this.wire(m) };
    },
    'reactions.add': (args) => {
      const k = key(str(args.channel) ?? '', str(args.timestamp) ?? '');
      const name = str(args.name) ?? '';
      const set = this.reactionStore.get(k) ?? new Set<string>();
      if (set.has(name)) return { ok: false, error: 'already_reacted' };
      set.add(name);
      this.reactionStore.set(k, set);
      return { ok: true };
    },
    'reactions.remove': (args) => {
      const set = this.reactionStore.get(key(str(args.channel) ?? '', str(args.timestamp) ?? ''));
      if (!set?.delete(str(args.name) ?? '')) return { ok: false, error: 'no_reaction' };
      return { ok: true };
    },
    'assistant.threads.setStatus': (args) => {
      const k = key(str(args.channel_id) ?? '', str(args.thread_ts) ?? '');
      const status = str(args.status) ?? '';
      if (status === '') this.statuses.delete(k);
      else this.statuses.set(k, status);
      return { ok: true };
    },
    'agents.sessions.setStatus': (args) => this.sessions.setStatus(args, !this.agentSessionStoppedSubscription),
    'agents.sessions.rename': (args) => this.sessions.rename(args),
    'views.publish': (args) => this.publishView(args),
    'users.info': (args) => {
      const id = str(args.user);
      if (!id) return { ok: false, error: 'user_not_found' };
      const known = this.users.get(id) ?? {};
      const name = known.name ?? id.toLowerCase();
      const realName = known.real_name ?? `User ${id}`;
      return {
        ok: true,
        user: {
          id,
          team_id: known.team_id ?? this.ids.teamId,
          name,
          real_name: realName,
          deleted: known.deleted ?? false,
          is_bot: known.is_bot ?? false,
          is_app_user: false,
          is_admin: known.is_admin ?? false,
          is_owner: known.is_owner ?? false,
          is_primary_owner: known.is_primary_owner ?? false,
          is_restricted: known.is_restricted ?? false,
          is_ultra_restricted: known.is_ultra_restricted ?? false,
          profile: { real_name: realName, display_name: name, team: known.team_id ?? this.ids.teamId },
        },
      };
    },
    'conversations.info': (args) => {
      const id = str(args.channel);
      if (!id) return { ok: false, error: 'channel_not_found' };
      const isPrivate = id.startsWith('G');
      return {
        ok: true,
        channel: { id, name: id.toLowerCase(), is_channel: !isPrivate, is_group: isPrivate, is_private: isPrivate },
      };
    },
    'users.conversations': (args) => this.userConversations(args),
    'conversations.replies': (args) => {
      const channel = str(args.channel) ?? '';
      const messages = this.threadMessages(channel, str(args.ts) ?? '', false);
      if (messages.length === 0) return { ok: false, error: 'thread_not_found' };
      return { ok: true, messages: messages.map((m) => this.wire(m)), has_more: false };
    },
  };
}
