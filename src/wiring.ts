import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import OpenAI from 'openai';
import { OpenAIModel } from './agent/openai-model.js';
import { allTools } from './agent/tools/index.js';
import { type Config, secretValues } from './config/config.js';
import { AppInstallationCredentials, type GitHubCredentials, StaticTokenCredentials } from './github/credentials.js';
import { RepoMirrors } from './github/mirror.js';
import { octokitFactory } from './github/octokit.js';
import { GitHubPublisher } from './github/publisher.js';
import { RepoChecker } from './github/repo-checker.js';
import { readRepoGuidance } from './github/repo-guidance.js';
import { parseRepoRef } from './github/repo-ref.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { AccessPolicy } from './runs/access-policy.js';
import { ChannelOverview } from './runs/channel-overview.js';
import { RunCoordinator } from './runs/coordinator.js';
import { Maintenance } from './runs/maintenance.js';
import { SandboxReaper } from './runs/sandbox-reaper.js';
import { threadKeyOf } from './runs/thread-key.js';
import { InProcessThreadLock, RedisThreadLock } from './runs/thread-lock.js';
import { E2BSandboxProvider } from './sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from './sandbox/local-sandbox.js';
import type { SandboxProvider } from './sandbox/sandbox.js';
import { createSlackApp } from './slack/app.js';
import { registerListeners } from './slack/listeners/index.js';
import { PostQueues } from './slack/post-queue.js';
import { SlackReporter } from './slack/reporter.js';
import { slackThreadInfo } from './slack/thread-info.js';
import { EventLedger } from './store/event-ledger.js';
import { LinkStore } from './store/link-store.js';
import { openStore } from './store/open-store.js';
import { SandboxRegistry } from './store/sandbox-registry.js';
import { ThreadStore } from './store/thread-store.js';

/** What tests (and only tests) set beside the configuration. */
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
  /** GitHub request pacing (tests turn the write spacing off and retry less). */
  github?: { throttle?: boolean; retries?: number };
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
  const octokitFor = octokitFactory({ baseUrl: config.github.apiUrl, logger, ...overrides.github });
  const credentials: GitHubCredentials =
    config.github.auth.mode === 'token'
      ? new StaticTokenCredentials(config.github.auth.token)
      : new AppInstallationCredentials(config.github.auth, {
          apiUrl: config.github.apiUrl,
          octokitFor,
          // A minted installation token is a secret from then on, in every form.
          onToken: (token) => redact.add(token),
        });

  const store = await openStore(config.storeUrl, logger);
  // Several bot instances share Redis: a thread runs on one of them at a time, and its record is
  // changed by one of them at a time.
  const shared = store.redisClient?.();
  const lock = shared ? new RedisThreadLock(shared, { namespace: store.namespace }) : new InProcessThreadLock();
  const links = new LinkStore(store, logger);
  const threads = new ThreadStore(store, logger, shared ? lock : undefined);
  const registry = new SandboxRegistry(store, logger);
  const access = new AccessPolicy(config.access);
  const provider = sandboxProvider(config, logger, overrides);

  const app = createSlackApp({
    slack: config.slack,
    port: config.port,
    logger,
    clientOptions: overrides.slackClientOptions,
  });
  const queues = new PostQueues({ logger, minIntervalMs: overrides.slackPostIntervalMs ?? 1000 });
  const openai = new OpenAI({
    apiKey: config.openai.apiKey,
    baseURL: config.openai.baseUrl,
    logger: openaiLogger(logger),
  });
  const coordinator = new RunCoordinator({
    model: new OpenAIModel({
      client: openai,
      model: config.openai.model,
      reasoningEffort: config.openai.reasoningEffort,
      logger,
    }),
    tools: allTools,
    provider,
    mirrors: new RepoMirrors({
      dir: config.mirrorDir,
      serverUrl: config.github.serverUrl,
      credentials,
      logger,
      path: config.hostPath,
    }),
    publisher: new GitHubPublisher({ credentials, octokitFor, logger, redact }),
    threads,
    registry,
    lock,
    recoveryGraceMs: shared ? undefined : 0,
    recoveryClock: overrides.recoveryClock,
    // Only several instances (Redis) can have a Stop pressed on one while another runs the thread.
    stopPollMs: shared ? 1_500 : undefined,
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
    threadInfo: slackThreadInfo(app.client),
    network: config.network,
    guidance: async (repo, baseBranch, signal) => {
      const ref = parseRepoRef(repo, config.github.serverUrl);
      return ref ? readRepoGuidance({ credentials, octokitFor }, ref, baseBranch, signal) : undefined;
    },
  });

  const isRunning = (channel: string, threadTs: string) => coordinator.isRunning(channel, threadTs);
  const idleMs = overrides.idleSweep?.idleMs ?? config.limits.sandboxIdleMinutes * 60_000;
  const reaper = new SandboxReaper({
    registry,
    provider,
    idleMs,
    mode: config.limits.sandboxIdleAction,
    isRunning,
    logger,
  });
  let botUserId: string | undefined;
  let appTeam: string | undefined;
  registerListeners(app, {
    command: {
      links,
      repoChecker: new RepoChecker(credentials, octokitFor),
      access,
      githubServerUrl: config.github.serverUrl,
      logger,
      overview: new ChannelOverview({ threads, registry, isRunning }),
      onUnlink: async (channel, repo) => {
        await reaper.releaseRepo(channel, repo);
      },
    },
    incoming: {
      links,
      threads,
      ledger: new EventLedger(store),
      coordinator,
      access,
      logger,
      botUserId: () => botUserId,
      appTeam: () => appTeam,
      network: config.network,
    },
    logger,
  });

  let httpPort: number | undefined;
  try {
    await app.init();
    const auth = await app.client.auth.test();
    botUserId = auth.user_id;
    appTeam = auth.team_id;
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
  const maintenance = new Maintenance({
    coordinator,
    store,
    reaper,
    logger,
    recoveryIntervalMs: overrides.recoveryIntervalMs,
    reaperIntervalMs: overrides.idleSweep?.intervalMs ?? Math.min(60_000, Math.max(1_000, idleMs / 4)),
  });
  maintenance.start();
  logger.info({ mode: config.slack.socketMode ? 'socket' : 'http', port: config.port }, 'ai-dev is running');

  return {
    app,
    logger,
    httpPort,
    coordinator,
    threads,
    stop: async () => {
      maintenance.stop();
      coordinator.shutdown();
      await Promise.race([coordinator.idle(), sleep(15_000, undefined, { ref: false })]);
      // Slack may be unreachable: replies not out by then are logged by the queue, not waited for.
      await Promise.race([queues.flushAll(), sleep(10_000, undefined, { ref: false })]);
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping Slack app'));
      await store.close();
    },
  };
}

function sandboxProvider(config: Config, logger: Logger, overrides: BotOverrides): SandboxProvider {
  if (config.sandbox.provider === 'local') {
    logger.warn(
      'SANDBOX_PROVIDER=local runs the model’s commands on this host, as this user, with its network: it is no security boundary (SANDBOX_NETWORK does not apply). Use it for development only, never with a private repo or real keys.',
    );
    return new LocalSandboxProvider(overrides.localSandboxRoot);
  }
  return new E2BSandboxProvider({
    apiKey: config.sandbox.apiKey,
    template: config.sandbox.template,
    maxLifetimeMs: config.sandbox.maxLifetimeMinutes * 60_000,
    domain: config.sandbox.domain,
    apiUrl: config.sandbox.apiUrl,
    sandboxUrl: config.sandbox.sandboxUrl,
    lifecycle: config.limits.sandboxIdleAction,
    network: config.network,
    logger,
  });
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
