// The fake Web API's state and method answers (no HTTP here; see ../slack-server.ts).
import { Waiters } from './wait.js';
import { DEFAULT_IDS, nextTs } from './wire.js';

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
  /** `users.info` answers; unknown ids get `name: <id lowercased>`. */
  users?: Record<string, { name?: string; real_name?: string; is_bot?: boolean }>;
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
  /** Bot user id for messages the bot posted; the given user for `addMessage`. */
  user: string;
  bot_id?: string;
  /** Number of `chat.update` / `chat.appendStream` / `chat.stopStream` applied. */
  updates: number;
  /** True between `chat.startStream` and `chat.stopStream`. */
  streaming?: boolean;
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
  readonly waiters = new Waiters();

  private readonly store = new Map<string, StoredMessage>();
  private readonly reactionStore = new Map<string, Set<string>>();
  private readonly statuses = new Map<string, string>();
  private readonly forcedLimits = new Map<string, { times: number; retryAfterSeconds: number }>();
  private readonly failures = new Map<string, string[]>();
  private readonly handlers = new Map<string, MethodHandler>();
  private readonly postTimes = new Map<string, number[]>();
  private readonly responseUses = new Map<string, number>();

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

  addMessage(message: Partial<StoredMessage> & { channel: string; text: string }): StoredMessage {
    const stored: StoredMessage = { ts: nextTs(), user: DEFAULT_IDS.userId, updates: 0, ...message };
    this.store.set(key(stored.channel, stored.ts), stored);
    this.waiters.notify();
    return stored;
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
    this.responseUses.clear();
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
    const ok = (body: Args): ApiAnswer => ({ status: 200, headers: {}, body });
    const expected = method === 'apps.connections.open' ? this.ids.appToken : this.ids.botToken;
    if (!token) return ok({ ok: false, error: 'not_authed' });
    if (token !== expected) return ok({ ok: false, error: 'invalid_auth' });

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
    const failure = this.failures.get(method)?.shift();
    if (failure !== undefined) return ok({ ok: false, error: failure });

    const custom = this.handlers.get(method);
    if (custom) return ok(await custom(args, call));
    const builtin = this.builtins[method];
    if (builtin) return ok(builtin(args));
    return ok({ ok: false, error: 'unknown_method' });
  }

  private tooMany(retryAfterSeconds: number): ApiAnswer {
    return {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
      body: { ok: false, error: 'ratelimited' },
    };
  }

  private wire(m: StoredMessage): Args {
    const out: Args = { type: 'message', text: m.text, user: m.user, ts: m.ts, team: this.ids.teamId };
    if (m.bot_id) {
      out.bot_id = m.bot_id;
      out.app_id = this.ids.appId;
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
      return { ok: true, channel, ts: m.ts, message: this.wire(m) };
    },
    'chat.update': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      const text = str(args.text) ?? str(args.markdown_text);
      if (text !== undefined) m.text = text;
      if (args.blocks !== undefined) m.blocks = arr(args.blocks) ?? [];
      m.updates += 1;
      return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: this.wire(m) };
    },
    'chat.delete': (args) => {
      const k = key(str(args.channel) ?? '', str(args.ts) ?? '');
      if (!this.store.delete(k)) return { ok: false, error: 'message_not_found' };
      return { ok: true, channel: args.channel, ts: args.ts };
    },
    'chat.postEphemeral': (args) => {
      if (!str(args.channel)) return { ok: false, error: 'channel_not_found' };
      if (!str(args.user)) return { ok: false, error: 'user_not_in_channel' };
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
      return { ok: true, channel, ts: m.ts };
    },
    'chat.appendStream': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      if (!m.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
      m.text += streamText(args);
      m.updates += 1;
      return { ok: true, channel: m.channel, ts: m.ts };
    },
    'chat.stopStream': (args) => {
      const m = this.store.get(key(str(args.channel) ?? '', str(args.ts) ?? ''));
      if (!m) return { ok: false, error: 'message_not_found' };
      if (!m.streaming) return { ok: false, error: 'message_not_in_streaming_state' };
      m.text += streamText(args);
      const blocks = arr(args.blocks);
      if (blocks) m.blocks = blocks;
      m.streaming = false;
      m.updates += 1;
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
    'users.info': (args) => {
      const id = str(args.user);
      if (!id) return { ok: false, error: 'user_not_found' };
      const known = this.options.users?.[id] ?? {};
      const name = known.name ?? id.toLowerCase();
      const realName = known.real_name ?? `User ${id}`;
      return {
        ok: true,
        user: {
          id,
          team_id: this.ids.teamId,
          name,
          real_name: realName,
          deleted: false,
          is_bot: known.is_bot ?? false,
          profile: { real_name: realName, display_name: name },
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
    'conversations.replies': (args) => {
      const channel = str(args.channel) ?? '';
      const messages = this.threadMessages(channel, str(args.ts) ?? '', false);
      if (messages.length === 0) return { ok: false, error: 'thread_not_found' };
      return { ok: true, messages: messages.map((m) => this.wire(m)), has_more: false };
    },
  };
}
