import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Octokit } from '@octokit/rest';
import type { App } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import OpenAI from 'openai';
import { AccessPolicy } from './access/access-policy.js';
import { OpenAIModel } from './agent/openai-model.js';
import { allTools } from './agent/tools/index.js';
import { type Config, parseConfig, secretValues } from './config/config.js';
import { readEnvironment } from './config/environment.js';
import { AppInstallationCredentials, type GitHubCredentials, StaticTokenCredentials } from './github/credentials.js';
import { GitHubPublisher } from './github/publisher.js';
import { RepoChecker } from './github/repo-checker.js';
import { errorMessage } from './lib/errors.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { RunCoordinator, threadKeyOf } from './runs/coordinator.js';
import { SandboxReaper } from './runs/sandbox-reaper.js';
import { InProcessThreadLock, RedisThreadLock } from './runs/thread-lock.js';
import { E2BSandboxProvider } from './sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from './sandbox/local-sandbox.js';
import type { SandboxProvider } from './sandbox/sandbox.js';
import { createSlackApp } from './slack/app.js';
import { registerCommand } from './slack/listeners/command.js';
import { registerMention } from './slack/listeners/mention.js';
import { registerRunButtons } from './slack/listeners/run-buttons.js';
import { registerThreadMessage } from './slack/listeners/thread-message.js';
import { PostQueues } from './slack/post-queue.js';
import { SlackReporter } from './slack/reporter.js';
import { EventLedger } from './store/event-ledger.js';
import { LinkStore } from './store/link-store.js';
import { openStore } from './store/open-store.js';
import { SandboxRegistry } from './store/sandbox-registry.js';
import { ThreadStore } from './store/thread-store.js';

export interface BotOverrides {
  /** Where log lines go (tests scan them for secrets). */
  logDestination?: NodeJS.WritableStream;
  slackClientOptions?: Partial<WebClientOptions>;
  /** Where the local sandbox provider makes its directories (tests keep them in their temp dir). */
  localSandboxRoot?: string;
  /** Least time between two thread replies in one channel (Slack allows about one a second). */
  slackPostIntervalMs?: number;
  /** The clock crash recovery judges a thread's age by (tests move it forward). */
  recoveryClock?: () => number;
  /** How often threads left running by a dead instance are looked for. */
  recoveryIntervalMs?: number;
  /** Idle sweep timing in ms (tests shorten SANDBOX_IDLE_MINUTES). */
  idleSweep?: { idleMs: number; intervalMs: number };
  /** HTTP mode: where to listen (tests bind 127.0.0.1 port 0). Default: all interfaces on PORT. */
  listen?: { port: number; host?: string };
}

export interface RunningBot {
  app: App;
  coordinator: RunCoordinator;
  threads: ThreadStore;
  logger: Logger;
  /** The HTTP port actually bound (HTTP mode), for tests that listen on port 0. */
  httpPort: number | undefined;
  stop(): Promise<void>;
}

/** The composition root: builds every client and service from the config and wires them. */
export async function startBot(config: Config, overrides: BotOverrides = {}): Promise<RunningBot> {
  const redact = createRedactor(secretValues(config));
  const logger = createLogger({ level: config.logLevel, redact, destination: overrides.logDestination });

  const octokitFor = (auth: string) =>
    new Octokit({
      auth,
      baseUrl: config.github.apiUrl,
      userAgent: 'ai-dev',
      log: {
        debug: () => {},
        info: () => {},
        warn: (m: string) => logger.warn(m),
        error: (m: string) => logger.error(m),
      },
    });
  const credentials: GitHubCredentials =
    config.github.auth.mode === 'token'
      ? new StaticTokenCredentials(config.github.auth.token)
      : new AppInstallationCredentials(config.github.auth, octokitFor);

  const store = await openStore(config.storeUrl, logger);
  const links = new LinkStore(store, logger);
  const access = new AccessPolicy(config.access);

  const app = createSlackApp({
    slack: config.slack,
    port: config.port,
    logger,
    clientOptions: overrides.slackClientOptions,
  });
  // Several bot instances share Redis: a thread runs on one of them at a time, and its record
  // is changed by one of them at a time.
  const lock = store.redisClient
    ? new RedisThreadLock(store.redisClient(), { namespace: store.namespace })
    : new InProcessThreadLock();
  const threads = new ThreadStore(store, logger, store.redisClient ? lock : undefined);
  const registry = new SandboxRegistry(store, logger);
  const provider: SandboxProvider =
    config.sandbox.provider === 'local'
      ? new LocalSandboxProvider(overrides.localSandboxRoot)
      : new E2BSandboxProvider({
          apiKey: config.sandbox.apiKey,
          template: config.sandbox.template,
          domain: config.sandbox.domain,
          apiUrl: config.sandbox.apiUrl,
          sandboxUrl: config.sandbox.sandboxUrl,
          lifecycle: config.limits.sandboxIdleAction,
          logger,
        });
  const openai = new OpenAI({
    apiKey: config.openai.apiKey,
    baseURL: config.openai.baseUrl,
    logger: openaiLogger(logger),
  });
  const queues = new PostQueues({ logger, minIntervalMs: overrides.slackPostIntervalMs ?? 1000 });
  let botUserId: string | undefined;
  const coordinator = new RunCoordinator({
    model: new OpenAIModel({
      client: openai,
      model: config.openai.model,
      reasoningEffort: config.openai.reasoningEffort,
      logger,
    }),
    tools: allTools,
    provider,
    credentials,
    publisher: new GitHubPublisher({ credentials, octokitFor, logger }),
    threads,
    registry,
    lock,
    recoveryGraceMs: store.redisClient ? undefined : 0,
    recoveryClock: overrides.recoveryClock,
    // Only several instances (Redis) can have a Stop pressed on one while another runs the thread.
    stopPollMs: store.redisClient ? 1_500 : undefined,
    limits: config.limits,
    githubServerUrl: config.github.serverUrl,
    logger,
    redact,
    reporterFor: (channel, threadTs) =>
      new SlackReporter({
        client: app.client,
        channel,
        threadTs,
        redact,
        logger,
        queue: queues.forChannel(channel),
        threadKey: threadKeyOf(channel, threadTs),
      }),
    threadInfo: async (channel, threadTs, user) => {
      const [permalink, name] = await Promise.all([
        app.client.chat
          .getPermalink({ channel, message_ts: threadTs })
          .then((r) => r.permalink)
          .catch(() => undefined),
        app.client.users
          .info({ user })
          .then((r) => r.user?.real_name || r.user?.name)
          .catch(() => undefined),
      ]);
      return { permalink, requester: name ? `${name} (<@${user}>)` : `<@${user}>` };
    },
  });

  const idleMs = overrides.idleSweep?.idleMs ?? config.limits.sandboxIdleMinutes * 60_000;
  const reaper = new SandboxReaper({
    registry,
    provider,
    idleMs,
    mode: config.limits.sandboxIdleAction,
    isRunning: (channel, threadTs) => coordinator.isRunning(channel, threadTs),
    logger,
  });

  registerCommand(app, {
    links,
    repoChecker: new RepoChecker(credentials, octokitFor),
    access,
    githubServerUrl: config.github.serverUrl,
    logger,
    activeThreads: async (channel) => {
      const active = await threads.active(channel);
      return active.map((t) => ({
        repo: t.repos.map((r) => r.repo).join(', '),
        state: t.status === 'running' ? 'working' : 'paused (budget reached)',
        permalink: t.permalink,
      }));
    },
    liveSandboxes: async (channel) => {
      const now = Date.now();
      return (await registry.forChannel(channel)).map((s) => ({
        id: s.sandboxId,
        repo: s.repo,
        state: s.state,
        idleMinutes: coordinator.isRunning(s.channel, s.threadTs)
          ? 0
          : Math.floor((now - Date.parse(s.lastActiveAt)) / 60_000),
      }));
    },
    onUnlink: async (channel, repo) => {
      await reaper.releaseRepo(channel, repo);
    },
  });
  const incoming = {
    links,
    threads,
    ledger: new EventLedger(store),
    coordinator,
    access,
    logger,
    botUserId: () => botUserId,
  };
  registerMention(app, incoming);
  registerThreadMessage(app, incoming);
  registerRunButtons(app, { coordinator, access, logger });
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  let httpPort: number | undefined;
  try {
    await app.init();
    const auth = await app.client.auth.test();
    botUserId = auth.user_id;
    if (config.slack.socketMode) {
      await app.start();
    } else {
      const server = (await app.start(overrides.listen ?? { port: config.port })) as unknown as Server;
      httpPort = (server.address() as AddressInfo | null)?.port;
    }
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  // Threads a crash or restart left running are picked up again (or told they were interrupted):
  // at start, and then regularly, for threads whose instance died (their lock expires).
  const recover = () =>
    coordinator
      .recoverAll()
      .then((count) => count > 0 && logger.info({ count }, 'recovered interrupted runs'))
      .catch((error: unknown) => logger.error({ err: error }, 'recovery of interrupted runs failed'));
  void recover();
  const recovery = setInterval(recover, overrides.recoveryIntervalMs ?? 10_000);
  recovery.unref();
  const sweep = setInterval(() => {
    store
      .sweepExpired()
      .then((count) => count > 0 && logger.debug({ count }, 'expired values swept'))
      .catch((error: unknown) => logger.warn({ err: error }, 'could not sweep expired values'));
  }, 3_600_000);
  sweep.unref();
  reaper.start(overrides.idleSweep?.intervalMs ?? Math.min(60_000, Math.max(1_000, idleMs / 4)));
  logger.info({ mode: config.slack.socketMode ? 'socket' : 'http', port: config.port }, 'ai-dev is running');

  return {
    app,
    logger,
    httpPort,
    coordinator,
    threads,
    stop: async () => {
      reaper.stop();
      clearInterval(recovery);
      clearInterval(sweep);
      coordinator.shutdown();
      await Promise.race([coordinator.idle(), delay(15_000)]);
      // Slack may be unreachable: replies not out by then are logged by the queue, not waited for.
      await Promise.race([queues.flushAll(), delay(10_000)]);
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping Slack app'));
      await store.close();
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The OpenAI SDK's own log lines, through our redacting logger. */
function openaiLogger(logger: Logger) {
  const child = logger.child({ component: 'openai' });
  return {
    debug: (message: string, ...rest: unknown[]) => child.debug({ rest }, message),
    info: (message: string, ...rest: unknown[]) => child.info({ rest }, message),
    warn: (message: string, ...rest: unknown[]) => child.warn({ rest }, message),
    error: (message: string, ...rest: unknown[]) => child.error({ rest }, message),
  };
}

async function main(): Promise<void> {
  const parsed = parseConfig(readEnvironment());
  if (!parsed.ok) {
    process.stderr.write(
      `ai-dev cannot start; fix these environment variables (see README.md and .env.example):\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exitCode = 2;
    return;
  }
  let bot: RunningBot;
  try {
    bot = await startBot(parsed.config);
  } catch (error) {
    const redact = createRedactor(secretValues(parsed.config));
    process.stderr.write(`ai-dev failed to start: ${redact(errorMessage(error))}\n`);
    // Exit even if an SDK left a socket or timer open while failing.
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    bot.logger.info({ signal }, 'shutting down');
    bot.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  await main();
}
