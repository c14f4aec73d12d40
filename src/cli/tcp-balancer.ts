/**
 * A tiny TCP load balancer: several service endpoints (bot instances) behind one URL, the way Restate sees them
 * (one deployment = one URL). `ai-dev balance` runs it for a trial on one machine; the tests run it in-process.
 *
 * Plain byte piping, so it carries HTTP/2 cleartext (Restate calls service endpoints over h2c). Each new client
 * connection goes to the next target round-robin; a target that refuses the connection is skipped (the next one is
 * tried before any client byte is forwarded). Half-closes are passed through (`allowHalfOpen`). Balancing is per TCP connection, not per request: Restate keeps
 * its HTTP/2 connection to a deployment open and multiplexes invocations on it, so all of them land on one
 * instance until that connection breaks (instance killed) and Restate reconnects.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpTarget {
  host?: string;
  port: number;
}

export interface TcpBalancerOptions {
  /** Interface to listen on (default 127.0.0.1: nothing but this machine reaches it unless asked). */
  host?: string;
  /** Port to listen on (default 0: any free port, read it back from `port`). */
  port?: number;
}

export interface TcpBalancer {
  /** `http://<host>:<port>`: the URL to register as the deployment (a wildcard host reads as 127.0.0.1). */
  url: string;
  /** The interface it listens on, as given. */
  host: string;
  port: number;
  /** The targets as normalised (`host` filled in), in round-robin order. */
  targets(): Array<Required<TcpTarget>>;
  /** Replaces the targets; open connections stay where they are. */
  setTargets(targets: Array<TcpTarget | number>): void;
  /** Connections accepted so far per `host:port` (for assertions). */
  connections(): Record<string, number>;
  /** Cuts every open connection (as if the network dropped), keeps listening. */
  dropConnections(): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

export async function startTcpBalancer(
  targets: Array<TcpTarget | number>,
  options: TcpBalancerOptions = {},
): Promise<TcpBalancer> {
  const host = options.host ?? '127.0.0.1';
  let list = normalise(targets);
  let next = 0;
  const sockets = new Set<Socket>();
  const counts: Record<string, number> = {};

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    track(client);
    client.on('error', () => {});
    const order = list.length === 0 ? [] : list.map((_, index) => list[(next + index) % list.length]);
    next = list.length === 0 ? 0 : (next + 1) % list.length;

    const tryTarget = (index: number) => {
      const target = order[index];
      if (!target || client.destroyed) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
      track(upstream);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        const name = `${target.host}:${target.port}`;
        counts[name] = (counts[name] ?? 0) + 1;
        upstream.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => {
        // Refused (a dead instance) before connecting: try the next target.
        if (!connected) tryTarget(index + 1);
        else client.destroy();
      });
      // Orderly ends travel through the pipes (FIN both ways); an error on one side resets the other.
      upstream.once('close', (hadError) => {
        if (connected && hadError) client.destroy();
      });
      client.once('close', (hadError) => {
        if (hadError || !connected) upstream.destroy();
        else upstream.end();
      });
    };
    tryTarget(0);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('balancer has no TCP address');

  return {
    url: `http://${urlHost(host)}:${address.port}`,
    host,
    port: address.port,
    targets: () => list.map((target) => ({ ...target })),
    setTargets(newTargets) {
      list = normalise(newTargets);
      next = 0;
    },
    connections: () => ({ ...counts }),
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function normalise(targets: Array<TcpTarget | number>): Array<Required<TcpTarget>> {
  return targets.map((target) =>
    typeof target === 'number'
      ? { host: '127.0.0.1', port: target }
      : { host: target.host ?? '127.0.0.1', port: target.port },
  );
}

/** `host:port` as people write it (IPv6 in brackets). */
export function formatTarget(target: Required<TcpTarget>): string {
  return `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
}

function urlHost(host: string): string {
  // A wildcard is where it listens, not an address to dial: the loopback reaches it from this machine.
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
