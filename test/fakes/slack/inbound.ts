// Signed HTTP requests from "Slack" to a Bolt app in HTTP mode (`POST /slack/events`).
import { createHmac } from 'node:crypto';
import {
  type BlockActionInput,
  blockActionPayload,
  type CommandInput,
  commandPayload,
  type EventEnvelopeOptions,
  eventCallbackBody,
  type SlackEvent,
} from './wire.js';

export interface InboundResponse {
  status: number;
  /** Raw response body text. */
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  headers: Record<string, string>;
}

export interface SignOptions {
  /** Sign with this secret instead of the real one (bad-signature tests). */
  wrongSecret?: string;
  /** Use a timestamp 10 minutes old (Bolt rejects anything older than 5 min). */
  staleTimestamp?: boolean;
  /** Explicit `X-Slack-Request-Timestamp` (seconds). */
  timestamp?: number;
  /** Extra headers, sent as is. */
  headers?: Record<string, string>;
}

/** `X-Slack-Signature: v0=<hex hmac-sha256(secret, 'v0:' + ts + ':' + body)>` and the timestamp header. */
export function signatureHeaders(
  signingSecret: string,
  rawBody: string,
  timestampSec?: number,
): Record<string, string> {
  const ts = String(timestampSec ?? Math.floor(Date.now() / 1000));
  const hex = createHmac('sha256', signingSecret).update(`v0:${ts}:${rawBody}`).digest('hex');
  return { 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': `v0=${hex}` };
}

/** Accepts a bot base URL (`http://127.0.0.1:1234`) or the full events URL. */
function eventsUrl(botUrl: string): string {
  const url = new URL(botUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/slack/events';
  return url.toString();
}

/** POST a body as is (no signing unless you put the headers in). */
export async function sendRaw(botUrl: string, body: string, headers: Record<string, string>): Promise<InboundResponse> {
  const res = await fetch(eventsUrl(botUrl), { method: 'POST', body, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, body: text, json, headers: Object.fromEntries(res.headers.entries()) };
}

/** POST a signed body. `contentType` must be exactly what Bolt compares against (no `; charset`). */
export function sendSigned(
  botUrl: string,
  signingSecret: string,
  rawBody: string,
  contentType: 'application/json' | 'application/x-www-form-urlencoded',
  sign: SignOptions = {},
): Promise<InboundResponse> {
  const timestamp = sign.timestamp ?? Math.floor(Date.now() / 1000) - (sign.staleTimestamp ? 600 : 0);
  const headers = {
    'Content-Type': contentType,
    ...signatureHeaders(sign.wrongSecret ?? signingSecret, rawBody, timestamp),
    ...sign.headers,
  };
  return sendRaw(botUrl, rawBody, headers);
}

export interface SendEventOptions extends EventEnvelopeOptions, SignOptions {
  /** Sets `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason`, default `http_timeout`). */
  retryNum?: number;
  retryReason?: string;
}

/** POST an `event_callback` envelope around `event`. */
export function sendEvent(
  botUrl: string,
  signingSecret: string,
  event: SlackEvent,
  options: SendEventOptions = {},
): Promise<InboundResponse> {
  const body = JSON.stringify(eventCallbackBody(event, options));
  const headers: Record<string, string> = { ...options.headers };
  if (options.retryNum !== undefined) {
    headers['X-Slack-Retry-Num'] = String(options.retryNum);
    headers['X-Slack-Retry-Reason'] = options.retryReason ?? 'http_timeout';
  }
  return sendSigned(botUrl, signingSecret, body, 'application/json', { ...options, headers });
}

/** POST a slash command (form-encoded; defaults: `/ai-dev`, `U0USER`, `C0TEST`, `T000TEST`). */
export function sendCommand(
  botUrl: string,
  signingSecret: string,
  command: CommandInput,
  sign: SignOptions = {},
): Promise<InboundResponse> {
  const body = new URLSearchParams(commandPayload(command)).toString();
  return sendSigned(botUrl, signingSecret, body, 'application/x-www-form-urlencoded', sign);
}

/** POST a `block_actions` button click as form field `payload`. */
export function sendBlockAction(
  botUrl: string,
  signingSecret: string,
  action: BlockActionInput,
  sign: SignOptions = {},
): Promise<InboundResponse> {
  const body = new URLSearchParams({ payload: JSON.stringify(blockActionPayload(action)) }).toString();
  return sendSigned(botUrl, signingSecret, body, 'application/x-www-form-urlencoded', sign);
}

/** POST `{type: 'url_verification', challenge}`; Bolt answers 200 `{challenge}`. */
export function sendUrlVerification(
  botUrl: string,
  signingSecret: string,
  challenge = 'challenge-token',
): Promise<InboundResponse> {
  const body = JSON.stringify({ token: 'verification-token', challenge, type: 'url_verification' });
  return sendSigned(botUrl, signingSecret, body, 'application/json');
}
