import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { networkPolicy } from '../../src/config/network.js';
import { AbortedError } from '../../src/lib/errors.js';
import { E2BSandboxProvider, type E2BSandboxProviderOptions } from '../../src/sandbox/e2b-sandbox.js';
import { type Sandbox, SandboxError, SandboxGoneError } from '../../src/sandbox/sandbox.js';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import { captureLogger } from '../helpers/logger.js';

let fake: FakeE2B;
const log = captureLogger();
const made: Sandbox[] = [];

function provider(overrides: Partial<E2BSandboxProviderOptions> = {}): E2BSandboxProvider {
  return new E2BSandboxProvider({
    ...fake.connectionOpts,
    template: 'base',
    logger: log.logger,
    retry: { retries: 3, minDelayMs: 20 },
    ...overrides,
  });
}

async function create(
  options: Partial<E2BSandboxProviderOptions> = {},
  metadata: Record<string, string> = { suite: 'e2b-sandbox' },
): Promise<Sandbox> {
  const sandbox = await provider(options).create({ metadata, timeoutMs: 120_000 });
  made.push(sandbox);
  return sandbox;
}

const starts = (id: string) => fake.envdRequests.filter((r) => r.sandboxId === id && r.path.endsWith('/Start'));

beforeAll(async () => {
  fake = await startFakeE2B();
});

afterEach(async () => {
  for (const sandbox of made.splice(0)) await sandbox.kill().catch(() => undefined);
});

afterAll(async () => {
  await fake.close();
  expect(log.text()).not.toContain(fake.apiKey);
});

describe('E2BSandboxProvider.create', () => {
  it('records template, lifetime and metadata, gives no env vars, and detects the home', async () => {
    const sandbox = await create({}, { thread: 'C1/1700000000.1', repo: 'acme/widgets' });
    expect(sandbox.provider).toBe('e2b');
    const info = fake.sandbox(sandbox.id);
    expect(info).toMatchObject({
      templateId: 'base',
      requestedTimeoutMs: 120_000,
      metadata: { thread: 'C1/1700000000.1', repo: 'acme/widgets' },
      envVars: {},
      state: 'running',
      autoPause: false,
    });
    expect(sandbox.home).toBe(fake.homeDir(sandbox.id));
    const call = fake.requests.find(
      (r) => r.op === 'create' && r.status === 201 && JSON.stringify(r.body).includes('C1/1700000000.1'),
    );
    expect(call?.body).toMatchObject({ templateID: 'base', timeout: 120 });
    expect((call?.body as { envVars?: object } | undefined)?.envVars ?? {}).toEqual({});
    expect(JSON.stringify(fake.requests)).not.toContain(fake.apiKey);
  });

  it('asks E2B to pause instead of kill when lifecycle is pause; connect resumes it', async () => {
    const sandbox = await create({ lifecycle: 'pause' });
    expect(fake.sandbox(sandbox.id)?.autoPause).toBe(true);
    fake.expire(sandbox.id);
    expect(fake.sandbox(sandbox.id)?.state).toBe('paused');
    await expect(sandbox.exec('echo hi', { timeoutMs: 5_000 })).rejects.toBeInstanceOf(SandboxGoneError);
    const resumed = await provider().connect(sandbox.id, 60_000);
    expect(resumed?.id).toBe(sandbox.id);
    expect((await resumed?.exec('echo back', { timeoutMs: 5_000 }))?.stdout).toBe('back\n');
  });

  it('retries a 503 and succeeds', async () => {
    fake.failNext({ op: 'create', status: 503, times: 2 });
    const before = fake.requests.filter((r) => r.op === 'create').length;
    const sandbox = await create();
    expect(fake.requests.filter((r) => r.op === 'create').length - before).toBe(3);
    expect((await sandbox.exec('echo ok', { timeoutMs: 5_000 })).stdout).toBe('ok\n');
  });

  it('gives up after the retries with a transient error', async () => {
    fake.failNext({ op: 'create', status: 500, times: 4, message: 'boom' });
    const error = await create().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ kind: 'transient', code: 'e2b_unavailable' });
  });

  it('a bad API key is permanent, not retried, and names E2B_API_KEY', async () => {
    const before = fake.requests.length;
    const error = await create({ apiKey: 'e2b_wrong_key_000000000000' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ kind: 'permanent', code: 'e2b_auth' });
    expect((error as SandboxError).userMessage).toContain('E2B_API_KEY');
    expect(fake.requests.length - before).toBe(1);
  });

  it('an unknown template is permanent and names E2B_TEMPLATE', async () => {
    fake.failNext({ op: 'create', status: 404, message: "template 'nope' not found" });
    const error = await create({ template: 'nope' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'permanent', code: 'e2b_template' });
    expect((error as SandboxError).userMessage).toContain('E2B_TEMPLATE');
  });

  it('an unreachable API is transient after the retries', async () => {
    const closed = await listenThenClose();
    const error = await create({ apiUrl: closed }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient' });
  });
});

describe('E2BSandbox.exec', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await provider().create({ metadata: { suite: 'exec' }, timeoutMs: 120_000 });
  });
  afterAll(async () => {
    await sandbox.kill();
  });

  it('returns stdout, stderr and exit code; a non-zero exit does not throw', async () => {
    const ok = await sandbox.exec('echo out; echo err >&2', { timeoutMs: 5_000 });
    expect(ok).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);
    const failed = await sandbox.exec('echo partial; echo bad >&2; exit 3', { timeoutMs: 5_000 });
    expect(failed).toMatchObject({ exitCode: 3, stdout: 'partial\n', stderr: 'bad\n', timedOut: false });
  });

  it('passes the command timeout explicitly (never the SDK default of 60 s)', async () => {
    await sandbox.exec('true', { timeoutMs: 600_000 });
    expect(starts(sandbox.id).at(-1)?.connectTimeoutMs).toBe(600_000);
  });

  it('runs in the home by default, or in cwd', async () => {
    expect((await sandbox.exec('pwd', { timeoutMs: 5_000 })).stdout).toBe(`${sandbox.home}\n`);
    await sandbox.makeDirectory(`${sandbox.home}/repo/pkg`);
    const inRepo = await sandbox.exec('pwd', { cwd: `${sandbox.home}/repo/pkg`, timeoutMs: 5_000 });
    expect(inRepo.stdout).toBe(`${sandbox.home}/repo/pkg\n`);
  });

  it('a missing cwd is a SandboxError, as locally', async () => {
    const error = await sandbox.exec('pwd', { cwd: `${sandbox.home}/missing`, timeoutMs: 5_000 }).catch((e) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).not.toBeInstanceOf(SandboxGoneError);
    expect(error).toMatchObject({ code: 'exec_failed', kind: 'permanent' });
  });

  it('gives env to that one command only', async () => {
    const first = await sandbox.exec('echo "[$ONE_OFF]"', { env: { ONE_OFF: 'secret-ish' }, timeoutMs: 5_000 });
    expect(first.stdout).toBe('[secret-ish]\n');
    const second = await sandbox.exec('echo "[$ONE_OFF]"', { timeoutMs: 5_000 });
    expect(second.stdout).toBe('[]\n');
  });

  it('streams output to the callbacks and returns it all', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const result = await sandbox.exec('for i in 1 2 3; do echo line$i; echo e$i >&2; done', {
      timeoutMs: 5_000,
      onStdout: (chunk) => out.push(chunk),
      onStderr: (chunk) => err.push(chunk),
    });
    expect(out.join('')).toBe('line1\nline2\nline3\n');
    expect(err.join('')).toBe('e1\ne2\ne3\n');
    expect(result.stdout).toBe(out.join(''));
  });

  it('a command past its timeout comes back quickly as timedOut with exit 124 and the output so far', async () => {
    // Killed at 1 s: "after" never comes.
    const result = await sandbox.exec('echo before; sleep 5; echo after', { timeoutMs: 1_000 });
    expect(result).toMatchObject({ timedOut: true, exitCode: 124, stdout: 'before\n' });
    await expect.poll(() => fake.sandbox(sandbox.id)?.runningPids, { timeout: 2_000 }).toEqual([]);
  });

  it('a signal death reads as 128 + signal', async () => {
    const result = await sandbox.exec('kill -9 $$', { timeoutMs: 5_000 });
    expect(result.exitCode).toBe(137);
  });

  it('abort kills the process and rejects with AbortedError within about a second', async () => {
    const controller = new AbortController();
    const running = sandbox.exec('sleep 30', { timeoutMs: 60_000, signal: controller.signal });
    await expect.poll(() => fake.sandbox(sandbox.id)?.runningPids.length, { timeout: 3_000 }).toBe(1);
    controller.abort(new Error('stopped by U1'));
    // Not killed, the 30 s sleep would outlive the test's timeout.
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(fake.sandbox(sandbox.id)?.runningPids).toEqual([]);
  });

  it('an already-aborted signal runs nothing', async () => {
    const before = starts(sandbox.id).length;
    await expect(
      sandbox.exec('touch should-not-exist', { timeoutMs: 5_000, signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(starts(sandbox.id).length).toBe(before);
  });
});

describe('E2BSandbox files', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await provider().create({ metadata: { suite: 'files' }, timeoutMs: 120_000 });
  });
  afterAll(async () => {
    await sandbox.kill();
  });

  it('writes a batch in one request, creating parent directories, and reads bytes back exactly', async () => {
    const binary = new Uint8Array(512);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 31) % 256;
    const before = fake.envdRequests.length;
    await sandbox.writeFiles([
      { path: `${sandbox.home}/w/a.txt`, data: 'héllo\n' },
      { path: `${sandbox.home}/w/deep/er/b.bin`, data: binary },
      // a view into a larger buffer: only its own bytes are written
      { path: `${sandbox.home}/w/view.bin`, data: binary.subarray(10, 20) },
    ]);
    const uploads = fake.envdRequests.slice(before).filter((r) => r.path === '/files' && r.method === 'POST');
    expect(uploads).toHaveLength(1);
    expect(Buffer.from(await sandbox.readFile(`${sandbox.home}/w/a.txt`)).toString('utf8')).toBe('héllo\n');
    expect(Buffer.from(await sandbox.readFile(`${sandbox.home}/w/deep/er/b.bin`)).equals(Buffer.from(binary))).toBe(
      true,
    );
    expect([...(await sandbox.readFile(`${sandbox.home}/w/view.bin`))]).toEqual([...binary.subarray(10, 20)]);
  });

  it('reads an empty file as zero bytes', async () => {
    await sandbox.writeFiles([{ path: `${sandbox.home}/empty.txt`, data: '' }]);
    expect((await sandbox.readFile(`${sandbox.home}/empty.txt`)).length).toBe(0);
  });

  it('a missing file is a permanent file_not_found SandboxError', async () => {
    const error = await sandbox.readFile(`${sandbox.home}/nope.txt`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ code: 'file_not_found', kind: 'permanent' });
    expect((error as Error & { cause: { code: string } }).cause.code).toBe('ENOENT');
  });

  it('reading a directory or listing a file says so', async () => {
    await sandbox.writeFiles([{ path: `${sandbox.home}/d/f.txt`, data: 'x' }]);
    await expect(sandbox.readFile(`${sandbox.home}/d`)).rejects.toMatchObject({ code: 'is_a_directory' });
    await expect(sandbox.listDirectory(`${sandbox.home}/d/f.txt`)).rejects.toMatchObject({ code: 'not_a_directory' });
    await expect(sandbox.listDirectory(`${sandbox.home}/d/none`)).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('lists a directory with types', async () => {
    await sandbox.writeFiles([
      { path: `${sandbox.home}/l/file.txt`, data: 'x' },
      { path: `${sandbox.home}/l/sub/inner.txt`, data: 'y' },
    ]);
    await sandbox.exec('ln -s file.txt link', { cwd: `${sandbox.home}/l`, timeoutMs: 5_000 });
    const entries = await sandbox.listDirectory(`${sandbox.home}/l`);
    expect(entries.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'file.txt', type: 'file' },
      { name: 'link', type: 'symlink' },
      { name: 'sub', type: 'directory' },
    ]);
  });

  it('makeDirectory creates parents, and says false the second time', async () => {
    expect(await sandbox.makeDirectory(`${sandbox.home}/m/n/o`)).toBe(true);
    expect(await sandbox.makeDirectory(`${sandbox.home}/m/n/o`)).toBe(false);
    expect(await sandbox.listDirectory(`${sandbox.home}/m/n`)).toEqual([{ name: 'o', type: 'directory' }]);
  });
});

describe('E2BSandbox reads are bounded', () => {
  // The read is streamed and counted (an endless device is cut the same way; the fake serves a device as
  // empty, since it sends the stat size as content-length, so only the local test shows that case).
  it('stops reading a file at its byte cap', async () => {
    const sandbox = await create();
    await sandbox.exec('head -c 3000000 /dev/zero > big.bin', { timeoutMs: 10_000 });
    await expect(sandbox.readFile(`${sandbox.home}/big.bin`, { maxBytes: 2 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'file_too_large',
    });
    expect((await sandbox.readFile(`${sandbox.home}/big.bin`)).length).toBe(3_000_000);
  });
});

describe('E2B lifecycle', () => {
  it('connect by id returns the same sandbox and extends its life', async () => {
    const sandbox = await create();
    const again = await provider().connect(sandbox.id, 600_000);
    expect(again?.id).toBe(sandbox.id);
    expect(again?.home).toBe(sandbox.home);
    const call = fake.requests.filter((r) => r.op === 'connect' && r.sandboxId === sandbox.id).at(-1);
    expect(call).toMatchObject({ status: 200, body: { timeout: 600 } });
    expect(fake.sandbox(sandbox.id)?.timeoutMs).toBe(600_000);
    expect((await again?.exec('echo same', { timeoutMs: 5_000 }))?.stdout).toBe('same\n');
  });

  it('an expired sandbox: connect → undefined, the old handle → SandboxGoneError', async () => {
    const sandbox = await create();
    await sandbox.writeFiles([{ path: `${sandbox.home}/x.txt`, data: 'x' }]);
    fake.expire(sandbox.id);
    expect(await provider().connect(sandbox.id, 60_000)).toBeUndefined();
    await expect(sandbox.exec('echo x', { timeoutMs: 5_000 })).rejects.toBeInstanceOf(SandboxGoneError);
    await expect(sandbox.readFile(`${sandbox.home}/x.txt`)).rejects.toBeInstanceOf(SandboxGoneError);
    await expect(sandbox.listDirectory(sandbox.home)).rejects.toBeInstanceOf(SandboxGoneError);
    expect(await sandbox.kill()).toBe(false);
  });

  it('a sandbox killed during a command → SandboxGoneError', async () => {
    const sandbox = await create();
    const running = sandbox.exec('sleep 20', { timeoutMs: 60_000 });
    await expect.poll(() => fake.sandbox(sandbox.id)?.runningPids.length, { timeout: 3_000 }).toBe(1);
    fake.kill(sandbox.id);
    await expect(running).rejects.toBeInstanceOf(SandboxGoneError);
  });

  it('kill → true, then false; the handle is gone afterwards', async () => {
    const sandbox = await create();
    expect(await sandbox.kill()).toBe(true);
    expect(fake.sandbox(sandbox.id)?.state).toBe('killed');
    expect(await sandbox.kill()).toBe(false);
    await expect(sandbox.exec('true', { timeoutMs: 5_000 })).rejects.toBeInstanceOf(SandboxGoneError);
    expect(await provider().connect(sandbox.id, 60_000)).toBeUndefined();
  });

  it('a connect that times out is treated as gone', async () => {
    const { url, server } = await silentServer();
    try {
      // The server never answers: without the request timeout this would hang until the test's own timeout.
      const result = await provider({ apiUrl: url, requestTimeoutMs: 300 }).connect('i-silent', 60_000);
      expect(result).toBeUndefined();
      expect(log.text()).toContain('treating the sandbox as gone');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a bad key on connect is permanent and names E2B_API_KEY', async () => {
    const sandbox = await create();
    const error = await provider({ apiKey: 'e2b_wrong_key_000000000000' })
      .connect(sandbox.id, 60_000)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'permanent', code: 'e2b_auth' });
    expect((error as SandboxError).userMessage).toContain('E2B_API_KEY');
  });
});

/** A server that accepts requests and never answers. */
async function silentServer(): Promise<{ url: string; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A URL on which nothing listens any more. */
async function listenThenClose(): Promise<string> {
  const { url, server } = await silentServer();
  await new Promise((resolve) => server.close(resolve));
  return url;
}

describe('E2B network rules for each SANDBOX_NETWORK', () => {
  const policy = (mode: 'registries' | 'open' | 'none', extra: string[] = []) =>
    networkPolicy(mode, 'https://github.example.com', extra);

  it('registries: everything denied but the registries and the GitHub host; no public inbound traffic', async () => {
    const sandbox = await create({ network: policy('registries', ['pkg.example.org']) });
    const seen = fake.network(sandbox.id);
    expect(seen.network).toMatchObject({ denyOut: ['0.0.0.0/0'], allowPublicTraffic: false });
    expect(seen.egress.allowedDomains).toEqual(
      expect.arrayContaining([
        'registry.npmjs.org',
        'pypi.org',
        'proxy.golang.org',
        'github.example.com',
        'pkg.example.org',
      ]),
    );
    expect(seen.egress.allowedDomains).not.toContain('github.com');
    expect(seen.egress.deniedCidrs).toEqual(['0.0.0.0/0']);
  });

  it('none: no internet at all; with extra hosts, only those', async () => {
    const closed = await create({ network: policy('none') });
    expect(fake.network(closed.id)).toMatchObject({
      allowInternetAccess: false,
      network: { allowPublicTraffic: false },
    });
    const narrow = await create({ network: policy('none', ['mirror.example.org']) });
    expect(fake.network(narrow.id).egress.allowedDomains).toEqual(['mirror.example.org']);
  });

  it('open: outbound allowed, public inbound traffic still closed', async () => {
    const sandbox = await create({ network: policy('open') });
    const seen = fake.network(sandbox.id);
    expect(seen.network).toEqual({ allowPublicTraffic: false });
    expect(seen.egress.deniedCidrs).toEqual([]);
  });
});
