import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { octokitFactory } from '../../src/github/octokit.js';
import { createLogger } from '../../src/lib/logger.js';

/** A GitHub stand-in on loopback: /missing answers 404, /broken 500. */
let server: Server;
let baseUrl = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    const status = req.url?.startsWith('/repos/acme/widgets/contents/AGENTS.md') ? 404 : 500;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'no' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function logged() {
  const out = new PassThrough();
  const lines: Array<{ level: number; msg: string }> = [];
  out.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
  });
  const logger = createLogger({ level: 'debug', redact: (s) => s, destination: out, format: 'json' });
  return { logger, lines };
}

describe('octokitFactory logging', () => {
  it('logs a 4xx answer at debug (its caller handles it) and a 5xx as a warning', async () => {
    const { logger, lines } = logged();
    const octokit = octokitFactory({ baseUrl, logger, throttle: false, retries: 0 })('token');
    await expect(
      octokit.rest.repos.getContent({ owner: 'acme', repo: 'widgets', path: 'AGENTS.md' }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(octokit.rest.repos.get({ owner: 'acme', repo: 'widgets' })).rejects.toMatchObject({ status: 500 });
    const notFound = lines.find((l) => / - 404 with id /.test(l.msg));
    const broken = lines.find((l) => / - 500 with id /.test(l.msg));
    expect(notFound?.level).toBe(20);
    expect(broken?.level).toBe(40);
    expect(lines.some((l) => l.level >= 50)).toBe(false);
  });
});
