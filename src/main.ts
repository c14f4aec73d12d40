import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Octokit } from '@octokit/rest';
import type { App } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import { AccessPolicy } from './access/access-policy.js';
import { type Config, parseConfig, secretValues } from './config/config.js';
import { readEnvironment } from './config/environment.js';
import { AppInstallationCredentials, type GitHubCredentials, StaticTokenCredentials } from './github/credentials.js';
import { RepoChecker } from './github/repo-checker.js';
import { errorMessage } from './lib/errors.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { createSlackApp } from './slack/app.js';
import { registerCommand } from './slack/listeners/command.js';
import { LinkStore } from './store/link-store.js';
import { openStore } from './store/open-store.js';

export interface BotOverrides {
  /** Where log lines go (tests scan them for secrets). */
  logDestination?: NodeJS.WritableStream;
  slackClientOptions?: Partial<WebClientOptions>;
  /** Where the local sandbox provider makes its directories (tests keep them in their temp dir). */
  localSandboxRoot?: string;
  /** HTTP mode: where to listen (tests bind 127.0.0.1 port 0). Default: all interfaces on PORT. */
  listen?: { port: number; host?: string };
}

export interface RunningBot {
  app: App;
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
  registerCommand(app, {
    links,
    repoChecker: new RepoChecker(credentials, octokitFor),
    access,
    githubServerUrl: config.github.serverUrl,
    logger,
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  let httpPort: number | undefined;
  try {
    await app.init();
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
  logger.info({ mode: config.slack.socketMode ? 'socket' : 'http', port: config.port }, 'ai-dev is running');

  return {
    app,
    logger,
    httpPort,
    stop: async () => {
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping Slack app'));
      await store.close();
    },
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
