/**
 * A loopback HTTP proxy that holds chosen requests for a while before forwarding them, to make a
 * dependency slow on purpose (here: E2B's "create sandbox" call). The target is set after start,
 * since the harness starts the faked service after the bot's URL for it must be known.
 */
import { Agent, createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface DelayProxy {
  readonly url: string;
  /** Where requests go, e.g. `http://127.0.0.1:1234` (set before the first request). */
  target: string;
  /** How long to hold a request that `slow` selects. */
  delayMs: number;
  /** Which requests are held (default: none). */
  slow: (method: string, path: string) => boolean;
  /** Arrival times (ms) of the requests that were held. */
  readonly held: number[];
  close(): Promise<void>;
}

export async function startDelayProxy(): Promise<DelayProxy> {
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(req.url ?? '/', proxy.target);
    const upstream = request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host }, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(upstream);
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (proxy.delayMs > 0 && proxy.slow(req.method ?? 'GET', path)) {
      proxy.held.push(Date.now());
      req.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        req.resume();
        forward(req, res);
      }, proxy.delayMs);
      timers.add(timer);
      return;
    }
    forward(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const proxy: DelayProxy = {
    url: `http://127.0.0.1:${port}`,
    target: '',
    delayMs: 0,
    slow: () => false,
    held: [],
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      agent.destroy();
    },
  };
  return proxy;
}
