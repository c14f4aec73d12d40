import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { App } from '@slack/bolt';
import type { FetchFunction, WebClientOptions } from '@slack/web-api';
import OpenAI from 'openai';
import { PriceBook } from './agent/cost.js';
import { OpenAIModel } from './agent/openai-model.js';
import { allTools } from './agent/tools/index.js';
import { describeResult } from './checks/check.js';
import type { SlackCheckOptions } from './checks/slack.js';
import { slackApiBase } from './checks/slack.js';
import { checkSlackAtStart } from './checks/startup.js';
import { type Config, type CoreConfig, secretValues } from './config/config.js';
import { resolveBotIdentity } from './github/bot-identity.js';
import type { FollowTiming } from './github/checks.js';
import { AppInstallationCredentials, type GitHubCredentials, StaticTokenCredentials } from './github/credentials.js';
import { RepoMirrors } from './github/mirror.js';
import { type OctokitFactory, octokitFactory } from './github/octokit.js';
import { GitHubPublisher, type Publisher } from './github/publisher.js';
import { RepoChecker } from './github/repo-checker.js';
import { readRepoGuidance } from './github/repo-guidance.js';
import { parseRepoRef, type RepoRef } from './github/repo-ref.js';
import { readSetupScript } from './github/repo-setup.js';
import { editVerificationSection } from './github/verification.js';
import { GITHUB_WEBHOOK_PATH, type GitHubEvent, githubWebhookHandler } from './github/webhooks.js';
import { errorMessage } from './lib/errors.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createRedactor, type SecretRedactor } from './lib/redact.js';
import { Metrics, teeReporters } from './observability/metrics.js';
import { observabilityRoutes, type ReadinessProbe } from './observability/probes.js';
import { startupFacts } from './observability/startup.js';
import { AccessPolicy } from './runs/access-policy.js';
import { type MentionOptionRules, resolveRunSettings } from './runs/budget.js';
import { ChannelOverview } from './runs/channel-overview.js';
import { CiFollow } from './runs/ci-follow.js';
import { RunCoordinator } from './runs/coordinator.js';
import { HomeOverview, historyRecorder } from './runs/home-overview.js';
import { Maintenance } from './runs/maintenance.js';
import type { RunReporter, ThreadInfo } from './runs/ports.js';
import { PrFollowing } from './runs/pr-following.js';
import type { RestateEndpoint } from './runs/restate/endpoint.js';
import type { RestateClient } from './runs/restate/restate-client.js';
import type { RestateRunEngine } from './runs/restate/restate-engine.js';
import type { IdleReaping } from './runs/restate/thread-object.js';
import { ReviewFollow } from './runs/review-follow.js';
import type { RunEngine } from './runs/run-engine.js';
import { SandboxReaper } from './runs/sandbox-reaper.js';
import { threadKeyOf } from './runs/thread-key.js';
import type { RunnerDeps } from './runs/thread-runner.js';
import { E2BSandboxProvider } from './sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from './sandbox/local-sandbox.js';
import type { SandboxProvider } from './sandbox/sandbox.js';
import { AgentSessions } from './slack/agent-session.js';
import { createSlackApp } from './slack/app.js';
import { ChannelMembership } from './slack/channel-membership.js';
import { registerListeners } from './slack/listeners/index.js';
import { PostQueues } from './slack/post-queue.js';
import { SlackReporter } from './slack/reporter.js';
import { RunSurfaces } from './slack/run-surfaces.js';
import { slackThreadInfo } from './slack/thread-info.js';
import { ChannelHistoryStore } from './store/channel-history.js';
import { ChannelSettingsStore } from './store/channel-settings.js';
import { EventLedger } from './store/event-ledger.js';
import { FollowedPrStore } from './store/followed-prs.js';
import type { KeyValueStore } from './store/key-value-store.js';
import { LinkStore } from './store/link-store.js';
import { openStore } from './store/open-store.js';
import { SandboxRegistry } from './store/sandbox-registry.js';
import { ThreadStore } from './store/thread-store.js';

/** What tests (and only tests) set beside the configuration. */
export interface BotOverrides extends EngineOverrides {
  slackClientOptions?: Partial<WebClientOptions>;
  /** Least time between two thread replies in one channel (Slack allows about one a second). */
  slackPostIntervalMs?: number;
  /** Idle sweep timing in ms (tests shorten SANDBOX_IDLE_MINUTES). */
  idleSweep?: { idleMs: number; intervalMs: number };
  /** HTTP mode: where to listen (tests bind 127.0.0.1 port 0). Default: all interfaces on PORT. */
  listen?: { port: number; host?: string };
  /** The start-up checks of Slack (tests shorten the retries). */
  slackCheck?: SlackCheckOptions;
  /** How long connecting to Slack may take at start before the bot gives up. Default 30 s. */
  startDeadlineMs?: number;
  /** Least time between two edits of a run's status card (default 2000 ms). */
  cardIntervalMs?: number;
  /** Token mode's polling of a PR's checks (tests poll every few ms). */
  ciPolling?: Partial<FollowTiming>;
  /** Token mode: how often the threads' PRs are read for new reviews. Default 60 s. */
  reviewPollMs?: number;
  /** Where the Restate endpoint listens (tests: 127.0.0.1, port 0 or a port of their own). */
  restateListen?: { port: number; host?: string };
}

export interface RunningBot {
  app: App;
  /** The run engine (local or Restate). */
  coordinator: RunEngine;
  /** The port of this instance's Restate endpoint (RUN_ENGINE=restate). */
  restatePort: number | undefined;
  threads: ThreadStore;
  logger: Logger;
  metrics: Metrics;
  /** The HTTP port actually bound (HTTP mode), for tests that listen on port 0. */
  httpPort: number | undefined;
  stop(): Promise<void>;
}

/** The composition root of the bot: builds every client and service from the config and wires them. */
export async function startBot(config: Config, overrides: BotOverrides = {}): Promise<RunningBot> {
  const logging = buildLogging(config, overrides);
  const { logger, redact } = logging;
  const metrics = new Metrics();
  // Every Slack Web API request (Bolt's client, the Socket Mode client's, the start-up checks) is counted.
  const slackFetch: FetchFunction = metrics.slackFetch<Parameters<FetchFunction>[1]>(
    overrides.slackClientOptions?.fetch ?? ((url, init) => fetch(url, init)),
  );
  // The checks that are cheap at start: a wrong token or an unreachable Slack stops the start here,
  // naming the variable at fault or the URL tried, before the SDK's half-hour retry schedule begins.
  const slackStart = await checkSlackAtStart(config.slack, { fetch: slackFetch, ...overrides.slackCheck });
  for (const warning of slackStart.warnings) {
    logger.warn({ check: warning.name, variable: warning.variable }, describeResult(warning));
  }

  let store: KeyValueStore | undefined;
  const probes: ReadinessProbe[] = [
    {
      name: 'slack',
      check: () =>
        slack.connection.connected
          ? undefined
          : config.slack.socketMode
            ? 'the Socket Mode connection is down'
            : 'not listening yet',
    },
    {
      name: 'store',
      check: async () => {
        if (!store) return 'not open yet';
        await store.get('__ready__');
        return undefined;
      },
    },
  ];
  // The CI and review loops, built once the run engine exists; the webhook route and the runs' end reach
  // them through this binding.
  let loops: GitHubLoops | undefined;
  const webhookSecret = config.github.webhookSecret;
  const webhookRoutes = webhookSecret
    ? [
        {
          path: GITHUB_WEBHOOK_PATH,
          method: ['POST'],
          handler: githubWebhookHandler({
            secret: webhookSecret,
            logger,
            onEvent: async (event) => loops?.onEvent(event),
          }),
        },
      ]
    : [];
  const slack = createSlackApp({
    slack: config.slack,
    port: config.port,
    logger,
    clientOptions: { ...overrides.slackClientOptions, fetch: slackFetch },
    routes: [...observabilityRoutes({ probes, metrics }), ...webhookRoutes],
  });
  const { app } = slack;
  const queues = new PostQueues({ logger, minIntervalMs: overrides.slackPostIntervalMs ?? 1000 });
  const sessions = new AgentSessions({ client: app.client, logger, redact });
  // Who is in which channel, for the Home tab; kept a minute per person.
  const membership = new ChannelMembership({ client: app.client, logger });
  // Filled once the engine (and its store) is built; the reporters below are only asked for during runs.
  let history: ChannelHistoryStore | undefined;
  const surfaces = new RunSurfaces({
    client: app.client,
    logger,
    redact,
    sessions,
    queueFor: (channel) => queues.forChannel(channel),
    network: config.network,
    ...(overrides.cardIntervalMs !== undefined ? { cardIntervalMs: overrides.cardIntervalMs } : {}),
  });
  const reporterFor = (channel: string, threadTs: string): RunReporter =>
    teeReporters(
      new SlackReporter({
        client: app.client,
        channel,
        threadTs,
        redact,
        logger,
        queue: queues.forChannel(channel),
        threadKey: threadKeyOf(channel, threadTs),
      }),
      surfaces.reporterFor(channel, threadTs),
      ...(history ? [historyRecorder({ history, threads: engine.threads, logger }, channel, threadTs)] : []),
      metrics.runObserver(threadKeyOf(channel, threadTs)),
    );
  const engine = await buildRunStack(
    config,
    logging,
    {
      reporterFor,
      threadInfo: slackThreadInfo(app.client),
      afterRun: (channel, threadTs, outcome) => loops?.afterRun(channel, threadTs, outcome),
    },
    overrides,
  );
  store = engine.store;
  history = new ChannelHistoryStore(engine.store, logger);
  const { threads, links, registry, provider, credentials, octokitFor } = engine;
  const channelHistory = history;
  const runOptions: MentionOptionRules = {
    allowMaxDollars: config.budget.allowMaxDollars,
    allowModels: config.budget.allowModels,
    resolve: async (channel, thread) =>
      resolveRunSettings(
        {
          model: config.openai.model,
          effort: config.openai.reasoningEffort,
          runMaxDollars: config.budget.runMaxDollars,
        },
        await engine.channelSettings.get(channel),
        thread,
      ),
    isWorkspaceAdmin: async (user) => {
      const info = await app.client.users.info({ user });
      return info.user?.is_admin === true || info.user?.is_owner === true;
    },
  };
  const restateMode = config.runEngine.kind === 'restate';
  // The local engine knows its runs; with Restate a run may be on another instance: the record says.
  const isRunning = restateMode
    ? async (channel: string, threadTs: string) => (await threads.get(channel, threadTs))?.status === 'running'
    : (channel: string, threadTs: string) => engine.coordinator.isRunning(channel, threadTs);
  const idleMs = overrides.idleSweep?.idleMs ?? config.limits.sandboxIdleMinutes * 60_000;
  const reaper = new SandboxReaper({
    registry,
    provider,
    idleMs,
    mode: config.limits.sandboxIdleAction,
    isRunning,
    logger,
  });
  let restate: { engine: RestateRunEngine; endpoint: RestateEndpoint; client: RestateClient } | undefined;
  try {
    restate =
      config.runEngine.kind === 'restate'
        ? await startRestateEngine(
            config.runEngine,
            engine,
            logger,
            overrides.restateListen,
            {
              idleMs,
              releaseThread: (channel, threadTs) => reaper.releaseThread(channel, threadTs),
            },
            overrides.recoveryClock,
          )
        : undefined;
  } catch (error) {
    await engine.store.close().catch(() => {});
    throw error;
  }
  const coordinator: RunEngine = restate?.engine ?? engine.coordinator;
  loops = githubLoops(config, engine, coordinator, { logger, redact, overrides, reporterFor });
  if (restate) {
    const client = restate.client;
    probes.push({
      name: 'restate',
      check: () =>
        client.health().then(
          () => undefined,
          (error: unknown) => errorMessage(error),
        ),
    });
  }
  // Threads marked running (in the store) whose run is not going here: waiting for a free place, or (with
  // Restate) running on another instance.
  metrics.setQueuedSource(async () => Math.max(0, (await threads.running()).length - metrics.activeRuns));
  const access = new AccessPolicy(config.access);

  registerListeners(app, {
    command: {
      links,
      repoChecker: new RepoChecker(credentials, octokitFor),
      access,
      githubServerUrl: config.github.serverUrl,
      logger,
      redact,
      overview: new ChannelOverview({ threads, registry, isRunning }),
      onUnlink: async (channel, repo) => {
        await reaper.releaseRepo(channel, repo);
      },
      config: { store: engine.channelSettings, rules: runOptions },
    },
    incoming: {
      links,
      threads,
      ledger: new EventLedger(engine.store),
      coordinator,
      access,
      logger,
      botUserId: () => slackStart.identity.userId,
      appTeam: () => slackStart.identity.teamId,
      network: config.network,
      redact,
      runOptions,
      onFirstReply: (channel, threadTs, ts) => surfaces.noteFirstReply(channel, threadTs, ts),
    },
    sessions,
    home: {
      homeData: (user) =>
        new HomeOverview({
          links,
          threads,
          history: channelHistory,
          access,
          memberChannels: (person) => membership.channelsOf(person),
        }).forUser(user),
      logger,
    },
    logger,
  });

  let httpPort: number | undefined;
  const deadlineMs = overrides.startDeadlineMs ?? 30_000;
  try {
    await withDeadline(
      deadlineMs,
      () =>
        new Error(
          `could not connect to Slack within ${Math.round(deadlineMs / 1000)} s (${
            config.slack.socketMode
              ? `Socket Mode: ${slackApiBase(config.slack.apiUrl)}apps.connections.open, then the WebSocket URL it answers`
              : `${slackApiBase(config.slack.apiUrl)}auth.test`
          }); check the network, a proxy or firewall`,
        ),
      async () => {
        await app.init();
        if (config.slack.socketMode) {
          await app.start();
        } else {
          const server = (await app.start(overrides.listen ?? { port: config.port })) as unknown as Server;
          httpPort = (server.address() as AddressInfo | null)?.port;
          slack.connection.markListening();
        }
      },
    );
  } catch (error) {
    await app.stop().catch(() => {});
    await restate?.endpoint.close().catch(() => {});
    await engine.store.close().catch(() => {});
    throw error;
  }
  const maintenance = new Maintenance({
    // Restate retries a dead instance's runs itself; only a thread whose run never reached it is sent again.
    recover: restate ? () => restate.engine.adoptOrphans() : () => engine.coordinator.recoverAll(),
    store: engine.store,
    // With Restate each thread's idle timer is a delayed call on its object: no sweep of a shared list.
    ...(restate ? {} : { reaper }),
    logger,
    reaperIntervalMs: overrides.idleSweep?.intervalMs ?? Math.min(60_000, Math.max(1_000, idleMs / 4)),
  });
  maintenance.start();
  const startup = startupFacts(config, {
    mode: config.slack.socketMode ? 'Socket Mode' : 'HTTP mode',
    engine: restate ? 'restate' : 'local',
    port: httpPort ?? config.port,
  });
  logger.info(startup.facts, startup.message);

  return {
    app,
    logger,
    metrics,
    httpPort,
    coordinator,
    threads,
    restatePort: restate?.endpoint.port,
    stop: async () => {
      maintenance.stop();
      loops?.stop();
      coordinator.shutdown();
      await restate?.endpoint.close();
      await Promise.race([coordinator.idle(), sleep(15_000, undefined, { ref: false })]);
      // Slack may be unreachable: replies not out by then are logged by the queue, not waited for.
      await Promise.race([queues.flushAll(), sleep(10_000, undefined, { ref: false })]);
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping Slack app'));
      await engine.store.close();
    },
  };
}

/**
 * RUN_ENGINE=restate: this instance's endpoint serving the `Thread` object, the deployment registered
 * (idempotently) at the address Restate reaches the instances by, and the engine that sends runs to it.
 */
async function startRestateEngine(
  config: Extract<Config['runEngine'], { kind: 'restate' }>,
  stack: RunStack,
  logger: Logger,
  listen: { port: number; host?: string } | undefined,
  reaping: IdleReaping,
  clock: (() => number) | undefined,
): Promise<{ engine: RestateRunEngine; endpoint: RestateEndpoint; client: RestateClient }> {
  // Loaded only with RUN_ENGINE=restate: the one-process bot starts without the Restate SDK.
  const [{ startRestateEndpoint }, { RestateClient }, { RestateRunEngine }, { threadObject }] = await Promise.all([
    import('./runs/restate/endpoint.js'),
    import('./runs/restate/restate-client.js'),
    import('./runs/restate/restate-engine.js'),
    import('./runs/restate/thread-object.js'),
  ]);
  const client = new RestateClient({ ingressUrl: config.ingressUrl, adminUrl: config.adminUrl });
  // Fails the start at once, naming the URL, when Restate is not there.
  await client.health();
  const engine = new RestateRunEngine({ threads: stack.threads, client, logger });
  const endpoint = await startRestateEndpoint(
    [threadObject(stack.runner, engine, reaping, clock)],
    listen ?? { port: config.servicePort },
    logger,
  );
  try {
    if (config.register) {
      const id = await client.register(config.serviceUrl);
      logger.info({ deployment: id, url: config.serviceUrl }, 'registered with Restate');
    }
  } catch (error) {
    await endpoint.close().catch(() => {});
    throw error;
  }
  return { engine, endpoint, client };
}

// ---- Shared by every front end: the bot above and the terminal (`ai-dev run`, src/cli/run.ts) ----

/** What tests set beside the configuration, for any front end. */
export interface EngineOverrides {
  /** Where log lines go (tests scan them for secrets; the terminal sends them to stderr). */
  logDestination?: NodeJS.WritableStream;
  /** The terminal logs less than the bot (its own lines go to stdout). */
  logLevel?: string;
  /** Where the local sandbox provider makes its directories (tests keep them in their temp dir). */
  localSandboxRoot?: string;
  /** The clock a run found after a crash is judged too old by (tests move it forward). */
  recoveryClock?: () => number;
  /** GitHub request pacing (tests turn the write spacing off and retry less). */
  github?: { throttle?: boolean; retries?: number };
}

export interface Logging {
  logger: Logger;
  redact: SecretRedactor;
}

/** The redactor (every configured secret) and the logger that passes every line through it. */
export function buildLogging(
  config: CoreConfig & { slack?: Config['slack'] | undefined },
  overrides: EngineOverrides = {},
): Logging {
  const redact = createRedactor(secretValues(config));
  const logger = createLogger({
    level: overrides.logLevel ?? config.logLevel,
    redact,
    destination: overrides.logDestination,
    format: config.logFormat,
  });
  return { logger, redact };
}

/** How a front end shows a run: where its events go and what it knows about a thread. */
export interface FrontEnd {
  reporterFor(channel: string, threadTs: string): RunReporter;
  threadInfo(channel: string, threadTs: string, user: string): Promise<ThreadInfo>;
  /** Wraps the GitHub publisher (the terminal's `--no-pr` keeps the branch unpublished). */
  wrapPublisher?: (publisher: Publisher) => Publisher;
  /** Told when a run ended (the bot follows its PR's checks and reviews from here). */
  afterRun?: RunnerDeps['afterRun'];
}

/** The run engine and what it stands on, built the same way for every front end. */
export interface RunStack {
  store: KeyValueStore;
  links: LinkStore;
  threads: ThreadStore;
  registry: SandboxRegistry;
  provider: SandboxProvider;
  credentials: GitHubCredentials;
  octokitFor: OctokitFactory;
  /** The local engine (one process); the bot puts the Restate engine in its place with RUN_ENGINE=restate. */
  coordinator: RunCoordinator;
  /** Each channel's run defaults (`/ai-dev config`). */
  channelSettings: ChannelSettingsStore;
  /** What one run needs, for an engine built beside the local one. */
  runner: RunnerDeps & { threads: ThreadStore };
}

/**
 * The store, GitHub, the sandbox provider, the model and the run coordinator: the same agent loop,
 * tools, sandboxes, publishing and limits whichever front end shows the run.
 */
export async function buildRunStack(
  config: CoreConfig,
  { logger, redact }: Logging,
  front: FrontEnd,
  overrides: EngineOverrides = {},
): Promise<RunStack> {
  const octokitFor = octokitFactory({ baseUrl: config.github.apiUrl, logger, ...overrides.github });
  const credentials = githubCredentials(config, octokitFor, redact);

  const store = await openStore(config.storeUrl, logger);
  const links = new LinkStore(store, logger);
  const threads = new ThreadStore(store, logger);
  const registry = new SandboxRegistry(store, logger);
  const provider = sandboxProvider(config, logger, overrides);

  const openai = new OpenAI({
    apiKey: config.openai.apiKey,
    baseURL: config.openai.baseUrl,
    logger: openaiLogger(logger),
  });
  const publisher = new GitHubPublisher({ credentials, octokitFor, logger, redact });
  const channelSettings = new ChannelSettingsStore(store, logger);
  const runner: RunnerDeps & { threads: ThreadStore } = {
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
    publisher: front.wrapPublisher ? front.wrapPublisher(publisher) : publisher,
    threads,
    registry,
    limits: config.limits,
    githubServerUrl: config.github.serverUrl,
    logger,
    redact,
    reporterFor: (channel, threadTs) => front.reporterFor(channel, threadTs),
    afterRun: (channel, threadTs, outcome) => {
      try {
        front.afterRun?.(channel, threadTs, outcome);
      } catch (error) {
        logger.error({ err: error }, 'the after-run step failed');
      }
    },
    threadInfo: (channel, threadTs, user) => front.threadInfo(channel, threadTs, user),
    network: config.network,
    costing: {
      prices: new PriceBook({ table: config.cost.prices, logger }),
      sandbox: config.cost.sandbox,
      defaults: {
        model: config.openai.model,
        effort: config.openai.reasoningEffort,
        runMaxDollars: config.budget.runMaxDollars,
      },
      channelSettings: (channel) => channelSettings.get(channel),
    },
    setupScript: async (repo, baseBranch, signal) => {
      const ref = parseRepoRef(repo, config.github.serverUrl);
      if (!ref) return undefined;
      return readSetupScript(octokitFor(await credentials.tokenFor(ref, 'read')), ref, baseBranch, { signal });
    },
    guidance: async (repo, baseBranch, signal) => {
      const ref = parseRepoRef(repo, config.github.serverUrl);
      return ref ? readRepoGuidance({ credentials, octokitFor }, ref, baseBranch, signal) : undefined;
    },
  };
  const coordinator = new RunCoordinator({
    ...runner,
    recoveryClock: overrides.recoveryClock,
  });
  return {
    store,
    links,
    threads,
    registry,
    provider,
    credentials,
    octokitFor,
    coordinator,
    runner,
    channelSettings,
  };
}

/** The GitHub credential: one token, or the App minting a token per repo. */
export function githubCredentials(
  config: CoreConfig,
  octokitFor: OctokitFactory,
  redact: SecretRedactor,
): GitHubCredentials {
  return config.github.auth.mode === 'token'
    ? new StaticTokenCredentials(config.github.auth.token)
    : new AppInstallationCredentials(config.github.auth, {
        apiUrl: config.github.apiUrl,
        octokitFor,
        // A minted installation token is a secret from then on, in every form.
        onToken: (token) => redact.add(token),
      });
}

function sandboxProvider(config: CoreConfig, logger: Logger, overrides: EngineOverrides): SandboxProvider {
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

/** The work, or the deadline's error once `ms` have passed (the work is left to fail on its own). */
async function withDeadline<T>(ms: number, error: () => Error, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  const running = work();
  running.catch(() => {});
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the CI and review loops (issue 14) ----

interface GitHubLoops {
  afterRun(channel: string, threadTs: string, outcome: Parameters<NonNullable<RunnerDeps['afterRun']>>[2]): void;
  onEvent(event: GitHubEvent): Promise<void>;
  stop(): void;
}

/**
 * After each run, the checks of what it published are followed and its PR's reviews come back to the
 * thread: through GitHub's webhooks when GITHUB_WEBHOOK_SECRET is set, by polling otherwise (a timer
 * owned here, stopped with the bot).
 */
function githubLoops(
  config: Config,
  stack: RunStack,
  coordinator: RunEngine,
  {
    logger,
    redact,
    overrides,
    reporterFor,
  }: {
    logger: Logger;
    redact: SecretRedactor;
    overrides: BotOverrides;
    reporterFor: (channel: string, threadTs: string) => RunReporter;
  },
): GitHubLoops {
  const { threads, credentials, octokitFor } = stack;
  const mode = config.github.webhookSecret ? 'webhooks' : 'poll';
  const octokit = async (repo: RepoRef, purpose: 'follow' | 'write' = 'follow') =>
    octokitFor(await credentials.tokenFor(repo, purpose));
  const submit = (channel: string, threadTs: string, message: { user: string; text: string; ts: string }) =>
    coordinator.submit(channel, threadTs, message);
  const ci = new CiFollow({
    threads,
    submit,
    reporterFor,
    octokit: (repo) => octokit(repo),
    redact,
    maxAttempts: config.limits.ciFixAttempts,
    mode,
    githubServerUrl: config.github.serverUrl,
    logger: logger.child({ component: 'ci-follow' }),
    // The PR body's Verification section gets the checks' result once they settle.
    onSettled: async ({ channel, threadTs }, repo, summary) => {
      const entry = (await threads.get(channel, threadTs))?.repos.find((r) => r.repo === repo);
      const ref = parseRepoRef(repo, config.github.serverUrl);
      if (!entry?.pr || !ref) return;
      await editVerificationSection(await octokit(ref, 'write'), ref, entry.pr.number, {
        commands: entry.verification ?? [],
        checks: summary,
      });
    },
    ...(overrides.ciPolling ? { timing: overrides.ciPolling } : {}),
  });
  let identity: ReturnType<typeof resolveBotIdentity> | undefined;
  const reviews = new ReviewFollow({
    threads,
    submit,
    reporterFor,
    octokit,
    bot: () => {
      identity ??= resolveBotIdentity(config.github.auth, { apiUrl: config.github.apiUrl, octokitFor });
      // A failed look-up is tried again next time.
      identity.catch(() => {
        identity = undefined;
      });
      return identity;
    },
    githubServerUrl: config.github.serverUrl,
    logger: logger.child({ component: 'review-follow' }),
  });
  // The PRs followed survive a restart: the store says which, and they are followed again now.
  const following = new PrFollowing({
    followed: new FollowedPrStore(stack.store, logger),
    threads,
    ci,
    reviews,
    octokit: (repo) => octokit(repo),
    githubServerUrl: config.github.serverUrl,
    logger: logger.child({ component: 'pr-following' }),
  });
  void following.resume().catch((error: unknown) => logger.warn({ err: error }, 'could not follow the PRs again'));
  // One poll at a time: a slow GitHub must not pile polls up behind each other.
  let polling = false;
  const poll = () => {
    if (polling) return;
    polling = true;
    void following
      .refresh()
      .then(() => reviews.pollAll())
      .catch((error: unknown) => logger.warn({ err: error }, 'reading the PRs’ reviews failed'))
      .finally(() => {
        polling = false;
      });
  };
  const timer = mode === 'poll' ? setInterval(poll, overrides.reviewPollMs ?? 60_000) : undefined;
  timer?.unref();
  const warn = (what: string) => (error: unknown) => logger.warn({ err: error }, what);
  return {
    afterRun(channel, threadTs, outcome) {
      void following.afterRun(channel, threadTs, outcome).catch(warn('could not follow the PRs'));
    },
    onEvent: (event) => following.onEvent(event),
    stop() {
      if (timer) clearInterval(timer);
      ci.stop();
    },
  };
}
