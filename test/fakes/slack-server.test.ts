import type { AddressInfo } from 'node:net';
import { App, type Logger, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  eventCallbackBody,
  type FakeSlack,
  mentionEvent,
  messageEvent,
  nextTs,
  sendBlockAction,
  sendCommand,
  sendEvent,
  sendRaw,
  sendUrlVerification,
  signatureHeaders,
  startFakeSlack,
} from './slack-server.js';

const SECRET = 'test-signing-secret';

/** Bolt/WebClient/SocketModeClient logger that keeps lines instead of printing them. */
function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  let level = LogLevel.DEBUG;
  const keep =
    (tag: string) =>
    (...msg: unknown[]): void => {
      lines.push(`${tag} ${msg.map(String).join(' ')}`);
    };
  return {
    lines,
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

const fastRetries = { retries: 2, minTimeout: 0, maxTimeout: 10 };

let fake: FakeSlack;
const apps: App[] = [];

beforeEach(async () => {
  fake = await startFakeSlack();
});

afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop().catch(() => {});
  await fake.close();
});

/** Bolt in HTTP mode on an ephemeral 127.0.0.1 port; returns the app and its base URL. */
async function startHttpApp(setup: (app: App) => void, retryConfig: webApi.RetryOptions = { retries: 0 }) {
  const app = new App({
    token: fake.ids.botToken,
    signingSecret: SECRET,
    logger: quietLogger(),
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig },
  });
  setup(app);
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  return { app, botUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('fake Web API', () => {
  it('answers the basic methods, checks tokens and records calls', async () => {
    const client = new webApi.WebClient(fake.ids.botToken, {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietLogger(),
    });
    const auth = await client.auth.test();
    expect(auth).toMatchObject({ ok: true, team_id: 'T000TEST', user_id: 'U0BOT', bot_id: 'B0BOT' });

    const root = await client.chat.postMessage({
      channel: 'C1',
      text: 'root',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*root*' } }],
    });
    expect(root.ts).toMatch(/^\d+\.\d{6}$/);
    const rootTs = root.ts ?? '';
    const reply = await client.chat.postMessage({ channel: 'C1', thread_ts: rootTs, text: 'reply' });
    expect(Number(reply.ts)).toBeGreaterThan(Number(rootTs));
    await client.chat.update({ channel: 'C1', ts: reply.ts ?? '', text: 'reply (edited)' });
    await client.chat.postMessage({ channel: 'C1', thread_ts: 'other', text: 'elsewhere' });

    expect(fake.callsOf('chat.postMessage')[0]?.args.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*root*' } },
    ]);
    expect(fake.threadMessages('C1', rootTs).map((m) => m.text)).toEqual(['root', 'reply (edited)']);

    const link = await client.chat.getPermalink({ channel: 'C1', message_ts: reply.ts ?? '' });
    expect(link.permalink).toBe(
      `https://example.slack.com/archives/C1/p${(reply.ts ?? '').replace('.', '')}?thread_ts=${rootTs}&cid=C1`,
    );
    await client.reactions.add({ channel: 'C1', timestamp: rootTs, name: 'eyes' });
    expect(fake.reactions('C1', rootTs)).toEqual(['eyes']);
    expect(await client.users.info({ user: 'U9' })).toMatchObject({ user: { id: 'U9', is_bot: false } });

    await expect(client.apiCall('nope.method')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
    expect(fake.callsOf('nope.method')).toHaveLength(1);

    fake.failNext('chat.postMessage', 'channel_not_found');
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
      data: { error: 'channel_not_found' },
    });
    await client.chat.postMessage({ channel: 'C1', text: 'works again' });

    const wrong = new webApi.WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(wrong.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });

  it('waitFor rejects with the recorded calls listed', async () => {
    const client = new webApi.WebClient(fake.ids.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await client.chat.postMessage({ channel: 'C1', text: 'hello' });
    await expect(fake.waitFor((c) => c.method === 'chat.delete', 50)).rejects.toThrow(/chat\.postMessage .*"hello"/);
    const later = fake.waitFor((c) => c.method === 'reactions.add', 1000);
    await client.reactions.add({ channel: 'C1', timestamp: '1.000001', name: 'eyes' });
    expect((await later).args).toMatchObject({ name: 'eyes' });
  });
});

describe('Bolt in HTTP mode', () => {
  it('delivers a signed app_mention and the threaded reply shows up', async () => {
    const { botUrl } = await startHttpApp((app) => {
      app.event('app_mention', async ({ event, client }) => {
        await client.chat.postMessage({
          channel: event.channel,
          thread_ts: event.thread_ts ?? event.ts,
          text: 'on it',
        });
      });
    });
    const event = mentionEvent({ channel: 'C1', text: '<@U0BOT> fix the bug', ts: nextTs() });
    const res = await sendEvent(botUrl, SECRET, event);
    expect(res.status).toBe(200);

    const call = await fake.waitFor((c) => c.method === 'chat.postMessage');
    expect(call.args).toMatchObject({ channel: 'C1', thread_ts: event.ts, text: 'on it' });
    expect(fake.threadMessages('C1', String(event.ts)).map((m) => m.text)).toEqual(['on it']);
  });

  it('passes retry headers and answers url_verification', async () => {
    const seen: Array<number | undefined> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.event('message', async ({ context }) => {
        seen.push(context.retryNum);
      });
    });
    expect((await sendEvent(botUrl, SECRET, messageEvent({ channel: 'C1' }), { retryNum: 1 })).status).toBe(200);
    await expect.poll(() => seen).toEqual([1]);
    expect((await sendUrlVerification(botUrl, SECRET, 'abc')).json).toEqual({ challenge: 'abc' });
  });

  it('rejects bad signatures and stale timestamps with 401', async () => {
    let called = false;
    const { botUrl } = await startHttpApp((app) => {
      app.event('app_mention', async () => {
        called = true;
      });
    });
    expect((await sendEvent(botUrl, SECRET, mentionEvent(), { wrongSecret: 'nope' })).status).toBe(401);
    expect((await sendEvent(botUrl, SECRET, mentionEvent(), { staleTimestamp: true })).status).toBe(401);
    const body = JSON.stringify({ type: 'event_callback', event: mentionEvent() });
    const headers = { 'Content-Type': 'application/json', ...signatureHeaders(SECRET, `${body} `) };
    expect((await sendRaw(botUrl, body, headers)).status).toBe(401);
    expect(called).toBe(false);
  });

  it('acks a slash command and its respond() lands in fake.responses', async () => {
    const { botUrl } = await startHttpApp((app) => {
      app.command('/ai-dev', async ({ command, ack, respond }) => {
        await ack();
        await respond({ text: `got: ${command.text}`, response_type: 'ephemeral' });
      });
    });
    const res = await sendCommand(botUrl, SECRET, {
      text: 'status 42',
      user_id: 'U1',
      channel_id: 'C1',
      response_url: fake.responseUrl('cmd-1'),
    });
    expect(res.status).toBe(200);
    const response = await fake.waitForResponse((r) => r.id === 'cmd-1');
    expect(response).toMatchObject({ text: 'got: status 42', response_type: 'ephemeral' });
  });

  it('routes a block action to app.action', async () => {
    const clicks: Array<{ value: string | undefined; user: string; thread?: string }> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.action('cancel', async ({ ack, body, action }) => {
        await ack();
        const message = 'message' in body ? (body.message as { thread_ts?: string } | undefined) : undefined;
        clicks.push({
          value: 'value' in action ? action.value : undefined,
          user: body.user.id,
          ...(message?.thread_ts ? { thread: message.thread_ts } : {}),
        });
      });
    });
    const res = await sendBlockAction(botUrl, SECRET, {
      user: 'U1',
      channel: 'C1',
      message_ts: '1700000000.000200',
      thread_ts: '1700000000.000100',
      action_id: 'cancel',
      value: 'run-7',
      response_url: fake.responseUrl(),
    });
    expect(res.status).toBe(200);
    await expect.poll(() => clicks).toEqual([{ value: 'run-7', user: 'U1', thread: '1700000000.000100' }]);
  });
});

describe('Bolt in Socket Mode', () => {
  it('connects through apps.connections.open, acks a command and receives events', async () => {
    const logger = quietLogger();
    const mentions: Array<{ text: string; retryNum: number | undefined }> = [];
    const app = new App({
      token: fake.ids.botToken,
      appToken: fake.ids.appToken,
      socketMode: true,
      logger,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    app.command('/ai-dev', async ({ ack, respond, command }) => {
      await ack({ text: 'working' });
      await respond(`done: ${command.text}`);
    });
    app.event('app_mention', async ({ event, context }) => {
      mentions.push({ text: event.text, retryNum: context.retryNum });
    });
    await app.start();
    apps.push(app);
    await fake.socket.connected();

    const open = fake.callsOf('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]?.token).toBe(fake.ids.appToken);

    const ack = await fake.socket.sendEnvelope(
      'slash_commands',
      { command: '/ai-dev', text: 'status', user_id: 'U1', channel_id: 'C1', response_url: fake.responseUrl('sm') },
      { retryAttempt: 0 },
    );
    expect(ack.payload).toEqual({ text: 'working' });
    expect(await fake.waitForResponse((r) => r.id === 'sm')).toMatchObject({ text: 'done: status' });

    const eventAck = await fake.socket.sendEvent(mentionEvent({ text: '<@U0BOT> hi there' }));
    expect(eventAck.envelope_id).toMatch(/^env-/);
    await fake.socket.sendEnvelope('events_api', eventCallbackBody(mentionEvent({ text: 'again' })), {
      retryAttempt: 2,
      retryReason: 'timeout',
    });
    await expect
      .poll(() => mentions)
      .toEqual([
        { text: '<@U0BOT> hi there', retryNum: 0 },
        { text: 'again', retryNum: 2 },
      ]);
    expect(logger.lines.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('reconnects after a disconnect message (custom receiver for a short reconnect delay)', async () => {
    const logger = quietLogger();
    const clientOptions = { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } };
    const app = new App({
      token: fake.ids.botToken,
      logger,
      clientOptions,
      // App options cannot set clientPingTimeout (the reconnect delay, 5 s by default); a custom receiver can.
      // A custom receiver does not get App's clientOptions: pass them again for apps.connections.open.
      receiver: new SocketModeReceiver({
        appToken: fake.ids.appToken,
        logger,
        clientPingTimeout: 300,
        installerOptions: { clientOptions },
      }),
    });
    const seen: string[] = [];
    app.event('app_mention', async ({ event }) => {
      seen.push(event.text);
    });
    await app.start();
    apps.push(app);
    fake.socket.disconnect();
    await expect.poll(() => fake.socket.connectionCount).toBe(2);
    await fake.socket.connected();
    await fake.socket.sendEvent(mentionEvent({ text: 'after reconnect' }));
    await expect.poll(() => seen).toEqual(['after reconnect']);
    expect(fake.callsOf('apps.connections.open')).toHaveLength(2);
  });
});

describe('rate limits', () => {
  it('a 429 with Retry-After on chat.postMessage is retried by the WebClient and recorded', async () => {
    const { botUrl } = await startHttpApp((app) => {
      app.event('app_mention', async ({ event, client }) => {
        await client.chat.postMessage({ channel: event.channel, thread_ts: event.ts, text: 'after the limit' });
      });
    }, fastRetries);
    fake.rateLimit({ method: 'chat.postMessage', times: 1, retryAfterSeconds: 1 });
    const started = Date.now();
    await sendEvent(botUrl, SECRET, mentionEvent({ channel: 'C1' }));
    await fake.waitFor((c) => c.method === 'chat.postMessage' && c.status === 200, 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.callsOf('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    expect(fake.rateLimited).toBe(1);
  });

  it('the per-channel chat.postMessage limit answers 429 and counts it', async () => {
    await fake.close();
    fake = await startFakeSlack({ postMessagePerSecondPerChannel: 1 });
    const client = new webApi.WebClient(fake.ids.botToken, {
      slackApiUrl: fake.apiUrl,
      rejectRateLimitedCalls: true,
      logger: quietLogger(),
    });
    await client.chat.postMessage({ channel: 'C1', text: 'one' });
    await client.chat.postMessage({ channel: 'C2', text: 'other channel' });
    await expect(client.chat.postMessage({ channel: 'C1', text: 'two' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 1,
    });
    expect(fake.rateLimited).toBe(1);
    expect(fake.messages.map((m) => m.text)).toEqual(['one', 'other channel']);
  });
});
