import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../../src/config/config.js';
import { type RunningBot, startBot } from '../../src/main.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai-server.js';
import {
  DEFAULT_IDS,
  type FakeSlack,
  type InboundResponse,
  type RecordedResponse,
  sendCommand,
  startFakeSlack,
} from '../fakes/slack-server.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';

export interface Harness {
  slack: FakeSlack;
  github: FakeGitHub;
  openai: FakeOpenAI;
  dir: string;
  env: Record<string, string>;
  bot: RunningBot;
  botUrl: string;
  logs: () => string;
  /** Sends `/ai-dev <text>` and returns the ack, plus the response_url post when one is expected. */
  command(
    text: string,
    options?: { user?: string; channel?: string; expectResponse?: boolean },
  ): Promise<{ ack: InboundResponse; response?: RecordedResponse }>;
  restart(extraEnv?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
}

/** Fakes of Slack, GitHub and OpenAI on loopback, and the real bot (HTTP mode) pointed at them. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const [slack, github, openai] = await Promise.all([startFakeSlack(), startFakeGitHub(), startFakeOpenAI()]);
  const dir = await mkdtemp(join(tmpdir(), 'ai-dev-flow-'));
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: slack.ids.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.url,
    GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
    GITHUB_API_URL: github.apiUrl,
    GITHUB_SERVER_URL: github.serverUrl,
    SANDBOX_PROVIDER: 'local',
    STORE_URL: `sqlite://${join(dir, 'store', 'bot.sqlite')}`,
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  let logText = '';
  const boot = async (extra: Record<string, string> = {}) => {
    const parsed = parseConfig({ ...env, ...extra });
    if (!parsed.ok) throw new Error(`harness config invalid: ${parsed.problems.join('; ')}`);
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => {
      logText += chunk.toString('utf8');
    });
    return startBot(parsed.config, {
      logDestination: stream,
      slackClientOptions: { retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 } },
      listen: { port: 0, host: '127.0.0.1' },
      localSandboxRoot: join(dir, 'sandboxes'),
    });
  };
  const harness: Harness = {
    slack,
    github,
    openai,
    dir,
    env,
    bot: await boot(),
    botUrl: '',
    logs: () => logText,
    async command(text, opts = {}) {
      const responseId = `R${Math.random().toString(36).slice(2, 10)}`;
      const ack = await sendCommand(harness.botUrl, SIGNING_SECRET, {
        command: '/ai-dev',
        text,
        user_id: opts.user ?? DEFAULT_IDS.userId,
        channel_id: opts.channel ?? DEFAULT_IDS.channelId,
        response_url: slack.responseUrl(responseId),
      });
      if (!opts.expectResponse) return { ack };
      const response = await slack.waitForResponse((r) => r.id === responseId, 5000);
      return { ack, response };
    },
    async restart(extraEnv = {}) {
      await harness.bot.stop();
      harness.bot = await boot(extraEnv);
      harness.botUrl = `http://127.0.0.1:${harness.bot.httpPort}`;
    },
    async close() {
      await harness.bot.stop();
      await Promise.all([slack.close(), github.close(), openai.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  harness.botUrl = `http://127.0.0.1:${harness.bot.httpPort}`;
  return harness;
}

/** The text of an ack body (Bolt answers a slash command ack with JSON). */
export function ackText(ack: InboundResponse): string {
  const json = ack.json as { text?: string } | undefined;
  return json?.text ?? ack.body;
}
