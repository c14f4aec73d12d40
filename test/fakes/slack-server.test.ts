import type { AddressInfo } from 'node:net';
import { App, type Logger, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appHomeOpenedEvent,
  eventCallbackBody,
  externalUser,
  type FakeSlack,
  MANIFEST_BOT_SCOPES,
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

function webClient(logger: Logger = quietLogger(), options: webApi.WebClientOptions = {}) {
  return new webApi.WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logger,
    ...options,
  });
}

describe('message history and the chat.update limit', () => {
  it('keeps every version of a message: post, updates, delete', async () => {
    const client = webClient();
    const root = await client.chat.postMessage({ channel: 'C1', text: 'v1' });
    const ts = root.ts ?? '';
    await client.chat.update({ channel: 'C1', ts, text: 'v2', blocks: [{ type: 'divider' }] });
    await client.chat.update({ channel: 'C1', ts, text: 'v3' });
    await client.chat.delete({ channel: 'C1', ts });
    expect(
      fake.messageHistory('C1', ts).map(({ via, text, blocks, deleted }) => ({ via, text, blocks, deleted })),
    ).toEqual([
      { via: 'chat.postMessage', text: 'v1', blocks: undefined, deleted: undefined },
      { via: 'chat.update', text: 'v2', blocks: [{ type: 'divider' }], deleted: undefined },
      { via: 'chat.update', text: 'v3', blocks: [{ type: 'divider' }], deleted: undefined },
      { via: 'chat.delete', text: 'v3', blocks: [{ type: 'divider' }], deleted: true },
    ]);
    expect(fake.message('C1', ts)).toBeUndefined();
  });

  it('refuses to update or delete somebody else’s message, and an update with nothing in it', async () => {
    const client = webClient();
    const theirs = fake.addMessage({ channel: 'C1', text: 'a user wrote this' });
    await expect(client.chat.update({ channel: 'C1', ts: theirs.ts, text: 'mine now' })).rejects.toMatchObject({
      data: { error: 'cant_update_message' },
    });
    await expect(client.chat.delete({ channel: 'C1', ts: theirs.ts })).rejects.toMatchObject({
      data: { error: 'cant_delete_message' },
    });
    const ours = await client.chat.postMessage({ channel: 'C1', text: 'ours' });
    await expect(client.apiCall('chat.update', { channel: 'C1', ts: ours.ts })).rejects.toMatchObject({
      data: { error: 'no_text' },
    });
    expect(fake.messageHistory('C1', theirs.ts).map((v) => v.text)).toEqual(['a user wrote this']);
  });

  it('the optional Tier-3 chat.update limit answers 429 with Retry-After, across channels', async () => {
    const client = webClient(quietLogger(), { rejectRateLimitedCalls: true });
    const a = await client.chat.postMessage({ channel: 'C1', text: 'a' });
    const b = await client.chat.postMessage({ channel: 'C2', text: 'b' });
    await client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a1' }); // off by default
    fake.setChatUpdateLimit({ limit: 2 });
    await client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a2' });
    await client.chat.update({ channel: 'C2', ts: b.ts ?? '', text: 'b1' });
    await expect(client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a3' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      retryAfter: 60,
    });
    expect(fake.message('C1', a.ts ?? '')?.text).toBe('a2');
    fake.setChatUpdateLimit({ limit: 1, windowMs: 50, retryAfterSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a3' });
    await expect(client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a4' })).rejects.toMatchObject({
      retryAfter: 1,
    });
    fake.setChatUpdateLimit(undefined);
    await client.chat.update({ channel: 'C1', ts: a.ts ?? '', text: 'a4' });
    expect(fake.rateLimited).toBe(2);
  });
});

describe('agent sessions', () => {
  it('creates on the first setStatus, ignores a later title (recorded) and keeps the status history', async () => {
    const client = webClient();
    await client.agents.sessions.setStatus({
      channel_id: 'C1',
      thread_ts: '1.000100',
      status: 'processing',
      title: 'Fix the date parser',
      initiator_user_id: 'U1',
    });
    await client.agents.sessions.setStatus({
      channel_id: 'C1',
      thread_ts: '1.000100',
      status: 'active',
      title: 'Other',
    });
    await client.agents.sessions.rename({ channel_id: 'C1', thread_ts: '1.000100', title: 'Fix dates (PR #7)' });
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: '1.000100', status: 'closed' });
    expect(fake.sessionStatuses('C1', '1.000100')).toEqual(['processing', 'active', 'closed']);
    expect(fake.agentSession('C1', '1.000100')).toMatchObject({
      title: 'Fix dates (PR #7)',
      initiatorUserId: 'U1',
      titles: [
        { title: 'Fix the date parser', via: 'create' },
        { title: 'Fix dates (PR #7)', via: 'rename' },
      ],
      ignored: [{ title: 'Other' }],
    });
    expect(fake.sessionStatuses('C1', '9.999999')).toEqual([]);
  });

  it('refuses bad statuses, over-long titles and renaming a session that does not exist', async () => {
    const client = webClient();
    const fails = (args: Record<string, unknown>, method = 'agents.sessions.setStatus') =>
      client.apiCall(method, args).then(
        () => undefined,
        (e: { data?: { error?: string } }) => e.data?.error,
      );
    expect(await fails({ channel_id: 'C1', thread_ts: '1.1', status: 'thinking' })).toBe('invalid_arguments');
    expect(await fails({ channel_id: 'C1', status: 'active' })).toBe('invalid_arguments');
    expect(await fails({ channel_id: 'C1', thread_ts: '1.1', status: 'active', title: 't'.repeat(201) })).toBe(
      'invalid_arguments',
    );
    expect(await fails({ channel_id: 'C1', thread_ts: '1.1', title: 'x' }, 'agents.sessions.rename')).toBe(
      'session_not_found',
    );
    await client.agents.sessions.setStatus({
      channel_id: 'C1',
      thread_ts: '1.1',
      status: 'active',
      title: 't'.repeat(200),
    });
    expect(await fails({ channel_id: 'C1', thread_ts: '1.1', title: '' }, 'agents.sessions.rename')).toBe(
      'invalid_arguments',
    );
    expect(fake.sessionStatuses('C1', '1.1')).toEqual(['active']);
  });

  it('warns about the missing agent_session_stopped subscription when told to', async () => {
    await fake.close();
    fake = await startFakeSlack({ agentSessionStoppedSubscription: false });
    const logger = quietLogger();
    const res = await webClient(logger).agents.sessions.setStatus({
      channel_id: 'C1',
      thread_ts: '1.1',
      status: 'processing',
    });
    expect(res).toMatchObject({ ok: true, warning: 'missing_agent_session_stopped_event_subscription' });
    // The WebClient logs each response_metadata warning (forEach: with index and array appended).
    expect(logger.lines).toContainEqual(
      expect.stringMatching(/^warn missing_agent_session_stopped_event_subscription/),
    );
    fake.setAgentSessionStoppedSubscription(true);
    expect(
      (await webClient().agents.sessions.setStatus({ channel_id: 'C1', thread_ts: '1.1', status: 'active' })).warning,
    ).toBeUndefined();
  });

  it('Stop sends agent_session_stopped over HTTP and stops the thread’s streams; stopStream can set the status', async () => {
    const stopped: Array<Record<string, unknown>> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.event('agent_session_stopped', async ({ event }) => {
        stopped.push(event as unknown as Record<string, unknown>);
      });
    });
    fake.setEventTarget({ botUrl, signingSecret: SECRET });
    const client = webClient();
    await client.agents.sessions.setStatus({ channel_id: 'C1', thread_ts: '1.000100', status: 'processing' });
    const stream = (await client.apiCall('chat.startStream', {
      channel: 'C1',
      thread_ts: '1.000100',
      markdown_text: 'Working',
    })) as { ts?: string };
    const delivery = await fake.stopAgentSession('C1', '1.000100', { user: 'U1' });
    expect(delivery).toMatchObject({ via: 'http', status: 200, echo: false });
    await expect.poll(() => stopped).toHaveLength(1);
    expect(stopped[0]).toMatchObject({
      type: 'agent_session_stopped',
      channel: 'C1',
      thread_ts: '1.000100',
      user: 'U1',
      streaming_message_ts: [stream.ts],
    });
    await expect(
      client.apiCall('chat.appendStream', { channel: 'C1', ts: stream.ts, markdown_text: ' more' }),
    ).rejects.toMatchObject({ data: { error: 'message_not_in_streaming_state' } });
    expect(fake.agentSession('C1', '1.000100')?.stops).toMatchObject([{ user: 'U1', streamingMessageTs: [stream.ts] }]);
    expect(fake.sessionStatuses('C1', '1.000100')).toEqual(['processing']); // moving on is the app's job

    const next = (await client.apiCall('chat.startStream', {
      channel: 'C1',
      thread_ts: '1.000100',
      markdown_text: 'x',
    })) as { ts?: string };
    await expect(
      client.apiCall('chat.stopStream', { channel: 'C1', ts: next.ts, session_status: 'done' }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await client.apiCall('chat.stopStream', { channel: 'C1', ts: next.ts, session_status: 'active' });
    expect(fake.sessionStatuses('C1', '1.000100')).toEqual(['processing', 'active']);
  });

  it('Stop reaches a Socket Mode app too', async () => {
    const app = new App({
      token: fake.ids.botToken,
      appToken: fake.ids.appToken,
      socketMode: true,
      logger: quietLogger(),
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    const seen: string[] = [];
    app.event('agent_session_stopped', async ({ event }) => {
      seen.push((event as unknown as { thread_ts: string }).thread_ts);
    });
    await app.start();
    apps.push(app);
    await fake.socket.connected();
    fake.setEventTarget('socket');
    const delivery = await fake.stopAgentSession('C1', '2.000200');
    expect(delivery).toMatchObject({ via: 'socket', status: 200 });
    expect(delivery.event).toMatchObject({ user: 'U0USER', streaming_message_ts: [] });
    await expect.poll(() => seen).toEqual(['2.000200']);
  });
});

describe('events real Slack also sends', () => {
  it('echoes the bot’s own posts (Bolt’s ignoreSelf drops them) and its edits (which pass ignoreSelf)', async () => {
    await fake.close();
    fake = await startFakeSlack({ echoBotMessages: true });
    const seen: Array<{ subtype?: string; user?: string; text?: string }> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.event('message', async ({ event }) => {
        const e = event as { subtype?: string; user?: string; text?: string };
        seen.push({
          ...(e.subtype ? { subtype: e.subtype } : {}),
          ...(e.user ? { user: e.user } : {}),
          text: e.text ?? '',
        });
      });
    });
    const client = webClient();
    await client.chat.postMessage({ channel: 'C1', text: 'before the target is set' }); // nowhere to echo
    fake.setEventTarget({ botUrl, signingSecret: SECRET });
    const posted = await client.chat.postMessage({ channel: 'C1', thread_ts: '1.000100', text: 'on it' });
    const echo = await fake.waitForDelivery((d) => d.echo && d.event.subtype === undefined);
    expect(echo).toMatchObject({
      status: 200,
      event: {
        type: 'message',
        user: 'U0BOT',
        bot_id: 'B0BOT',
        app_id: 'A0TEST',
        text: 'on it',
        thread_ts: '1.000100',
      },
    });
    await client.chat.update({ channel: 'C1', ts: posted.ts ?? '', text: 'done' });
    await client.chat.delete({ channel: 'C1', ts: posted.ts ?? '' });
    await fake.settled();
    expect(fake.deliveries.filter((d) => d.echo).map((d) => d.event.subtype)).toEqual([
      undefined,
      'message_changed',
      'message_deleted',
    ]);
    expect(fake.deliveries.find((d) => d.event.subtype === 'message_changed')?.event).toMatchObject({
      message: { text: 'done', user: 'U0BOT', bot_id: 'B0BOT', edited: { user: 'U0BOT' } },
      previous_message: { text: 'on it' },
    });
    await expect.poll(() => seen.map((s) => s.subtype)).toEqual(['message_changed', 'message_deleted']);
    fake.setEchoBotMessages(false);
    await client.chat.postMessage({ channel: 'C1', text: 'quiet' });
    await fake.settled();
    expect(fake.deliveries.filter((d) => d.echo)).toHaveLength(3);
  });

  it('another app’s post in a thread reaches the app in both shapes and shows in conversations.replies', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.event('message', async ({ event }) => {
        seen.push(event as unknown as Record<string, unknown>);
      });
    });
    fake.setEventTarget({ botUrl, signingSecret: SECRET });
    const client = webClient();
    const root = await client.chat.postMessage({ channel: 'C1', text: 'Working on acme/widgets' });
    const thread = root.ts ?? '';
    await fake.postAsOtherApp({ channel: 'C1', thread_ts: thread, text: 'CI failed' });
    await fake.postAsOtherApp({ channel: 'C1', thread_ts: thread, text: 'webhook says hi', style: 'bot_message' });
    await expect.poll(() => seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ user: 'U0OTHERBOT', bot_id: 'B0OTHER', app_id: 'A0OTHER', thread_ts: thread });
    expect(seen[0]?.subtype).toBeUndefined();
    expect(seen[1]).toMatchObject({ subtype: 'bot_message', bot_id: 'B0OTHER', username: 'other-app' });
    expect(seen[1]?.user).toBeUndefined();
    const replies = await client.conversations.replies({ channel: 'C1', ts: thread });
    expect(replies.messages?.map((m) => [m.text, m.bot_id, (m as { subtype?: string }).subtype])).toEqual([
      ['Working on acme/widgets', 'B0BOT', undefined],
      ['CI failed', 'B0OTHER', undefined],
      ['webhook says hi', 'B0OTHER', 'bot_message'],
    ]);
    expect(fake.threadMessages('C1', thread).map((m) => m.text)).toEqual(['Working on acme/widgets']);
  });

  it('app_home_opened leads to a recorded views.publish; Slack Connect fields reach the app', async () => {
    const connect: Array<Record<string, unknown>> = [];
    const { botUrl } = await startHttpApp((app) => {
      app.event('app_home_opened', async ({ event, client }) => {
        await client.views.publish({
          user_id: event.user,
          view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Hi <@${event.user}>` } }] },
        });
      });
      app.event('message', async ({ event, body }) => {
        connect.push({ ...(event as unknown as Record<string, unknown>), shared: body.is_ext_shared_channel });
      });
    });
    fake.setEventTarget({ botUrl, signingSecret: SECRET });
    await fake.sendEvent(appHomeOpenedEvent({ user: 'U7' }));
    await fake.waitFor((c) => c.method === 'views.publish');
    expect(fake.homeView('U7')?.view).toMatchObject({ type: 'home', blocks: [{ text: { text: 'Hi <@U7>' } }] });

    await fake.sendEvent(messageEvent({ channel: 'C1', user: 'U0EXT', text: 'from afar', ...externalUser() }), {
      isExtSharedChannel: true,
    });
    await expect.poll(() => connect).toHaveLength(1);
    expect(connect[0]).toMatchObject({
      user: 'U0EXT',
      team: 'T0EXTERNAL',
      user_team: 'T0EXTERNAL',
      source_team: 'T0EXTERNAL',
      shared: true,
    });
  });

  it('sendEvent without a target rejects; a failed delivery is recorded', async () => {
    await expect(fake.sendEvent(messageEvent())).rejects.toThrow(/no event target/);
    fake.setEventTarget({ botUrl: 'http://127.0.0.1:9', signingSecret: SECRET });
    await expect(fake.sendEvent(messageEvent())).rejects.toThrow();
    expect(fake.deliveries[0]?.error).toBeDefined();
  });
});

describe('users, scopes and tokens', () => {
  it('users.info answers the configured flags and team; unknown users get plain defaults', async () => {
    await fake.close();
    fake = await startFakeSlack({
      users: { U1: { real_name: 'Ada Admin', is_admin: true, is_owner: true }, U2: { is_restricted: true } },
    });
    fake.setUser('U3', { real_name: 'Ext Ernal', team_id: 'T0EXTERNAL' });
    const client = webClient();
    expect((await client.users.info({ user: 'U1' })).user).toMatchObject({
      id: 'U1',
      real_name: 'Ada Admin',
      is_admin: true,
      is_owner: true,
      is_restricted: false,
      team_id: 'T000TEST',
    });
    expect((await client.users.info({ user: 'U2' })).user).toMatchObject({ is_admin: false, is_restricted: true });
    expect((await client.users.info({ user: 'U3' })).user).toMatchObject({
      real_name: 'Ext Ernal',
      team_id: 'T0EXTERNAL',
    });
    expect((await client.users.info({ user: 'U9' })).user).toMatchObject({
      real_name: 'User U9',
      is_admin: false,
      is_owner: false,
      is_restricted: false,
      is_ultra_restricted: false,
    });
  });

  it('auth.test lists the granted scopes in x-oauth-scopes (default: manifest.yml’s)', async () => {
    const client = webClient();
    expect((await client.auth.test()).response_metadata?.scopes).toEqual([...MANIFEST_BOT_SCOPES]);
    fake.setScopes(['chat:write', 'assistant:write']);
    expect((await client.auth.test()).response_metadata?.scopes).toEqual(['chat:write', 'assistant:write']);
    await fake.close();
    fake = await startFakeSlack({ scopes: ['commands'] });
    expect((await webClient().auth.test()).response_metadata?.scopes).toEqual(['commands']);
  });

  it('users.conversations: a person’s channels, private ones only where the bot is too, refusing what Slack refuses', async () => {
    const client = webClient();
    fake.setChannel('C0PUB', { members: ['U0ANN'] });
    fake.setChannel('G0WITHBOT', { members: ['U0ANN', fake.ids.botUserId] });
    fake.setChannel('G0NOBOT', { members: ['U0ANN'] });
    fake.setChannel('C0OLD', { members: ['U0ANN'], archived: true });
    const ids = async (args: Record<string, unknown>) =>
      ((await client.users.conversations({ user: 'U0ANN', ...args })).channels ?? []).map((c) => c.id);
    expect(await ids({ types: 'public_channel,private_channel', exclude_archived: true })).toEqual([
      'C0PUB',
      'G0WITHBOT',
    ]);
    // The default type is public_channel only.
    expect(await ids({})).toEqual(['C0PUB', 'C0OLD']);

    const first = await client.users.conversations({ user: 'U0ANN', types: 'public_channel', limit: 1 });
    expect(first.channels?.map((c) => c.id)).toEqual(['C0PUB']);
    const cursor = first.response_metadata?.next_cursor ?? '';
    expect(cursor).not.toBe('');
    expect(await ids({ types: 'public_channel', limit: 1, cursor })).toEqual(['C0OLD']);

    const refused = (args: Record<string, unknown>) =>
      client.users.conversations({ user: 'U0ANN', ...args }).then(
        () => 'ok',
        (error: { data?: { error?: string } }) => error.data?.error,
      );
    expect(await refused({ limit: 1000 })).toBe('invalid_limit');
    expect(await refused({ limit: 0 })).toBe('invalid_limit');
    expect(await refused({ types: 'public_channel,dm' })).toBe('invalid_types');
    expect(await refused({ cursor: 'bm90LWEtY3Vyc29y' })).toBe('invalid_cursor');
    // A cursor belongs to its query.
    expect(await refused({ types: 'private_channel', limit: 1, cursor })).toBe('invalid_cursor');
    fake.setScopes(MANIFEST_BOT_SCOPES.filter((scope) => scope !== 'groups:read'));
    await expect(client.users.conversations({ user: 'U0ANN', types: 'private_channel' })).rejects.toMatchObject({
      data: { error: 'missing_scope', needed: 'groups:read' },
    });
    expect(await ids({ types: 'public_channel' })).toEqual(['C0PUB', 'C0OLD']);
  });

  it('apps.connections.open takes only the app token', async () => {
    const wrongApp = new webApi.WebClient('xapp-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(wrongApp.apps.connections.open()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    await expect(webClient().apps.connections.open()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    const right = new webApi.WebClient(fake.ids.appToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    expect((await right.apps.connections.open()).url).toBe(fake.socketUrl);
    // And the app token is no bot token.
    await expect(right.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
  });
});
