// Fake Socket Mode endpoint (`ws://127.0.0.1:<port>/socket`) speaking @slack/socket-mode 3's protocol.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { Waiters } from './wait.js';
import type { Args } from './web-api.js';
import {
  type BlockActionInput,
  blockActionPayload,
  type CommandInput,
  commandPayload,
  type EventEnvelopeOptions,
  eventCallbackBody,
  type SlackEvent,
  uniqueId,
} from './wire.js';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface SocketAck {
  envelope_id: string;
  /** socket-mode 3 always sends a payload (`{}` for a bare `ack()`). */
  payload?: Args;
}

export interface EnvelopeOptions {
  retryAttempt?: number;
  retryReason?: string;
  envelopeId?: string;
  acceptsResponsePayload?: boolean;
  /** How long to wait for the ack (default: the fake's `ackTimeoutMs`, 5000). */
  timeoutMs?: number;
}

interface PendingAck {
  type: EnvelopeType;
  resolve: (ack: SocketAck) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  promise: Promise<SocketAck>;
}

export class FakeSocketMode {
  /** Every ack received, in order. */
  readonly acks: SocketAck[] = [];
  /** Every envelope sent, in order. */
  readonly envelopes: Args[] = [];
  /** Connections accepted so far (a reconnect adds one). */
  connectionCount = 0;

  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  /** Sockets that answered the ping sent right after `hello` (so the client has handled `hello`). */
  private readonly ready = new Set<WebSocket>();
  private readonly pending = new Map<string, PendingAck>();
  private readonly waiters = new Waiters();

  constructor(
    private readonly appId: string,
    private readonly ackTimeoutMs: number,
    private readonly pingIntervalMs: number,
  ) {}

  /** Called by the HTTP server's `upgrade` handler for `/socket`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  /** Number of open client connections that have handled `hello`. */
  get clientCount(): number {
    return this.openReady().length;
  }

  /**
   * Resolves once a client is connected and has handled `hello` (the fake pings right after `hello` and
   * counts the pong). Stopping a socket-mode 3 client that is still connecting leaves an unhandled
   * rejection and a 30 s timer behind, so wait for this after a reconnect before `app.stop()`.
   */
  connected(timeoutMs = 5000): Promise<void> {
    return this.waiters
      .wait(
        () => (this.clientCount > 0 ? true : undefined),
        timeoutMs,
        () => `FakeSlack socket: no Socket Mode client connected within ${timeoutMs} ms`,
      )
      .then(() => undefined);
  }

  /** Sends an envelope to the newest client; resolves with its ack `{envelope_id, payload}`. */
  sendEnvelope(type: EnvelopeType, payload: Args, options: EnvelopeOptions = {}): Promise<SocketAck> {
    const ws = this.openReady().at(-1) ?? [...this.sockets].filter((s) => s.readyState === s.OPEN).at(-1);
    if (!ws) return Promise.reject(new Error(`FakeSlack socket: cannot send ${type}, no client connected`));
    const envelopeId = options.envelopeId ?? uniqueId('env-');
    const envelope: Args = {
      envelope_id: envelopeId,
      type,
      accepts_response_payload: options.acceptsResponsePayload ?? type !== 'events_api',
      retry_attempt: options.retryAttempt ?? 0,
      retry_reason: options.retryReason ?? '',
      payload,
    };
    const timeoutMs = options.timeoutMs ?? this.ackTimeoutMs;
    let resolve: (ack: SocketAck) => void = () => {};
    let reject: (error: Error) => void = () => {};
    const promise = new Promise<SocketAck>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => {
      this.pending.delete(envelopeId);
      reject(new Error(`FakeSlack socket: no ack for ${type} envelope ${envelopeId} within ${timeoutMs} ms`));
    }, timeoutMs);
    this.pending.set(envelopeId, { type, resolve, reject, timer, promise });
    this.envelopes.push(envelope);
    ws.send(JSON.stringify(envelope));
    return promise;
  }

  /** `events_api` envelope around an `event_callback` body. */
  sendEvent(event: SlackEvent, options: EventEnvelopeOptions & EnvelopeOptions = {}): Promise<SocketAck> {
    return this.sendEnvelope('events_api', eventCallbackBody(event, options), options);
  }

  /** `slash_commands` envelope (same defaults as the HTTP `sendCommand`). */
  sendCommand(command: CommandInput = {}, options: EnvelopeOptions = {}): Promise<SocketAck> {
    return this.sendEnvelope('slash_commands', commandPayload(command), options);
  }

  /** `interactive` envelope with a `block_actions` payload. */
  sendBlockAction(action: BlockActionInput, options: EnvelopeOptions = {}): Promise<SocketAck> {
    return this.sendEnvelope('interactive', blockActionPayload(action), options);
  }

  /** Sends `{type: 'disconnect'}` to every client; socket-mode then reconnects via `apps.connections.open`. */
  disconnect(reason = 'refresh_requested'): void {
    const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake' } });
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) ws.send(message);
  }

  /** Drops every connection without a word (a network cut): the client notices the close and reconnects. */
  drop(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  /** Terminates every connection and rejects pending acks. */
  async close(): Promise<void> {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.promise.catch(() => {});
      entry.reject(new Error(`FakeSlack socket: closed before ${entry.type} envelope ${id} was acked`));
    }
    this.pending.clear();
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.ready.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private openReady(): WebSocket[] {
    return [...this.ready].filter((ws) => ws.readyState === ws.OPEN);
  }

  private onConnection(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connectionCount += 1;
    // Like Slack, ping now and then: socket-mode starts its server-ping watchdog on the first ping.
    const pinger = setInterval(() => ws.ping(), this.pingIntervalMs);
    pinger.unref();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) this.onMessage(data.toString());
    });
    ws.once('pong', () => {
      this.ready.add(ws);
      this.waiters.notify();
    });
    ws.on('close', () => {
      clearInterval(pinger);
      this.sockets.delete(ws);
      this.ready.delete(ws);
      this.waiters.notify();
    });
    ws.on('error', () => {});
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    ws.ping();
  }

  private onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!message || typeof message !== 'object' || !('envelope_id' in message)) return;
    const { envelope_id: envelopeId, payload } = message as { envelope_id: unknown; payload?: unknown };
    if (typeof envelopeId !== 'string') return;
    const ack: SocketAck = { envelope_id: envelopeId };
    if (payload && typeof payload === 'object') ack.payload = payload as Args;
    this.acks.push(ack);
    const entry = this.pending.get(envelopeId);
    if (!entry) return;
    this.pending.delete(envelopeId);
    clearTimeout(entry.timer);
    entry.resolve(ack);
  }
}
