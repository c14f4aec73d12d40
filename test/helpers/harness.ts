import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../../src/config/config.js';
import { type BotOverrides, type RunningBot, startBot } from '../../src/wiring.js';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import {
  DEFAULT_FAKE_GITHUB_TOKEN,
  type FakeGitHub,
  type FakeGitHubOptions,
  startFakeGitHub,
} from '../fakes/github-server.js';
import { checkOpenAIAfterEach as checkFakeAfterEach, perTestCheck } from '../fakes/openai/test-checks.js';
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai-server.js';
import {
  DEFAULT_IDS,
  externalUser,
  type FakeSlack,
  type InboundResponse,
  mentionEvent,
  messageEvent,
  nextTs,
  type RecordedResponse,
  sendBlockAction,
  sendCommand,
  sendEvent,
  startFakeSlack,
} from '../fakes/slack-server.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';

export interface Harness {
  slack: FakeSlack;
  github: FakeGitHub;
  openai: FakeOpenAI;
  e2b: FakeE2B | undefined;
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
  /** A message in the channel that mentions the bot (both twin events, like Slack sends them). */
  mention(
    text: string,
    options?: { channel?: string; user?: string; threadTs?: string; userTeam?: string },
  ): Promise<string>;
  /** A plain reply in a thread (only the `message` event). */
  reply(threadTs: string, text: string, options?: { channel?: string; user?: string }): Promise<string>;
  /** The bot's messages in a thread, oldest first. */
  thread(threadTs: string, channel?: string): Array<{ ts: string; text: string }>;
  /** Waits for the thread's terminal message (a run-end), newest run. */
  waitForEnd(threadTs: string, count?: number, channel?: string, timeoutMs?: number): Promise<string>;
  /** Clicks a button (Stop, Continue) whose value is the thread key. */
  click(
    actionId: string,
    threadTs: string,
    options?: { channel?: string; user?: string; value?: string; userTeam?: string },
  ): Promise<InboundResponse>;
  restart(extraEnv?: Record<string, string>, overrides?: BotOverrides): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Which sandbox provider the bot uses; `e2b` runs against the loopback E2B fake. */
  sandbox?: 'local' | 'e2b';
  idleSweep?: { idleMs: number; intervalMs: number };
  /** More of what tests set beside the configuration (CI polling timing, where the Restate endpoint listens …). */
  overrides?: BotOverrides;
  /** Options of the GitHub fake (`app` for GitHub App mode; then set GITHUB_TOKEN to '' in `env`). */
  github?: FakeGitHubOptions;
}

/**
 * Fails each test that leaves the OpenAI fake with a problem, then clears it. `startHarness` already does this for
 * every test that uses the harness; call this next to the `beforeAll` to cover the other tests of a describe too.
 */
export function checkOpenAIAfterEach(harness: () => Harness | undefined): void {
  checkFakeAfterEach(() => harness()?.openai);
}

/**
 * Fakes of Slack, GitHub and OpenAI on loopback, and the real bot (HTTP mode) pointed at them. Under vitest, a test
 * that uses the harness (or scripts the OpenAI fake) fails if it leaves the fake with a step error, an unconsumed
 * step, an unexpected call or a refused request; the next test then starts clean.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  let fake: FakeOpenAI | undefined;
  const arm = perTestCheck(() => fake);
  const [slack, github, openai] = await Promise.all([
    startFakeSlack(),
    startFakeGitHub(options.github),
    startFakeOpenAI({ onScript: () => arm() }),
  ]);
  fake = openai;
  const dir = await mkdtemp(join(tmpdir(), 'ai-dev-flow-'));
  const e2b = options.sandbox === 'e2b' ? await startFakeE2B({ rootDir: join(dir, 'e2b') }) : undefined;
  const sandboxEnv: Record<string, string> = e2b
    ? { SANDBOX_PROVIDER: 'e2b', E2B_API_KEY: e2b.apiKey, E2B_API_URL: e2b.apiUrl, E2B_SANDBOX_URL: e2b.sandboxUrl }
    : { SANDBOX_PROVIDER: 'local' };
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: slack.ids.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.url,
    GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
    GITHUB_API_URL: github.apiUrl,
    GITHUB_SERVER_URL: github.serverUrl,
    ...sandboxEnv,
    STORE_URL: `sqlite://${join(dir, 'store', 'bot.sqlite')}`,
    MIRROR_DIR: join(dir, 'mirrors'),
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  let logText = '';
  const boot = async (extra: Record<string, string> = {}, more: BotOverrides = {}) => {
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
      slackPostIntervalMs: 20,
      // The status card's edits come quickly, so a run's end does not wait 2 s for its last edit.
      cardIntervalMs: 50,
      // GitHub's write spacing would make every publish take seconds; its retries are the publish's own here.
      github: { throttle: false, retries: 0 },
      ...(options.idleSweep ? { idleSweep: options.idleSweep } : {}),
      ...options.overrides,
      ...more,
    });
  };
  const harness: Harness = {
    slack,
    github,
    openai,
    e2b,
    dir,
    env,
    bot: await boot(),
    botUrl: '',
    logs: () => logText,
    async command(text, opts = {}) {
      arm();
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
    async mention(text, opts = {}) {
      arm();
      const ts = nextTs();
      const base = { channel: opts.channel ?? DEFAULT_IDS.channelId, user: opts.user ?? DEFAULT_IDS.userId, ts };
      const fields = {
        ...base,
        text: `<@${DEFAULT_IDS.botUserId}> ${text}`,
        thread_ts: opts.threadTs,
        ...(opts.userTeam ? externalUser(opts.userTeam) : {}),
      };
      // Slack sends a mention in a channel we also read as two events with different ids.
      await Promise.all([
        sendEvent(harness.botUrl, SIGNING_SECRET, mentionEvent(fields)),
        sendEvent(harness.botUrl, SIGNING_SECRET, messageEvent(fields)),
      ]);
      return ts;
    },
    async reply(threadTs, text, opts = {}) {
      arm();
      const ts = nextTs();
      await sendEvent(
        harness.botUrl,
        SIGNING_SECRET,
        messageEvent({
          channel: opts.channel ?? DEFAULT_IDS.channelId,
          user: opts.user ?? DEFAULT_IDS.userId,
          ts,
          thread_ts: threadTs,
          text,
        }),
      );
      return ts;
    },
    thread(threadTs, channel = DEFAULT_IDS.channelId) {
      return slack.threadMessages(channel, threadTs).map((m) => ({ ts: m.ts, text: m.text ?? '' }));
    },
    async waitForEnd(threadTs, count = 1, channel = DEFAULT_IDS.channelId, timeoutMs = 30_000) {
      arm();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const ends = harness.thread(threadTs, channel).filter((m) => TERMINAL.test(m.text));
        const end = ends[count - 1];
        if (end && !harness.bot.coordinator.isRunning(channel, threadTs)) return end.text;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(
        `no terminal message #${count} in thread ${threadTs}; thread so far:\n${harness
          .thread(threadTs, channel)
          .map((m) => m.text)
          .join('\n---\n')}\nlogs:\n${logText.slice(-4000)}`,
      );
    },
    click(actionId, threadTs, opts = {}) {
      arm();
      const channel = opts.channel ?? DEFAULT_IDS.channelId;
      return sendBlockAction(harness.botUrl, SIGNING_SECRET, {
        user: opts.user ?? DEFAULT_IDS.userId,
        channel,
        message_ts: threadTs,
        thread_ts: threadTs,
        action_id: actionId,
        value: opts.value ?? `${channel}:${threadTs}`,
        response_url: slack.responseUrl(),
        ...(opts.userTeam ? { user_team_id: opts.userTeam } : {}),
      });
    },
    async restart(extraEnv = {}, overrides = {}) {
      arm();
      await harness.bot.stop();
      harness.bot = await boot(extraEnv, overrides);
      harness.botUrl = `http://127.0.0.1:${harness.bot.httpPort}`;
    },
    async close() {
      await harness.bot.stop();
      await Promise.all([slack.close(), github.close(), openai.close(), e2b?.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  harness.botUrl = `http://127.0.0.1:${harness.bot.httpPort}`;
  return harness;
}

/** The first words of every terminal message (outcome-text). */
const TERMINAL =
  /^(:white_check_mark: ((Opened|Updated) pull request|Pull requests of this run)|:speech_balloon: No changes needed|:octagonal_sign: Stopped|:double_vertical_bar: Budget reached|:x: The run failed|:raised_hand: Waiting for an approval)/;

/** The text of an ack body (Bolt answers a slash command ack with JSON). */
export function ackText(ack: InboundResponse): string {
  const json = ack.json as { text?: string } | undefined;
  return json?.text ?? ack.body;
}
