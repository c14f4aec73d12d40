import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';
import { freePort } from '../helpers/free-port.js';
import { MAIN, startProcess } from '../helpers/process.js';

describe('the bot names what is wrong at start', () => {
  let dir: string;
  let slack: FakeSlack;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-start-'));
    slack = await startFakeSlack();
    env = {
      SLACK_BOT_TOKEN: slack.ids.botToken,
      SLACK_APP_TOKEN: slack.ids.appToken,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_API_KEY: 'sk-test-0000000000000000',
      GITHUB_TOKEN: 'ghp_test_token_0123456789',
      SANDBOX_PROVIDER: 'local',
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      MIRROR_DIR: join(dir, 'mirrors'),
      PORT: String(await freePort()),
    };
  });
  afterAll(async () => {
    await slack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a wrong bot token: SLACK_BOT_TOKEN, from auth.test', async () => {
    const result = await startProcess(MAIN, [], { ...env, SLACK_BOT_TOKEN: 'xoxb-wrong-but-well-formed' }, dir).exit;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /ai-dev failed to start: Slack refused SLACK_BOT_TOKEN \(invalid_auth\): copy the Bot User OAuth Token/,
    );
    expect(result.stderr).not.toContain('SLACK_APP_TOKEN');
    expect(result.stderr).not.toContain('xoxb-wrong-but-well-formed');
  });

  it('a wrong app token: SLACK_APP_TOKEN, from apps.connections.open', async () => {
    const result = await startProcess(MAIN, [], { ...env, SLACK_APP_TOKEN: 'xapp-wrong-but-well-formed' }, dir).exit;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /ai-dev failed to start: Slack refused SLACK_APP_TOKEN \(invalid_auth\): generate an app-level token with the connections:write scope/,
    );
    expect(result.stderr).not.toContain('SLACK_BOT_TOKEN');
    expect(result.stderr).not.toContain('xapp-wrong-but-well-formed');
  });

  it('Slack unreachable: exits naming the URL it tried, without the SDK’s half-hour of retries', async () => {
    const closed = await freePort();
    const url = `http://127.0.0.1:${closed}/api/`;
    const result = await startProcess(MAIN, [], { ...env, SLACK_API_URL: url }, dir).exit;
    console.info(`Slack refused connections: the bot exited after ${result.ms} ms`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not reach Slack at ${url}auth.test (ECONNREFUSED)`);
  });
});
