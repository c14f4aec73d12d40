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

/** Polls GET /readyz until its status is `want`; answers the last body. */
async function readyzBecomes(port: number, want: number, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last: { status: number; body: Record<string, unknown> } | undefined;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    last = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    if (last.status === want) return last.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`/readyz never answered ${want}; last ${JSON.stringify(last)}`);
}

describe('/readyz follows the Socket Mode connection', () => {
  let slack: FakeSlack;
  let github: FakeGitHub;
  let bot: RunningBot;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    [slack, github] = await Promise.all([startFakeSlack(), startFakeGitHub()]);
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-readyz-'));
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
    await slack?.socket.connected().catch(() => {});
    await bot?.stop();
    await Promise.all([slack?.close(), github?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('is ready once connected: Slack and the store both ok', async () => {
    const body = await readyzBecomes(port, 200);
    expect(body).toEqual({ ready: true, checks: { slack: 'ok', store: 'ok' } });
    // Alive either way.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  });

  it('goes unready when the connection drops, and ready again after the reconnect', async () => {
    const connections = slack.socket.connectionCount;
    slack.socket.drop();
    const down = await readyzBecomes(port, 503);
    expect(down).toEqual({ ready: false, checks: { slack: 'the Socket Mode connection is down', store: 'ok' } });
    // /healthz still says the process is alive.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await readyzBecomes(port, 200);
    expect(slack.socket.connectionCount).toBeGreaterThan(connections);
    await slack.socket.connected();
  });

  it('goes unready when Slack asks the client to reconnect, and ready again', async () => {
    slack.socket.disconnect('refresh_requested');
    await readyzBecomes(port, 503);
    await readyzBecomes(port, 200);
    await slack.socket.connected();
  });

  it('serves /metrics in Socket Mode too, counting apps.connections.open', async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^ai_dev_slack_api_calls_total\{method="apps\.connections\.open"\} [3-9]/m);
    expect(text).toMatch(/^ai_dev_slack_api_calls_total\{method="auth\.test"\} \d/m);
  });
});
