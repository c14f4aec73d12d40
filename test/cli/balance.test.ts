import { once } from 'node:events';
import { type AddressInfo, createConnection, createServer, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBalanceArgs } from '../../src/cli/balance.js';
import { cli } from '../../src/cli/main.js';
import { freePort } from '../helpers/free-port.js';
import { CLI_MAIN, startProcess } from '../helpers/process.js';

/** `ai-dev <argv>` in-process with no environment at all (balance needs none). */
async function runCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await cli(argv, { env: {}, stdout, stderr });
  return { code, stdout: out, stderr: err };
}

/** A loopback server that answers `<name>:` followed by what it was sent, and ends when the client ends. */
async function namedEcho(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.write(`${name}:`);
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends `ping`, half-closes, and reads everything until the other side closes. */
async function exchange(port: number): Promise<string> {
  const socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString();
  });
  socket.end('ping');
  await once(socket, 'close');
  return received;
}

describe('ai-dev balance: usage', () => {
  it('reads ports and host:port targets, the host defaulting to the loopback', () => {
    expect(parseBalanceArgs(['--listen', '9080', '9081', '10.0.0.5:9082', '[::1]:9083'])).toEqual({
      listen: { host: '127.0.0.1', port: 9080 },
      targets: [
        { host: '127.0.0.1', port: 9081 },
        { host: '10.0.0.5', port: 9082 },
        { host: '::1', port: 9083 },
      ],
    });
    expect(parseBalanceArgs(['9081', '--listen=0.0.0.0:9080']).listen).toEqual({ host: '0.0.0.0', port: 9080 });
  });

  it.each([
    [['--listen', '9080'], /give at least one target/],
    [['9081'], /say where to listen/],
    [['--listen', '70000', '9081'], /--listen "70000" is not \[host:\]port/],
    [['--listen', '9080', 'abc'], /target "abc" is not \[host:\]port/],
    [['--listen', '9080', '0'], /target "0" is not \[host:\]port with a port from 1/],
    [['--listen', '9080', '--weights', '9081'], /Unknown option '--weights'/],
  ])('%j → exit 2 with what is wrong and the usage', async (argv, message) => {
    const result = await runCli(['balance', ...argv]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: ai-dev balance --listen [host:]port target');
    expect(result.stdout).toBe('');
  });

  it('is listed in the help', async () => {
    expect((await runCli(['help'])).stdout).toContain('ai-dev balance --listen [host:]port target [target...]');
  });
});

describe('ai-dev balance: the real command', () => {
  let a: { server: Server; port: number };
  let b: { server: Server; port: number };

  beforeAll(async () => {
    [a, b] = await Promise.all([namedEcho('a'), namedEcho('b')]);
  });
  afterAll(async () => {
    for (const s of [a, b]) s?.server.close();
  });

  it('forwards connections round-robin, skips a dead target, and stops with exit 0 on SIGTERM', async () => {
    const dead = await freePort();
    // No environment beyond PATH: the command needs no configuration.
    const { child, exit } = startProcess(
      CLI_MAIN,
      ['balance', '--listen', '0', String(a.port), String(b.port), `127.0.0.1:${dead}`],
      {},
      process.cwd(),
    );
    try {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
      });
      while (!out.includes('\n')) {
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const line = /listening on 127\.0\.0\.1:(\d+), forwarding each connection round-robin to (.+) \(/.exec(out);
      expect(line, out).not.toBeNull();
      expect(line?.[2]).toBe(`127.0.0.1:${a.port}, 127.0.0.1:${b.port}, 127.0.0.1:${dead}`);
      const port = Number(line?.[1]);

      // One connection after the other: a, b, then the dead one is skipped for the next.
      const answers: string[] = [];
      for (let i = 0; i < 6; i += 1) answers.push(await exchange(port));
      expect(answers.slice(0, 3)).toEqual(['a:ping', 'b:ping', 'a:ping']);
      expect(answers.every((answer) => answer === 'a:ping' || answer === 'b:ping')).toBe(true);
      expect(answers.filter((answer) => answer === 'b:ping').length).toBeGreaterThanOrEqual(2);

      child.kill('SIGTERM');
      const result = await exit;
      expect(result.code, result.stderr).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
