import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { type RunningBot, startBot } from '../../src/wiring.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';
import { freePort } from '../helpers/free-port.js';

describe('Socket Mode', () => {
  let slack: FakeSlack;
  let github: FakeGitHub;
  let bot: RunningBot;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    [slack, github] = await Promise.all([startFakeSlack(), startFakeGitHub()]);
    await github.addRepo({ owner: 'acme', name: 'widgets' });
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-socket-'));
    port = await freePort();
    const parsed = parseConfig({
      SLACK_BOT_TOKEN: slack.ids.botToken,
      SLACK_APP_TOKEN: slack.ids.appToken,
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      OPENAI_API_KEY: 'sk-test-unused-000000000000',
      GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      SANDBOX_PROVIDER: 'local',
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      MIRROR_DIR: join(dir, 'mirrors'),
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    bot = await startBot(parsed.config, {
      logDestination: new PassThrough().resume(),
      slackClientOptions: { retryConfig: { retries: 0 } },
    });
    await slack.socket.connected();
  });
  afterAll(async () => {
    // The app first: a socket client whose server vanishes tries to reconnect.
    await bot?.stop();
    await Promise.all([slack?.close(), github?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with the app token and links a repo from a slash command envelope', async () => {
    expect(slack.callsOf('apps.connections.open').length).toBeGreaterThan(0);
    const responseUrl = slack.responseUrl('sock1');
    const ack = await slack.socket.sendCommand({
      command: '/ai-dev',
      text: 'link acme/widgets',
      channel_id: 'C0SOCK',
      user_id: 'U0USER',
      response_url: responseUrl,
    });
    expect(JSON.stringify(ack.payload)).toContain('Checking *acme/widgets*');
    const response = await slack.waitForResponse((r) => r.id === 'sock1', 5000);
    expect(response.response_type).toBe('in_channel');
    expect(response.text).toContain('linked *acme/widgets*');
  });

  it('answers GET /healthz on PORT', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
