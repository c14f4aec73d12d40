import type { IncomingMessage, ServerResponse } from 'node:http';
import { App } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { boltLogger } from './bolt-logger.js';

export interface SlackAppOptions {
  slack: Config['slack'];
  port: number;
  logger: Logger;
  /** Extra Web API client options (tests shorten the retry schedule). */
  clientOptions?: Partial<WebClientOptions>;
}

const healthRoute = {
  path: '/healthz',
  method: ['GET'],
  handler: (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  },
};

/**
 * Socket Mode when an app token is configured, HTTP mode (`POST /slack/events`) otherwise;
 * `GET /healthz` answers in both. Initialization (auth.test) is deferred to `app.init()` so
 * that a bad token is a start-up error we can report, not an unhandled rejection.
 */
export function createSlackApp(options: SlackAppOptions): App {
  const { slack, port, logger } = options;
  const clientOptions: WebClientOptions = {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    ...options.clientOptions,
  };
  const common = {
    token: slack.botToken,
    logger: boltLogger(logger),
    clientOptions,
    customRoutes: [healthRoute],
    deferInitialization: true,
    port,
  };
  if (slack.socketMode) {
    return new App({ ...common, socketMode: true, appToken: slack.appToken });
  }
  return new App({ ...common, signingSecret: slack.signingSecret ?? '' });
}
