import { createServer, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as restate from '@restatedev/restate-sdk';
import type { Logger } from '../../lib/logger.js';

export interface RestateEndpoint {
  /** The port bound (the configured one, or the one picked for port 0). */
  port: number;
  /** Stops listening and cuts the open connections: Restate retries their runs on another instance. */
  close(): Promise<void>;
}

/** Serves the bot's Restate services over HTTP/2 cleartext, the way Restate calls a deployment. */
export async function startRestateEndpoint(
  services: Parameters<typeof restate.createEndpointHandler>[0]['services'],
  listen: { port: number; host?: string },
  logger: Logger,
): Promise<RestateEndpoint> {
  const log = logger.child({ component: 'restate' });
  const server = createServer(
    restate.createEndpointHandler({
      services,
      // The SDK's own lines go through our (redacting) logger, not the console; none while replaying.
      logger: (meta, message, ...rest) => {
        if (meta.replaying) return;
        const level =
          meta.level === 'trace'
            ? 'trace'
            : meta.level === 'debug'
              ? 'debug'
              : meta.level === 'info'
                ? 'debug'
                : meta.level === 'warn'
                  ? 'warn'
                  : 'error';
        log[level](
          { invocation: meta.context?.invocationId, rest: rest.length > 0 ? rest : undefined },
          String(message),
        );
      },
    }),
  );
  const sessions = new Set<Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      await closed;
    },
  };
}
