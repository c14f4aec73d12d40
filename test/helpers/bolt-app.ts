import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import { createSlackApp } from '../../src/slack/app.js';
import type { FakeSlack } from '../fakes/slack-server.js';
import { captureLogger } from './logger.js';

const SIGNING_SECRET = 'listener-test-signing-secret';

export interface TestBoltApp {
  app: App;
  log: ReturnType<typeof captureLogger>;
  /** Starts the app (HTTP mode on 127.0.0.1, a free port) and points the fake's events at it. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The bot's Bolt app in HTTP mode against the Slack fake, for one listener's tests: register, then `start()`. */
export function testBoltApp(fake: FakeSlack): TestBoltApp {
  const log = captureLogger();
  const { app } = createSlackApp({
    slack: {
      botToken: fake.ids.botToken,
      appToken: undefined,
      signingSecret: SIGNING_SECRET,
      apiUrl: fake.apiUrl,
      socketMode: false,
    },
    port: 0,
    logger: log.logger,
    clientOptions: { retryConfig: { retries: 0 } },
  });
  return {
    app,
    log,
    async start() {
      await app.init();
      const server = (await app.start({ port: 0, host: '127.0.0.1' })) as unknown as Server;
      const { port } = server.address() as AddressInfo;
      fake.setEventTarget({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET });
    },
    async stop() {
      await app.stop();
    },
  };
}
