// Loopback fake of Slack for integration tests that drive the real Bolt app.
// - Web API (bot → Slack): POST http://127.0.0.1:<port>/api/<method>  (Bolt `clientOptions.slackApiUrl`)
// - response_url:          POST http://127.0.0.1:<port>/response/<id>
// - Socket Mode:           ws://127.0.0.1:<port>/socket (answered by `apps.connections.open`)
// - Inbound HTTP (Slack → bot): signed helpers in ./slack/inbound.ts, re-exported here.
// Wire shapes: docs/platform-notes.md §3.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeSocketMode } from './slack/socket.js';
import {
  type ApiAnswer,
  type Args,
  type FakeSlackOptions,
  FakeWebApi,
  type MethodHandler,
  type RecordedCall,
  type RecordedResponse,
  type StoredMessage,
} from './slack/web-api.js';
import { uniqueId } from './slack/wire.js';

export * from './slack/inbound.js';
export type { EnvelopeOptions, EnvelopeType, FakeSocketMode, SocketAck } from './slack/socket.js';
export type {
  Args,
  FakeSlackOptions,
  MethodHandler,
  RecordedCall,
  RecordedResponse,
  StoredMessage,
} from './slack/web-api.js';
export * from './slack/wire.js';

/** Form fields that carry JSON (the WebClient JSON-encodes objects and arrays into form fields). */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'loading_messages', 'chunks', 'user_auth_blocks']);

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
  private readonly api: FakeWebApi;
  private readonly server: Server;
  private port = 0;

  private constructor(options: FakeSlackOptions) {
    this.api = new FakeWebApi(options, () => this.socketUrl);
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

  /** Forgets calls, responses, messages, reactions, statuses, pending rate limits and failures. */
  reset(): void {
    this.api.reset();
  }

  async close(): Promise<void> {
    await this.socket.close();
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

  private reply(res: ServerResponse, answer: ApiAnswer): void {
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  }
}

/** Starts the fake on 127.0.0.1, port 0. */
export function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  return FakeSlack.start(options);
}
