import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { type FakeSlack, sendCommand, startFakeSlack } from '../fakes/slack-server.js';
import { freePort } from '../helpers/free-port.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bot's entry point as `npm start` does (through tsx, skipping the build). */
function startProcess(env: Record<string, string>, cwd: string): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, ['--import', TSX, MAIN], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exit = new Promise<Exit>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, exit };
}

describe('the bot process', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-process-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start without its configuration, naming every problem', async () => {
    const { exit } = startProcess({ PORT: 'x', SANDBOX_PROVIDER: 'docker' }, dir);
    const result = await exit;
    expect(result.code).not.toBe(0);
    for (const expected of [
      'SLACK_BOT_TOKEN is missing',
      'SLACK_SIGNING_SECRET is missing',
      'OPENAI_API_KEY is missing',
      'GITHUB_TOKEN is missing',
      'PORT must be a whole number',
      'SANDBOX_PROVIDER must be e2b or local',
    ]) {
      expect(result.stderr).toContain(expected);
    }
  });

  it('reads a .env file in its working directory', async () => {
    const envDir = join(dir, 'with-env');
    await (await import('node:fs/promises')).mkdir(envDir);
    await writeFile(join(envDir, '.env'), 'SLACK_BOT_TOKEN=not-a-bot-token\n');
    const result = await startProcess({}, envDir).exit;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('SLACK_BOT_TOKEN must be a bot token starting with xoxb-');
  });

  it('fails clearly when Slack rejects the bot token', async () => {
    const slack = await startFakeSlack();
    try {
      const result = await startProcess(
        {
          SLACK_BOT_TOKEN: 'xoxb-wrong-token-000',
          SLACK_SIGNING_SECRET: 'secret-0123456789',
          SLACK_API_URL: slack.apiUrl,
          OPENAI_API_KEY: 'sk-test-0000000000000000',
          GITHUB_TOKEN: 'ghp_test_token_0123456789',
          SANDBOX_PROVIDER: 'local',
          STORE_URL: `sqlite://${join(dir, 'bad-token.sqlite')}`,
          MIRROR_DIR: join(dir, 'mirrors'),
          PORT: String(await freePort()),
        },
        dir,
      ).exit;
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/ai-dev failed to start: .*invalid_auth/);
      expect(result.stderr).not.toContain('xoxb-wrong-token-000');
    } finally {
      await slack.close();
    }
  });

  it('starts, links a repo from a signed /ai-dev link acme/widgets, and stops on SIGTERM', async () => {
    const [slack, github]: [FakeSlack, FakeGitHub] = await Promise.all([startFakeSlack(), startFakeGitHub()]);
    await github.addRepo({ owner: 'acme', name: 'widgets' });
    const port = await freePort();
    const secret = 'process-signing-secret-0123';
    const { child, exit } = startProcess(
      {
        SLACK_BOT_TOKEN: slack.ids.botToken,
        SLACK_SIGNING_SECRET: secret,
        SLACK_API_URL: slack.apiUrl,
        OPENAI_API_KEY: 'sk-test-0000000000000000',
        GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
        GITHUB_API_URL: github.apiUrl,
        GITHUB_SERVER_URL: github.serverUrl,
        SANDBOX_PROVIDER: 'local',
        STORE_URL: `sqlite://${join(dir, 'nested', 'data', 'bot.sqlite')}`,
        MIRROR_DIR: join(dir, 'mirrors'),
        PORT: String(port),
      },
      dir,
    );
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ack = await sendCommand(`http://127.0.0.1:${port}`, secret, {
        command: '/ai-dev',
        text: 'link acme/widgets',
        user_id: 'U0USER',
        channel_id: 'C0PROC',
        response_url: slack.responseUrl('proc1'),
      });
      expect(ack.status).toBe(200);
      const response = await slack.waitForResponse((r) => r.id === 'proc1', 10_000);
      expect(response.text).toContain('linked *acme/widgets*');
      child.kill('SIGTERM');
      const result = await exit;
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('ai-dev is running');
    } finally {
      child.kill('SIGKILL');
      await Promise.all([slack.close(), github.close()]);
    }
  });
});
