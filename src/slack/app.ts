import type { IncomingMessage, ServerResponse } from 'node:http';
import { App, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { Config } from '../config/config.js';
import type { Logger } from '../lib/logger.js';
import { boltLogger } from './bolt-logger.js';

/** An extra HTTP route on the bot's port (`/healthz`, `/readyz`, `/metrics`). */
export interface HttpRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface SlackAppOptions {
  slack: Config['slack'];
  port: number;
  logger: Logger;
  /** Extra Web API client options (tests shorten the retry schedule). */
  clientOptions?: Partial<WebClientOptions>;
  /** Routes served on PORT beside Slack's own (default: `GET /healthz`). */
  routes?: HttpRoute[];
}

/** Whether the bot can hear Slack right now: the Socket Mode link is up, or the HTTP receiver listens. */
export interface SlackConnection {
  readonly connected: boolean;
  /** The HTTP receiver started listening (HTTP mode; Socket Mode follows the socket on its own). */
  markListening(): void;
}

export interface SlackApp {
  app: App;
  connection: SlackConnection;
}

const healthRoute: HttpRoute = {
  path: '/healthz',
  method: ['GET'],
  handler: (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  },
};

/** The Socket Mode client's lifecycle events that mean the link is not (or no longer) up. */
const DOWN_EVENTS = ['connecting', 'reconnecting', 'disconnecting', 'disconnected', 'close'] as const;

/**
 * Socket Mode when an app token is configured, HTTP mode (`POST /slack/events`) otherwise;
 * the extra routes answer in both. Initialization (auth.test) is deferred to `app.init()` so
 * that a bad token is a start-up error we can report, not an unhandled rejection.
 */
export function createSlackApp(options: SlackAppOptions): SlackApp {
  const { slack, port, logger } = options;
  const clientOptions: WebClientOptions = {
    ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
    ...options.clientOptions,
  };
  const customRoutes = options.routes ?? [healthRoute];
  const bolt = boltLogger(logger);
  const common = {
    token: slack.botToken,
    logger: bolt,
    clientOptions,
    deferInitialization: true,
  };
  if (slack.socketMode) {
    // Built here rather than by Bolt, so that its socket client's state can be followed (readiness).
    const receiver = new SocketModeReceiver({
      appToken: slack.appToken ?? '',
      logger: bolt,
      customRoutes,
      installerOptions: { port, clientOptions },
    });
    let up = false;
    receiver.client.on('connected', () => {
      up = true;
    });
    for (const event of DOWN_EVENTS) {
      receiver.client.on(event, () => {
        up = false;
      });
    }
    const connection: SlackConnection = {
      get connected() {
        return up;
      },
      markListening: () => {},
    };
    return { app: new App({ ...common, socketMode: true, receiver }), connection };
  }
  let listening = false;
  const connection: SlackConnection = {
    get connected() {
      return listening;
    },
    markListening: () => {
      listening = true;
    },
  };
  return {
    app: new App({ ...common, customRoutes, port, signingSecret: slack.signingSecret ?? '' }),
    connection,
  };
}
