/** HTTP plumbing of the fake OpenAI server: one exchange, JSON / error / SSE replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorSpec } from './steps.js';
import type { HttpLogEntry, RecordedRequest } from './types.js';
import { type EventBody, errorBody, sseFrame } from './wire.js';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  entry: HttpLogEntry;
  /** Aborted when the client disconnects or the fake closes. */
  control: AbortController;
  record?: RecordedRequest;
  /** The fake itself cut the connection (broken stream): not a client abort. */
  selfClosed: boolean;
}

/** A JSON answer. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const JSON_HEADERS = { 'content-type': 'application/json' };

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorReply(status: number, error: ErrorSpec, headers?: Record<string, string>): Reply {
  return headers === undefined ? { status, body: errorBody(error) } : { status, body: errorBody(error), headers };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes the status line once; false if the answer already started or the socket is gone. */
export function head(ex: Exchange, status: number, headers: Record<string, string>): boolean {
  if (ex.res.headersSent || ex.res.destroyed) return false;
  ex.entry.status = status;
  if (ex.record) ex.record.httpStatus = status;
  ex.res.writeHead(status, { 'x-request-id': ex.requestId, ...headers });
  return true;
}

export function send(ex: Exchange, reply: Reply): void {
  if (head(ex, reply.status, { ...JSON_HEADERS, ...reply.headers })) ex.res.end(JSON.stringify(reply.body));
}

/** Sends 200 headers without a body, so the client waits for it. */
export function sendHeadersOnly(ex: Exchange, headers: Record<string, string> = JSON_HEADERS): void {
  if (head(ex, 200, headers)) ex.res.flushHeaders();
}

export function sseFrames(events: ReadonlyArray<EventBody | { type: string }>, firstSequence = 0): string {
  return events.map((event, index) => sseFrame(event, firstSequence + index)).join('');
}

/** Writes SSE frames (numbered from 0); `end` closes the body. */
export function writeSse(ex: Exchange, events: ReadonlyArray<EventBody | { type: string }>, end: boolean): void {
  if (!head(ex, 200, SSE_HEADERS)) return;
  if (end) ex.res.end(sseFrames(events));
  else ex.res.write(sseFrames(events));
}

/** Writes a truncated body (flushed), then ends it cleanly or destroys the socket. */
export async function writeBroken(
  ex: Exchange,
  headers: Record<string, string>,
  payload: string,
  destroy: boolean,
): Promise<void> {
  if (!head(ex, 200, headers)) return;
  await new Promise<void>((resolve) => ex.res.write(payload, () => resolve()));
  if (destroy) {
    ex.selfClosed = true;
    ex.res.destroy();
  } else {
    ex.res.end();
  }
}

export function jsonHeaders(): Record<string, string> {
  return { ...JSON_HEADERS };
}
