// Loopback fake of Slack for integration tests that drive the real Bolt app. It refuses what Slack
// refuses (Block Kit rules → invalid_blocks, wrong tokens, edits of others' messages, bad agent-session
// arguments, …); the full list of checks is in ./slack/README.md. Do not loosen a check to pass a flow.
// - Web API (bot → Slack): POST http://127.0.0.1:<port>/api/<method>  (Bolt `clientOptions.slackApiUrl`)
// - response_url:          POST http://127.0.0.1:<port>/response/<id>
// - Socket Mode:           ws://127.0.0.1:<port>/socket (answered by `apps.connections.open`)
// - Inbound HTTP (Slack → bot): signed helpers in ./slack/inbound.ts, re-exported here; or
//   `fake.setEventTarget(…)` then `fake.sendEvent` / `postAsOtherApp` / `stopAgentSession` / the echo.
// Wire shapes: docs/platform-notes.md §3 and §6.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentSession } from './slack/agent-sessions.js';
import { type InboundResponse, sendEvent as sendSignedEvent } from './slack/inbound.js';
import { FakeSocketMode, type SocketAck } from './slack/socket.js';
import {
  type ApiAnswer,
  type Args,
  type BotMessageChange,
  type FakeSlackOptions,
  type FakeUser,
  FakeWebApi,
  type MessageVersion,
  type MethodHandler,
  type PublishedView,
  type RateWindow,
  type RecordedCall,
  type RecordedResponse,
  type StoredMessage,
} from './slack/web-api.js';
import {
  agentSessionStoppedEvent,
  type BotMessageInput,
  botMessageEvent,
  type EventEnvelopeOptions,
  messageChangedEvent,
  messageDeletedEvent,
  nextTs,
  type SlackEvent,
  uniqueId,
} from './slack/wire.js';

export type {
  AgentSession,
  AgentSessionStatus,
  AgentSessionStatusChange,
} from './slack/agent-sessions.js';
export { KNOWN_BLOCK_TYPES, LIMITS as BLOCK_KIT_LIMITS, MAX_BLOCKS, validateBlocks } from './slack/block-kit.js';
export * from './slack/inbound.js';
export type { EnvelopeOptions, EnvelopeType, FakeSocketMode, SocketAck } from './slack/socket.js';
export type {
  Args,
  BotMessageChange,
  FakeSlackOptions,
  FakeUser,
  MessageVersion,
  MethodHandler,
  PublishedView,
  RateWindow,
  RecordedCall,
  RecordedResponse,
  StoredMessage,
} from './slack/web-api.js';
export { MANIFEST_BOT_SCOPES } from './slack/web-api.js';
export * from './slack/wire.js';

/** Form fields that carry JSON (the WebClient JSON-encodes objects and arrays into form fields). */
const JSON_FIELDS = new Set([
  'blocks',
  'attachments',
  'metadata',
  'loading_messages',
  'chunks',
  'user_auth_blocks',
  'view',
]);

/** Where `fake.sendEvent` (and the echo) deliver events: the bot's HTTP endpoint, or its Socket Mode link. */
export type EventTarget = { botUrl: string; signingSecret: string } | 'socket';

/** One event the fake delivered (or tried to) through `sendEvent`, a helper or the echo. */
export interface Delivery {
  event: SlackEvent;
  at: number;
  via: 'http' | 'socket';
  /** True for the bot's own post/edit/delete echoed back. */
  echo: boolean;
  /** HTTP status (HTTP), or 200 once acked (Socket Mode); undefined while in flight or when it failed. */
  status?: number;
  /** Why delivery failed (network error, no ack). */
  error?: string;
  response?: InboundResponse;
  ack?: SocketAck;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseArgs(raw: string, contentType: string, query: URLSearchParams): Args {
  const args: Args = Object.fromEntries(query.entries());
  if (contentType.startsWith('application/json')) {
    const parsed: unknown = raw === '' ? {} : JSON.parse(raw);
    if (parsed && typeof parsed === 'object') Object.assign(args, parsed);
    return args;
  }
  if (contentType.startsWith('multipart/')) return args;
  for (const [key, value] of new URLSearchParams(raw)) {
    if (JSON_FIELDS.has(key)) {
      try {
        args[key] = JSON.parse(value);
        continue;
      } catch {
        // keep the string
      }
    }
    args[key] = value;
  }
  return args;
}

function describeCalls(calls: RecordedCall[]): string {
  if (calls.length === 0) return '  (no calls recorded)';
  return calls
    .map((c, i) => {
      const args = JSON.stringify(c.args);
      const outcome = c.status === 200 ? (c.response?.ok ? 'ok' : `error ${String(c.response?.error)}`) : c.status;
      return `  ${i + 1}. ${c.method} ${args.length > 300 ? `${args.slice(0, 300)}…` : args} → ${outcome}`;
    })
    .join('\n');
}

export interface RateLimitRule {
  method: string;
  /** How many upcoming calls of `method` get a 429 (default 1). */
  times?: number;
  /** `Retry-After` header value (default 1). */
  retryAfterSeconds?: number;
}

export class FakeSlack {
  readonly socket: FakeSocketMode;
  /** Every event delivered by `sendEvent`, the helpers and the echo, in order. */
  readonly deliveries: Delivery[] = [];
  private readonly api: FakeWebApi;
  private readonly server: Server;
  private port = 0;
  private target: EventTarget | undefined;
  private echo: boolean;
  private readonly inFlight = new Set<Promise<unknown>>();

  private constructor(options: FakeSlackOptions) {
    this.api = new FakeWebApi(options, () => this.socketUrl);
    this.echo = options.echoBotMessages ?? false;
    this.api.onBotMessage = (change) => this.echoChange(change);
    this.socket = new FakeSocketMode(
      this.api.ids.appId,
      options.ackTimeoutMs ?? 5000,
      options.socketPingIntervalMs ?? 10_000,
    );
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname === '/socket') this.socket.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', () => resolve());
    });
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** Pass as Bolt `clientOptions.slackApiUrl`. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }
  get socketUrl(): string {
    return `ws://127.0.0.1:${this.port}/socket`;
  }
  /** Tokens and ids the fake answers with (`teamId`, `botUserId`, `botId`, `appId`, `botToken`, `appToken`, …). */
  get ids(): FakeWebApi['ids'] {
    return this.api.ids;
  }
  /** Every Web API call, in arrival order (including 429s and errors). */
  get calls(): RecordedCall[] {
    return this.api.calls;
  }
  /** Every accepted POST to a response_url. */
  get responses(): RecordedResponse[] {
    return this.api.responses;
  }
  /** Number of 429 answers sent. */
  get rateLimited(): number {
    return this.api.rateLimited;
  }
  /** Every stored message (bot posts and `addMessage`), sorted by ts. */
  get messages(): StoredMessage[] {
    return this.api.messages;
  }

  callsOf(method: string): RecordedCall[] {
    return this.api.calls.filter((c) => c.method === method);
  }

  /** Bot-posted root (if the bot posted it) and bot replies in a thread, sorted by ts, reflecting updates/deletes. */
  threadMessages(channel: string, threadTs: string): StoredMessage[] {
    return this.api.threadMessages(channel, threadTs);
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.api.message(channel, ts);
  }

  /** Reaction names currently on a message. */
  reactions(channel: string, ts: string): string[] {
    return this.api.reactions(channel, ts);
  }

  /** Last `assistant.threads.setStatus` status of a thread; cleared by '' and by a bot post in the thread. */
  threadStatus(channel: string, threadTs: string): string | undefined {
    return this.api.threadStatus(channel, threadTs);
  }

  /** Seeds a (user) message, e.g. so `conversations.replies` returns a thread root. */
  addMessage(message: Partial<StoredMessage> & { channel: string; text: string }): StoredMessage {
    return this.api.addMessage(message);
  }

  /** Resolves with the first recorded call (past or future) matching `predicate`. */
  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs = 3000): Promise<RecordedCall> {
    return this.api.waiters.wait(
      () => this.api.calls.find(predicate),
      timeoutMs,
      () =>
        `FakeSlack.waitFor: no matching Web API call within ${timeoutMs} ms. Recorded calls (${this.api.calls.length}):\n` +
        describeCalls(this.api.calls),
    );
  }

  /** Resolves with the first recorded response_url POST (past or future) matching `predicate`. */
  waitForResponse(
    predicate: (r: RecordedResponse) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<RecordedResponse> {
    return this.api.waiters.wait(
      () => this.api.responses.find(predicate),
      timeoutMs,
      () =>
        `FakeSlack.waitForResponse: no matching response_url POST within ${timeoutMs} ms. Responses: ` +
        `${JSON.stringify(this.api.responses)}\nWeb API calls (${this.api.calls.length}):\n${describeCalls(this.api.calls)}`,
    );
  }

  /** The next `times` calls of `method` get HTTP 429 with `Retry-After`. */
  rateLimit({ method, times = 1, retryAfterSeconds = 1 }: RateLimitRule): void {
    this.api.rateLimit(method, times, retryAfterSeconds);
  }

  /** Enables (or with `undefined` disables) the per-channel `chat.postMessage` limit. */
  setPostMessageLimit(perSecondPerChannel: number | undefined): void {
    this.api.postMessagePerSecondPerChannel = perSecondPerChannel;
  }

  /** The next call of `method` (after auth and rate limits) answers `{ok: false, error}`. Stacks. */
  failNext(method: string, error: string): void {
    this.api.failNext(method, error);
  }

  /** Replaces the answer of `method` (after auth, rate limits and failNext); `undefined` restores the built-in. */
  setHandler(method: string, handler: MethodHandler | undefined): void {
    this.api.setHandler(method, handler);
  }

  /** A response_url on this fake; POSTs to it land in `responses` with this `id`. */
  responseUrl(id: string = uniqueId('R')): string {
    return `${this.url}/response/${encodeURIComponent(id)}`;
  }

  // ---- message history, rate limit on edits ----

  /** Every version of a message, oldest first: the post, each update / stream append / stop, a delete. */
  messageHistory(channel: string, ts: string): MessageVersion[] {
    return this.api.messageHistory(channel, ts);
  }

  /** Enables (or with `undefined` disables) the Tier-3 `chat.update` limit (per workspace, default window 60 s). */
  setChatUpdateLimit(limit: RateWindow | undefined): void {
    this.api.chatUpdateLimit = limit;
  }

  // ---- agent sessions ----

  /** The statuses `agents.sessions.setStatus` (and `chat.stopStream {session_status}`) set, oldest first. */
  sessionStatuses(channel: string, threadTs: string): string[] {
    return this.api.sessions.get(channel, threadTs)?.statuses.map((s) => s.status) ?? [];
  }

  /** The whole recorded session (title, initiator, titles, ignored arguments, stops) or undefined. */
  agentSession(channel: string, threadTs: string): AgentSession | undefined {
    return this.api.sessions.get(channel, threadTs);
  }

  /** False: `agents.sessions.setStatus` warns `missing_agent_session_stopped_event_subscription`. */
  setAgentSessionStoppedSubscription(subscribed: boolean): void {
    this.api.agentSessionStoppedSubscription = subscribed;
  }

  /**
   * The user presses Stop on the thread's agent session: the streams listed (default: the thread's messages
   * still streaming) are stopped, as Slack does, and `agent_session_stopped` goes to the event target.
   * The session's status is left alone: moving it out of `processing` is the app's job.
   */
  async stopAgentSession(
    channel: string,
    threadTs: string,
    options: { user?: string; streamingMessageTs?: string[] } & EventEnvelopeOptions = {},
  ): Promise<Delivery> {
    const streaming =
      options.streamingMessageTs ??
      this.api
        .threadMessages(channel, threadTs)
        .filter((m) => m.streaming)
        .map((m) => m.ts);
    const event = agentSessionStoppedEvent({
      channel,
      thread_ts: threadTs,
      streaming_message_ts: streaming,
      ...(options.user !== undefined ? { user: options.user } : {}),
    });
    this.api.stopStreams(channel, streaming);
    this.api.sessions
      .get(channel, threadTs)
      ?.stops.push({ at: Date.now(), user: String(event.user), streamingMessageTs: streaming });
    return this.sendEvent(event, options);
  }

  // ---- App Home, users, scopes ----

  /** Every `views.publish` accepted for a user, oldest first. */
  homeViews(userId: string): PublishedView[] {
    return this.api.homeViews(userId);
  }

  /** The user's current Home tab view (the last accepted `views.publish`). */
  homeView(userId: string): PublishedView | undefined {
    return this.api.homeViews(userId).at(-1);
  }

  /** Sets (or with `undefined` forgets) what `users.info` answers for `id`. */
  setUser(id: string, user: FakeUser | undefined): void {
    this.api.setUser(id, user);
  }

  /**
   * Sets who is in a channel, for `users.conversations` (list the bot's user id when the bot is in it; a `G…` id
   * is private unless `isPrivate` says otherwise). The default channel starts with the default user and the bot.
   */
  setChannel(id: string, channel: { members: readonly string[]; isPrivate?: boolean; archived?: boolean } | undefined) {
    this.api.setChannel(id, channel);
  }

  /** The bot scopes `x-oauth-scopes` lists from now on. */
  setScopes(scopes: readonly string[]): void {
    this.api.scopes = [...scopes];
  }

  // ---- events to the bot ----

  /** Where `sendEvent`, the helpers and the echo deliver events (`undefined`: nowhere). */
  setEventTarget(target: EventTarget | undefined): void {
    this.target = target;
  }

  /** Turns the echo of the bot's own posts, edits and deletes on or off. */
  setEchoBotMessages(on: boolean): void {
    this.echo = on;
  }

  /**
   * Delivers an event to the event target (signed HTTP POST or Socket Mode envelope) and records it in
   * `deliveries`. Resolves once the bot answered / acked; rejects when no target is set.
   */
  async sendEvent(event: SlackEvent, options: EventEnvelopeOptions = {}): Promise<Delivery> {
    return this.deliver(event, options, false);
  }

  /**
   * Another app posts in a channel or thread: the message is stored (so `conversations.replies` sees it)
   * and its `message` event delivered. `style: 'bot_message'` sends the subtype form (no `user`).
   */
  async postAsOtherApp(input: BotMessageInput & { channel: string }): Promise<Delivery> {
    const event = botMessageEvent(input);
    const stored: Partial<StoredMessage> & { channel: string; text: string } = {
      channel: input.channel,
      ts: String(event.ts),
      text: String(event.text),
      user: typeof event.user === 'string' ? event.user : '',
      bot_id: String(event.bot_id),
      app_id: String(event.app_id),
    };
    if (input.thread_ts !== undefined) stored.thread_ts = input.thread_ts;
    if (event.subtype !== undefined) stored.subtype = String(event.subtype);
    if (input.blocks !== undefined) stored.blocks = input.blocks;
    this.api.addMessage(stored, 'postAsOtherApp');
    return this.sendEvent(event);
  }

  /** Resolves with the first delivery (past or future) that finished and matches `predicate`. */
  waitForDelivery(predicate: (d: Delivery) => boolean, timeoutMs = 3000): Promise<Delivery> {
    return this.api.waiters.wait(
      () => this.deliveries.find((d) => (d.status !== undefined || d.error !== undefined) && predicate(d)),
      timeoutMs,
      () =>
        `FakeSlack.waitForDelivery: no matching delivery within ${timeoutMs} ms. Deliveries: ` +
        JSON.stringify(
          this.deliveries.map((d) => ({
            type: d.event.type,
            subtype: d.event.subtype,
            status: d.status,
            error: d.error,
          })),
        ),
    );
  }

  /** Resolves once every echo and event delivery under way has finished. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Forgets calls, responses, messages, histories, sessions, views, deliveries, pending rate limits and failures. */
  reset(): void {
    this.api.reset();
    this.deliveries.length = 0;
  }

  async close(): Promise<void> {
    await this.socket.close(); // rejects acks still pending, so no delivery below waits for a timeout
    await this.settled();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    if (url.pathname.startsWith('/api/')) {
      const method = decodeURIComponent(url.pathname.slice('/api/'.length));
      let args: Args;
      try {
        args = parseArgs(raw, contentType, url.searchParams);
      } catch {
        return this.reply(res, { status: 200, headers: {}, body: { ok: false, error: 'invalid_json' } });
      }
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
      const bodyToken = typeof args.token === 'string' ? args.token : undefined;
      delete args.token;
      return this.reply(res, await this.api.handle(method, args, bearer ?? bodyToken));
    }
    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const id = decodeURIComponent(url.pathname.slice('/response/'.length));
      let body: Args;
      try {
        body = parseArgs(
          raw,
          contentType.startsWith('application/x-www-form') ? contentType : 'application/json',
          url.searchParams,
        );
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid_payload');
        return;
      }
      const answer = this.api.handleResponseUrl(id, body);
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.text);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  private echoChange(change: BotMessageChange): void {
    if (!this.echo || !this.target) return;
    const { message } = change;
    const wire = this.api.wireMessage(message);
    let event: SlackEvent;
    if (change.kind === 'posted') {
      event = { ...wire, type: 'message', channel: message.channel, event_ts: message.ts, channel_type: 'channel' };
    } else if (change.kind === 'changed') {
      const edited = { ...wire, edited: { user: message.user, ts: nextTs() } };
      event = messageChangedEvent({
        channel: message.channel,
        message: edited,
        previous_message: change.previous ?? {},
      });
    } else {
      event = messageDeletedEvent({
        channel: message.channel,
        deleted_ts: message.ts,
        previous_message: change.previous ?? {},
      });
    }
    // Slack sends these after answering the call; nobody awaits them (see `settled()`).
    void this.deliver(event, {}, true).catch(() => {});
  }

  private deliver(event: SlackEvent, options: EventEnvelopeOptions, echo: boolean): Promise<Delivery> {
    const target = this.target;
    if (!target) return Promise.reject(new Error('FakeSlack.sendEvent: no event target; call fake.setEventTarget(…)'));
    const delivery: Delivery = { event, at: Date.now(), via: target === 'socket' ? 'socket' : 'http', echo };
    this.deliveries.push(delivery);
    const run = async (): Promise<Delivery> => {
      try {
        if (target === 'socket') {
          delivery.ack = await this.socket.sendEvent(event, options);
          delivery.status = 200;
        } else {
          delivery.response = await sendSignedEvent(target.botUrl, target.signingSecret, event, options);
          delivery.status = delivery.response.status;
        }
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
        if (!echo) throw error;
      } finally {
        this.api.waiters.notify();
      }
      return delivery;
    };
    const promise = run();
    this.inFlight.add(promise);
    const forget = () => this.inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  private reply(res: ServerResponse, answer: ApiAnswer): void {
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  }
}

/** Starts the fake on 127.0.0.1, port 0. */
export function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  return FakeSlack.start(options);
}
