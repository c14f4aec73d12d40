import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  ALL_TRAFFIC,
  AuthenticationError,
  CommandExitError,
  E2B,
  FileNotFoundError,
  RateLimitError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  TimeoutError,
} from 'e2b';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeE2B, type FakeE2BOptions, startFakeE2B } from './index.js';

let fake: FakeE2B;
const created: Sandbox[] = [];

async function create(opts: Parameters<typeof Sandbox.create>[1] = {}): Promise<Sandbox> {
  const sbx = await Sandbox.create('base', { ...fake.connectionOpts, ...opts });
  created.push(sbx);
  return sbx;
}

beforeAll(async () => {
  fake = await startFakeE2B();
});

afterEach(async () => {
  for (const sbx of created.splice(0)) await sbx.kill().catch(() => undefined);
});

afterAll(async () => {
  await fake.close();
});

/** A separate fake for one test (own limits), closed at the end of the test. */
async function withFake<T>(options: FakeE2BOptions, fn: (own: FakeE2B) => Promise<T>): Promise<T> {
  const own = await startFakeE2B(options);
  try {
    return await fn(own);
  } finally {
    await own.close();
  }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('control plane', () => {
  it('records template, timeout, metadata and envs given at create', async () => {
    const sbx = await create({ timeoutMs: 120_000, metadata: { thread: 't-1', team: 'a' }, envs: { GREETING: 'hi' } });
    const info = fake.sandbox(sbx.sandboxId);
    expect(info).toMatchObject({
      sandboxId: sbx.sandboxId,
      templateId: 'base',
      metadata: { thread: 't-1', team: 'a' },
      envVars: { GREETING: 'hi' },
      requestedTimeoutMs: 120_000,
      state: 'running',
    });
    expect(info?.homeDir).toBe(`${fake.rootDir}/${sbx.sandboxId}/home/user`);
    const call = fake.requests.find((r) => r.op === 'create' && r.status === 201);
    expect(call?.body).toMatchObject({ templateID: 'base', timeout: 120, metadata: { thread: 't-1', team: 'a' } });
    expect(JSON.stringify(fake.requests)).not.toContain(fake.apiKey);
    // the SDK keeps the connection options on the instance
    const sdkInfo = await sbx.getInfo();
    expect(sdkInfo).toMatchObject({ sandboxId: sbx.sandboxId, templateId: 'base', state: 'running' });
    expect(sdkInfo.metadata).toEqual({ thread: 't-1', team: 'a' });
    expect(await sbx.isRunning()).toBe(true);
  });

  it('connect returns the same sandbox and extends the timeout; kill then connect → SandboxNotFoundError', async () => {
    const sbx = await create({ timeoutMs: 30_000 });
    const again = await Sandbox.connect(sbx.sandboxId, { ...fake.connectionOpts, timeoutMs: 600_000 });
    expect(again.sandboxId).toBe(sbx.sandboxId);
    const connect = fake.requests.filter((r) => r.op === 'connect' && r.sandboxId === sbx.sandboxId).at(-1);
    expect(connect).toMatchObject({ status: 200, body: { timeout: 600 } });
    expect(fake.sandbox(sbx.sandboxId)?.timeoutMs).toBe(600_000);
    expect((await again.commands.run('echo same')).stdout).toBe('same\n');

    expect(await again.kill()).toBe(true);
    expect(await Sandbox.kill(sbx.sandboxId, fake.connectionOpts)).toBe(false);
    expect(fake.sandbox(sbx.sandboxId)?.state).toBe('killed');
    await expect(Sandbox.connect(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(sbx.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('works through an explicitly bound E2B client (no process.env)', async () => {
    const client = new E2B(fake.connectionOpts);
    const sbx = await client.Sandbox.create('base', { metadata: { suite: 'client' } });
    created.push(sbx);
    const again = await client.Sandbox.connect(sbx.sandboxId);
    expect((await again.commands.run('echo ok')).stdout).toBe('ok\n');
    const listed = await client.Sandbox.list({ query: { metadata: { suite: 'client' } } }).nextItems();
    expect(listed.map((s) => s.sandboxId)).toEqual([sbx.sandboxId]);
  });

  it('lists by metadata and state', async () => {
    const a = await create({ metadata: { suite: 'list', which: 'a' } });
    const b = await create({ metadata: { suite: 'list', which: 'b & c=d' } });
    await create({ metadata: { suite: 'other' } });
    const byMeta = await Sandbox.list({ ...fake.connectionOpts, query: { metadata: { suite: 'list' } } }).nextItems();
    expect(byMeta.map((s) => s.sandboxId).sort()).toEqual([a.sandboxId, b.sandboxId].sort());
    const tricky = await Sandbox.list({
      ...fake.connectionOpts,
      query: { metadata: { which: 'b & c=d' } },
    }).nextItems();
    expect(tricky.map((s) => s.sandboxId)).toEqual([b.sandboxId]);

    expect(await b.pause()).toBe(true);
    expect(await b.pause()).toBe(false);
    const paused = await Sandbox.list({ ...fake.connectionOpts, query: { state: ['paused'] } }).nextItems();
    expect(paused.map((s) => s.sandboxId)).toEqual([b.sandboxId]);
    // connect resumes a paused sandbox
    const resumed = await Sandbox.connect(b.sandboxId, fake.connectionOpts);
    expect((await resumed.commands.run('echo back')).stdout).toBe('back\n');
  });

  it('paginates with x-next-token', async () => {
    for (let i = 0; i < 3; i++) await create({ metadata: { suite: 'pages' } });
    const paginator = Sandbox.list({ ...fake.connectionOpts, limit: 2, query: { metadata: { suite: 'pages' } } });
    const first = await paginator.nextItems();
    expect(first).toHaveLength(2);
    expect(paginator.hasNext).toBe(true);
    const second = await paginator.nextItems();
    expect(second).toHaveLength(1);
    expect(paginator.hasNext).toBe(false);
  });

  it('rejects a bad API key and injects failures', async () => {
    await expect(Sandbox.create('base', { ...fake.connectionOpts, apiKey: 'e2b_wrong' })).rejects.toBeInstanceOf(
      AuthenticationError,
    );
    fake.failNext({ op: 'create', status: 500, message: 'boom' });
    await expect(create()).rejects.toThrow('500: boom');
    fake.failNext({ op: 'create', status: 429, times: 2 });
    await expect(create()).rejects.toBeInstanceOf(RateLimitError);
    await expect(create()).rejects.toBeInstanceOf(RateLimitError);
    // a 429 with Retry-After is retried by the SDK
    fake.failNext({ op: 'create', status: 429, retryAfterSeconds: 0 });
    const sbx = await create();
    fake.failNext({ op: 'connect', status: 404 });
    await expect(Sandbox.connect(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('setTimeout moves endAt; expiry kills the sandbox', async () => {
    const sbx = await create({ timeoutMs: 60_000 });
    await sbx.setTimeout(1_000);
    const endAt = fake.sandbox(sbx.sandboxId)?.endAt.getTime() ?? 0;
    expect(endAt - Date.now()).toBeLessThanOrEqual(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(fake.sandbox(sbx.sandboxId)).toMatchObject({ state: 'killed', endReason: 'expired' });
    await expect(Sandbox.connect(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });
});

describe('files', () => {
  it('writes and reads text and bytes byte-exact', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    const info = await sbx.files.write(`${home}/notes/hello.txt`, 'héllo wörld\n');
    expect(info).toMatchObject({ name: 'hello.txt', type: 'file', path: `${home}/notes/hello.txt` });
    expect(await sbx.files.read(`${home}/notes/hello.txt`)).toBe('héllo wörld\n');

    const bytes = new Uint8Array(256 * 3);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    await sbx.files.write(`${home}/bin/data.bin`, bytes.buffer);
    const back = await sbx.files.read(`${home}/bin/data.bin`, { format: 'bytes' });
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    // relative paths resolve against the home, like envd
    expect(await sbx.files.read('notes/hello.txt')).toBe('héllo wörld\n');
    expect(await sbx.files.read(`${home}/empty`).catch((e: unknown) => e)).toBeInstanceOf(FileNotFoundError);
    await sbx.files.write(`${home}/empty`, '');
    expect(await sbx.files.read(`${home}/empty`)).toBe('');
  });

  it('batch write goes out as one multipart request', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    const before = fake.envdRequests.length;
    const written = await sbx.files.write([
      { path: `${home}/repo/a.txt`, data: 'A' },
      { path: `${home}/repo/sub/b "q".txt`, data: 'B' },
      { path: `${home}/repo/c.bin`, data: new Uint8Array([0, 255, 10, 13]).buffer },
    ]);
    expect(written.map((w) => w.path)).toEqual([
      `${home}/repo/a.txt`,
      `${home}/repo/sub/b "q".txt`,
      `${home}/repo/c.bin`,
    ]);
    const uploads = fake.envdRequests.slice(before).filter((r) => r.path === '/files' && r.method === 'POST');
    expect(uploads).toHaveLength(1);
    expect(uploads[0]?.query.path).toBeUndefined();
    expect(await sbx.files.read(`${home}/repo/sub/b "q".txt`)).toBe('B');
    expect([...(await sbx.files.read(`${home}/repo/c.bin`, { format: 'bytes' }))]).toEqual([0, 255, 10, 13]);
  });

  it('accepts octet-stream and gzip uploads', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.write(`${home}/raw.txt`, 'raw body', { useOctetStream: true });
    await sbx.files.write(`${home}/gz.txt`, 'gzipped body', { gzip: true });
    expect(await sbx.files.read(`${home}/raw.txt`)).toBe('raw body');
    expect(await sbx.files.read(`${home}/gz.txt`)).toBe('gzipped body');
  });

  it('lists, makes dirs, checks existence, renames and removes', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    expect(await sbx.files.makeDir(`${home}/proj/src`)).toBe(true);
    expect(await sbx.files.makeDir(`${home}/proj/src`)).toBe(false);
    await sbx.files.write(`${home}/proj/README.md`, '# hi');
    await sbx.files.write(`${home}/proj/src/main.ts`, 'export {};');

    const top = await sbx.files.list(`${home}/proj`);
    expect(top.map((e) => [e.name, e.type])).toEqual([
      ['src', 'dir'],
      ['README.md', 'file'],
    ]);
    const readme = top.find((e) => e.name === 'README.md');
    expect(readme).toMatchObject({ path: `${home}/proj/README.md`, size: 4, permissions: '-rw-r--r--' });
    expect(readme?.modifiedTime).toBeInstanceOf(Date);
    const deep = await sbx.files.list(`${home}/proj`, { depth: 2 });
    expect(deep.map((e) => e.name)).toContain('main.ts');

    expect(await sbx.files.exists(`${home}/proj/README.md`)).toBe(true);
    expect(await sbx.files.exists(`${home}/proj/nope`)).toBe(false);
    await expect(sbx.files.list(`${home}/nope`)).rejects.toBeInstanceOf(FileNotFoundError);

    const moved = await sbx.files.rename(`${home}/proj/README.md`, `${home}/proj/docs/README.md`);
    expect(moved).toMatchObject({ name: 'README.md', type: 'file', path: `${home}/proj/docs/README.md` });
    await sbx.files.remove(`${home}/proj/docs`);
    expect(await sbx.files.exists(`${home}/proj/docs/README.md`)).toBe(false);
  });

  it('refuses paths outside the sandbox root', async () => {
    const sbx = await create();
    await expect(sbx.files.write('/home/user/escape.txt', 'x')).rejects.toThrow(/outside the fake sandbox/);
    await expect(sbx.files.list('/etc')).rejects.toBeInstanceOf(SandboxError);
  });
});

describe('commands', () => {
  it('runs a real shell in the sandbox home with only the given env', async () => {
    process.env.E2B_FAKE_TEST_MARKER = 'leaked';
    try {
      const sbx = await create({ envs: { SANDBOX_LEVEL: 'global' } });
      const home = fake.homeDir(sbx.sandboxId);
      const result = await sbx.commands.run(
        'echo "$HOME|$PWD|$(printenv E2B_FAKE_TEST_MARKER || echo unset)|$SANDBOX_LEVEL|$CMD_LEVEL"',
        { envs: { CMD_LEVEL: 'cmd' } },
      );
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe(`${home}|${home}|unset|global|cmd\n`);
      const env = (await sbx.commands.run('env')).stdout;
      expect(env).not.toContain('E2B_FAKE_TEST_MARKER');
      expect(env).not.toContain('VITEST');
    } finally {
      delete process.env.E2B_FAKE_TEST_MARKER;
    }
  });

  it('throws CommandExitError with code, stdout and stderr', async () => {
    const sbx = await create();
    const err = await sbx.commands.run('echo hi; echo err >&2; exit 3').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    const exit = err as CommandExitError;
    expect(exit.exitCode).toBe(3);
    expect(exit.stdout).toBe('hi\n');
    expect(exit.stderr).toBe('err\n');
    expect(exit.error).toBe('exit status 3');
  });

  it('respects cwd (absolute and relative) and streams output callbacks', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.makeDir(`${home}/repo/pkg`);
    expect((await sbx.commands.run('pwd', { cwd: `${home}/repo` })).stdout).toBe(`${home}/repo\n`);
    expect((await sbx.commands.run('pwd', { cwd: 'repo/pkg' })).stdout).toBe(`${home}/repo/pkg\n`);
    await expect(sbx.commands.run('pwd', { cwd: `${home}/missing` })).rejects.toThrow(/does not exist/);
    const seen: string[] = [];
    await sbx.commands.run('for i in 1 2 3; do echo line$i; done', { onStdout: (d) => void seen.push(d) });
    expect(seen.join('')).toBe('line1\nline2\nline3\n');
  });

  it('kills a background command with commands.kill(pid)', async () => {
    const sbx = await create();
    const handle = await sbx.commands.run('echo started; sleep 30', { background: true });
    expect((await sbx.commands.list()).map((p) => p.pid)).toContain(handle.pid);
    expect(fake.sandbox(sbx.sandboxId)?.runningPids).toContain(handle.pid);
    expect(await sbx.commands.kill(handle.pid)).toBe(true);
    const err = await handle.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandExitError);
    expect((err as CommandExitError).error).toBe('signal: killed');
    expect((err as CommandExitError).stdout).toBe('started\n');
    expect(await sbx.commands.kill(handle.pid)).toBe(false);
  });

  it('a background command survives a disconnect and can be reattached', async () => {
    const sbx = await create();
    const handle = await sbx.commands.run('read line; echo "got $line"', { background: true, stdin: true });
    await handle.disconnect();
    const again = await sbx.commands.connect(handle.pid);
    await sbx.commands.sendStdin(handle.pid, 'ping\n');
    const result = await again.wait();
    expect(result.stdout).toBe('got ping\n');
  });

  it('the command timeout travels: timeoutMs 1500 on a 5 s sleep → TimeoutError, process killed', async () => {
    const sbx = await create();
    const started = Date.now();
    const err = await sbx.commands.run('sleep 5', { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(4_000);
    const start = fake.envdRequests.filter((r) => r.sandboxId === sbx.sandboxId && r.path.endsWith('/Start')).at(-1);
    expect(start?.connectTimeoutMs).toBe(1_500);
    await expect.poll(() => fake.sandbox(sbx.sandboxId)?.runningPids.length, { timeout: 2_000 }).toBe(0);
    // longer commands: the requested timeout is what is sent; 0 sends none (no deadline)
    await sbx.commands.run('true', { timeoutMs: 120_000 });
    await sbx.commands.run('true', { timeoutMs: 0 });
    const last = fake.envdRequests.filter((r) => r.sandboxId === sbx.sandboxId && r.path.endsWith('/Start')).slice(-2);
    expect(last.map((r) => r.connectTimeoutMs)).toEqual([120_000, undefined]);
  });
});

describe('sandbox death as the SDK sees it', () => {
  it('expire → commands raise SandboxNotFoundError, files TimeoutError, isRunning false', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.write(`${home}/x.txt`, 'x');
    fake.expire(sbx.sandboxId);
    expect(fake.sandbox(sbx.sandboxId)).toMatchObject({ state: 'killed', endReason: 'expired' });
    await expect(sbx.commands.run('echo x')).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(sbx.files.read(`${home}/x.txt`)).rejects.toBeInstanceOf(TimeoutError);
    await expect(sbx.files.list(home)).rejects.toBeInstanceOf(TimeoutError);
    expect(await sbx.isRunning()).toBe(false);
    await expect(Sandbox.connect(sbx.sandboxId, fake.connectionOpts)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('a kill during a running command → TimeoutError for the waiting caller', async () => {
    const sbx = await create();
    const running = sbx.commands.run('sleep 20');
    await expect.poll(() => fake.sandbox(sbx.sandboxId)?.runningPids.length, { timeout: 2_000 }).toBe(1);
    fake.kill(sbx.sandboxId);
    await expect(running).rejects.toBeInstanceOf(TimeoutError);
  });

  it('expiry with onTimeout pause pauses instead, and connect resumes', async () => {
    const sbx = await create({ lifecycle: { onTimeout: 'pause' } });
    fake.expire(sbx.sandboxId);
    expect(fake.sandbox(sbx.sandboxId)?.state).toBe('paused');
    await expect(sbx.commands.run('echo x')).rejects.toBeInstanceOf(SandboxError);
    const resumed = await Sandbox.connect(sbx.sandboxId, fake.connectionOpts);
    expect((await resumed.commands.run('echo resumed')).stdout).toBe('resumed\n');
  });

  it('envd requires the access token', async () => {
    const sbx = await create();
    const res = await fetch(`${fake.sandboxUrl}/files?path=x`, {
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'X-Access-Token': 'wrong' },
    });
    expect(res.status).toBe(401);
    const health = await fetch(`${fake.sandboxUrl}/health`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId } });
    expect(health.status).toBe(204);
  });
});

describe('every command is observable', () => {
  it('records cmd, args, envs, cwd, user, stdin flag, time, pid and exit of every start, in order', async () => {
    const sbx = await create({ envs: { LEVEL: 'sandbox' } });
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.makeDir(`${home}/repo`);
    const before = Date.now();
    await sbx.commands.run('echo one', { envs: { STEP: '1' }, cwd: `${home}/repo`, user: 'root' });
    const handle = await sbx.commands.run('read line; echo "got $line"', { background: true, stdin: true });
    await sbx.commands.sendStdin(handle.pid, 'ping\n');
    await handle.wait();
    await sbx.commands.run('pwd', { cwd: `${home}/missing` }).catch(() => undefined);

    const commands = fake.commands(sbx.sandboxId);
    expect(commands.map((c) => c.args.at(-1))).toEqual(['echo one', 'read line; echo "got $line"', 'pwd']);
    expect(commands[0]).toMatchObject({
      sandboxId: sbx.sandboxId,
      cmd: '/bin/bash',
      args: ['-l', '-c', 'echo one'],
      envs: { STEP: '1' },
      cwd: `${home}/repo`,
      user: 'root',
      stdin: false,
      exit: { exitCode: 0, status: 'exit status 0' },
    });
    expect(commands[0]?.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(commands[0]?.pid).toBeGreaterThan(0);
    expect(commands[1]).toMatchObject({ stdin: true, pid: handle.pid, user: undefined });
    expect(commands[2]?.cwd).toBe(`${home}/missing`);
    expect(commands[2]?.pid).toBeUndefined();
    expect(commands[2]?.error).toMatch(/does not exist/);
    expect(fake.stdinWrites(sbx.sandboxId).map((w) => [w.pid, Buffer.from(w.data).toString()])).toEqual([
      [handle.pid, 'ping\n'],
    ]);
    // allCommands spans every sandbox, in the order the starts arrived
    const all = fake.allCommands();
    expect(all.filter((c) => c.sandboxId === sbx.sandboxId).map((c) => c.seq)).toEqual(commands.map((c) => c.seq));
    expect(all.map((c) => c.seq)).toEqual([...all.keys()]);
  });

  it('records every file write with its size, hash and encoding', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.write(`${home}/a.txt`, 'A');
    await sbx.files.write([
      { path: `${home}/b.txt`, data: 'BB' },
      { path: 'c.txt', data: 'CCC' },
    ]);
    await sbx.files.write(`${home}/d.txt`, 'DDDD', { gzip: true });
    const writes = fake.fileWrites(sbx.sandboxId);
    expect(writes.map((w) => [w.path, w.requestedPath, w.size, w.encoding, w.gzip, w.filesInRequest])).toEqual([
      [`${home}/a.txt`, `${home}/a.txt`, 1, 'multipart', false, 1],
      [`${home}/b.txt`, `${home}/b.txt`, 2, 'multipart', false, 2],
      [`${home}/c.txt`, 'c.txt', 3, 'multipart', false, 2],
      [`${home}/d.txt`, `${home}/d.txt`, 4, 'octet-stream', true, 1],
    ]);
    expect(writes[0]?.sha256).toBe(sha256(Buffer.from('A')));
    expect(await readFile(writes[3]?.contentPath ?? '', 'utf8')).toBe('DDDD');
  });

  it('scanFor finds a secret in env, args, stdin, written and created files — plain or base64 — and nothing when clean', async () => {
    const secret = 'ghp_FakeSecret0123456789abcdef';
    const encoded = Buffer.from(`x-access-token:${secret}`).toString('base64');
    const clean = await create();
    await clean.commands.run('echo clean > out.txt');
    expect(fake.scanFor([secret], { sandboxIds: [clean.sandboxId] })).toEqual([]);

    const sbx = await create({ envs: { AT_CREATE: secret } });
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.commands.run('true', { envs: { GITHUB_TOKEN: secret } });
    await sbx.commands.run(`echo ${encoded} > /dev/null`);
    const reader = await sbx.commands.run('read line; echo "$line" > from-stdin.txt', {
      background: true,
      stdin: true,
    });
    await sbx.commands.sendStdin(reader.pid, `${secret}\n`);
    await reader.wait();
    await sbx.files.write(`${home}/notes.txt`, `token=${secret}`);
    await sbx.files.remove(`${home}/notes.txt`); // gone from disk, still seen as written

    const findings = fake.scanFor([secret], { sandboxIds: [sbx.sandboxId] });
    const where = findings.map((f) => `${f.location}:${f.encoding}:${f.detail.replace(home, '~')}`);
    expect(where).toEqual([
      'sandbox-env:plain:env AT_CREATE',
      'command-env:plain:env GITHUB_TOKEN',
      'command-args:base64:args[2]',
      `stdin:plain:pid ${reader.pid}`,
      'file-write:plain:~/notes.txt',
      'file:plain:~/from-stdin.txt',
    ]);
    expect(findings.every((f) => f.needle === secret && f.sandboxId === sbx.sandboxId)).toBe(true);
    expect(findings.find((f) => f.location === 'command-env')?.seq).toBe(fake.commands(sbx.sandboxId)[0]?.seq);
    expect(() => fake.scanFor([''])).toThrow(/non-empty/);
  });
});

describe('network rules', () => {
  it('records allow_internet_access and network exactly as SDK 2.51 sends them', async () => {
    const sbx = await create({
      allowInternetAccess: true,
      network: {
        allowOut: ['github.com', '*.githubusercontent.com', '140.82.112.0/20', '1.1.1.1'],
        denyOut: ({ allTraffic }) => [allTraffic],
        allowPublicTraffic: false,
      },
    });
    const call = fake.requests.filter((r) => r.op === 'create' && r.status === 201).at(-1);
    expect(call?.body).toMatchObject({
      allow_internet_access: true,
      network: {
        allowOut: ['github.com', '*.githubusercontent.com', '140.82.112.0/20', '1.1.1.1'],
        denyOut: ['0.0.0.0/0'],
        allowPublicTraffic: false,
      },
    });
    expect(call?.body).not.toHaveProperty('allowInternetAccess');
    const net = fake.network(sbx.sandboxId);
    expect(net).toMatchObject({
      allowInternetAccess: true,
      network: {
        allowOut: ['github.com', '*.githubusercontent.com', '140.82.112.0/20', '1.1.1.1'],
        denyOut: [ALL_TRAFFIC],
        allowPublicTraffic: false,
      },
      egress: {
        allowedCidrs: ['140.82.112.0/20', '1.1.1.1/32', '8.8.8.8/32'],
        allowedDomains: ['github.com', '*.githubusercontent.com'],
        deniedCidrs: ['0.0.0.0/0'],
      },
    });
    expect(net.history.map((h) => h.source)).toEqual(['create']);
    const info = await sbx.getInfo();
    expect(info.allowInternetAccess).toBe(true);
    expect(info.network).toMatchObject({ allowOut: net.network?.allowOut, denyOut: ['0.0.0.0/0'] });

    const offline = await create({ allowInternetAccess: false });
    expect(fake.network(offline.sandboxId)).toMatchObject({
      allowInternetAccess: false,
      network: undefined,
      egress: { allowedCidrs: [], allowedDomains: [], deniedCidrs: ['0.0.0.0/0'] },
    });
    expect(fake.network((await create()).sandboxId).allowInternetAccess).toBeUndefined();
  });

  const needsAllTraffic =
    "When specifying allowed domains in allow out, you must include 'ALL_TRAFFIC' in deny out to block all other traffic.";
  it.each([
    [{ denyOut: ['example.com'] }, 'invalid denied CIDR example.com'],
    [{ denyOut: ['10.0.0.0/33'] }, 'invalid denied CIDR 10.0.0.0/33'],
    [{ denyOut: ['0.0.0.0'] }, 'invalid denied CIDR 0.0.0.0'],
    [{ allowOut: ['0.0.0.0/8'] }, 'invalid allowed address 0.0.0.0/8'],
    [{ allowOut: ['github.com'] }, needsAllTraffic],
    [{ allowOut: ['github.com'], denyOut: ['8.8.4.4'] }, needsAllTraffic],
  ])('refuses network %j with 400', async (network, message) => {
    const before = fake.sandboxes().length;
    const err = await create({ network }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect((err as SandboxError).message).toContain(`400: ${message}`);
    expect(fake.sandboxes()).toHaveLength(before);
  });

  it('PUT /sandboxes/{id}/network replaces the egress rules, keeps ingress, and validates like create', async () => {
    const sbx = await create({ network: { allowOut: ['1.1.1.1'], allowPublicTraffic: false } });
    await sbx.updateNetwork({ allowOut: ['pypi.org', '*.pythonhosted.org'], denyOut: [ALL_TRAFFIC] });
    const put = fake.requests.filter((r) => r.op === 'network').at(-1);
    expect(put).toMatchObject({
      method: 'PUT',
      path: `/sandboxes/${sbx.sandboxId}/network`,
      status: 204,
      body: { allowOut: ['pypi.org', '*.pythonhosted.org'], denyOut: ['0.0.0.0/0'] },
    });
    expect(fake.network(sbx.sandboxId).network).toEqual({
      allowOut: ['pypi.org', '*.pythonhosted.org'],
      denyOut: ['0.0.0.0/0'],
      allowPublicTraffic: false,
    });
    // the update replaces the whole egress part: omitted lists are cleared; allow_internet_access is snake case
    await Sandbox.updateNetwork(sbx.sandboxId, { allowInternetAccess: false }, fake.connectionOpts);
    expect(fake.requests.filter((r) => r.op === 'network').at(-1)?.body).toEqual({ allow_internet_access: false });
    const net = fake.network(sbx.sandboxId);
    expect(net).toMatchObject({
      allowInternetAccess: false,
      network: { allowPublicTraffic: false },
      egress: { allowedCidrs: [], allowedDomains: [], deniedCidrs: ['0.0.0.0/0'] },
    });
    expect(net.network).not.toHaveProperty('allowOut');
    expect(net.history.map((h) => h.source)).toEqual(['create', 'update', 'update']);

    await expect(sbx.updateNetwork({ denyOut: ['example.com'] })).rejects.toThrow(
      '400: invalid denied CIDR example.com',
    );
    await sbx.pause();
    await expect(sbx.updateNetwork({ allowOut: ['1.1.1.1'] })).rejects.toBeInstanceOf(SandboxNotFoundError);
  });
});

describe('lifetime cap (default: the Hobby tier, 1 h)', () => {
  it('refuses create and connect asking for more than the cap; setTimeout is clamped like the API does', async () => {
    const tooLong = await create({ timeoutMs: 2 * 3_600_000 }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(SandboxError);
    expect((tooLong as SandboxError).message).toBe('400: Timeout cannot be greater than 1 hours');
    expect(await create({ timeoutMs: 0 }).catch((e: unknown) => (e as Error).message)).toBe(
      '400: Timeout must be greater than 0',
    );

    const sbx = await create({ timeoutMs: 3_600_000 });
    await expect(Sandbox.connect(sbx.sandboxId, { ...fake.connectionOpts, timeoutMs: 3_600_001 })).rejects.toThrow(
      '400: Timeout cannot be greater than 1 hours',
    );
    await sbx.setTimeout(24 * 3_600_000);
    const info = fake.sandbox(sbx.sandboxId);
    expect((info?.endAt.getTime() ?? 0) - (info?.startedAt.getTime() ?? 0)).toBeLessThanOrEqual(3_600_000);
  });

  it('is configurable (maxTimeoutMs: 24 h, the Pro tier)', async () => {
    await withFake({ maxTimeoutMs: 86_400_000 }, async (pro) => {
      const sbx = await Sandbox.create('base', { ...pro.connectionOpts, timeoutMs: 2 * 3_600_000 });
      expect(pro.sandbox(sbx.sandboxId)?.timeoutMs).toBe(2 * 3_600_000);
      await expect(Sandbox.create('base', { ...pro.connectionOpts, timeoutMs: 86_400_000 + 1_000 })).rejects.toThrow(
        '400: Timeout cannot be greater than 24 hours',
      );
    });
  });
});

describe('pause and resume like E2B', () => {
  it('pause keeps files and processes; envd refuses while paused; connect resumes; the timeline is recorded', async () => {
    const sbx = await create({ timeoutMs: 60_000 });
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.write(`${home}/keep.txt`, 'kept');
    const bg = await sbx.commands.run('sleep 30', { background: true });
    expect(await sbx.pause()).toBe(true);
    expect(fake.sandbox(sbx.sandboxId)?.state).toBe('paused');
    const listed = await Sandbox.list({ ...fake.connectionOpts, query: { state: ['paused'] } }).nextItems();
    expect(listed.find((s) => s.sandboxId === sbx.sandboxId)?.state).toBe('paused');
    expect((await sbx.getInfo()).state).toBe('paused');
    await expect(sbx.files.read(`${home}/keep.txt`)).rejects.toBeInstanceOf(SandboxError);
    await expect(sbx.commands.run('echo x')).rejects.toBeInstanceOf(SandboxError);
    await expect(sbx.setTimeout(60_000)).rejects.toBeInstanceOf(SandboxNotFoundError);

    const resumed = await Sandbox.connect(sbx.sandboxId, { ...fake.connectionOpts, timeoutMs: 120_000 });
    expect(fake.requests.filter((r) => r.op === 'connect').at(-1)?.status).toBe(201);
    expect(await resumed.files.read(`${home}/keep.txt`)).toBe('kept');
    expect((await resumed.commands.list()).map((p) => p.pid)).toContain(bg.pid);
    expect(fake.sandbox(sbx.sandboxId)?.events.map((e) => [e.event, e.memory])).toEqual([
      ['created', undefined],
      ['paused', true],
      ['resumed', true],
    ]);
  });

  it('pause({keepMemory: false}) keeps only the files', async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.commands.run('echo on-disk > disk.txt');
    await sbx.commands.run('sleep 30', { background: true });
    expect(await sbx.pause({ keepMemory: false })).toBe(true);
    expect(fake.requests.filter((r) => r.op === 'pause').at(-1)?.body).toEqual({ memory: false });
    await expect.poll(() => fake.sandbox(sbx.sandboxId)?.runningPids.length, { timeout: 2_000 }).toBe(0);
    const resumed = await Sandbox.connect(sbx.sandboxId, fake.connectionOpts);
    expect(await resumed.files.read(`${home}/disk.txt`)).toBe('on-disk\n');
    expect(await resumed.commands.list()).toEqual([]);
  });

  it('lifecycle {onTimeout: pause, autoResume}: end of life pauses, the next envd call resumes it', async () => {
    const sbx = await create({ timeoutMs: 60_000, lifecycle: { onTimeout: 'pause', autoResume: true } });
    expect(fake.requests.filter((r) => r.op === 'create').at(-1)?.body).toMatchObject({
      autoPause: true,
      autoResume: { enabled: true },
    });
    expect((await sbx.getInfo()).lifecycle).toEqual({ onTimeout: 'pause', autoResume: true });
    const home = fake.homeDir(sbx.sandboxId);
    await sbx.files.write(`${home}/state.txt`, 'before');
    fake.expire(sbx.sandboxId);
    expect(fake.sandbox(sbx.sandboxId)?.state).toBe('paused');
    // the old handle just works: envd traffic resumes the sandbox (for at least 5 minutes)
    expect((await sbx.commands.run('cat state.txt')).stdout).toBe('before');
    const info = fake.sandbox(sbx.sandboxId);
    expect(info?.state).toBe('running');
    expect(info?.events.map((e) => e.event)).toEqual(['created', 'auto-paused', 'auto-resumed']);
    expect((info?.endAt.getTime() ?? 0) - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('a concurrency limit counts running sandboxes only: 429 on create and on resume', async () => {
    await withFake({ maxRunningSandboxes: 2 }, async (own) => {
      const opts = own.connectionOpts;
      const a = await Sandbox.create('base', opts);
      const b = await Sandbox.create('base', opts);
      const err = await Sandbox.create('base', opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      expect((err as Error).message).toContain(
        "you have reached the maximum number of concurrent E2B sandboxes (2). If you need more, please visit 'https://e2b.dev/docs/billing'",
      );
      expect(own.requests.filter((r) => r.op === 'create').map((r) => r.status)).toEqual([201, 201, 429]);

      expect(await a.pause()).toBe(true);
      const c = await Sandbox.create('base', opts); // a paused sandbox frees its slot
      await expect(Sandbox.connect(a.sandboxId, opts)).rejects.toBeInstanceOf(RateLimitError);
      expect(own.sandbox(a.sandboxId)?.state).toBe('paused');
      await c.kill();
      expect((await Sandbox.connect(a.sandboxId, opts)).sandboxId).toBe(a.sandboxId);
      await b.kill();
    });
  });

  it('auto-resume at the concurrency limit answers 429 from envd', async () => {
    await withFake({ maxRunningSandboxes: 1 }, async (own) => {
      const sbx = await Sandbox.create('base', {
        ...own.connectionOpts,
        lifecycle: { onTimeout: 'pause', autoResume: true },
      });
      await sbx.pause();
      await Sandbox.create('base', own.connectionOpts);
      const res = await fetch(`${own.sandboxUrl}/files?path=x`, {
        headers: {
          'E2b-Sandbox-Id': sbx.sandboxId,
          'X-Access-Token': own.sandbox(sbx.sandboxId)?.envdAccessToken ?? '',
        },
      });
      expect(res.status).toBe(429);
      expect(await res.json()).toMatchObject({ sandboxId: sbx.sandboxId, code: 429 });
      expect(own.sandbox(sbx.sandboxId)?.state).toBe('paused');
    });
  });

  it("pausedEnvd: 'not-found' answers a paused sandbox like E2B's proxy (502)", async () => {
    await withFake({ pausedEnvd: 'not-found' }, async (own) => {
      const sbx = await Sandbox.create('base', own.connectionOpts);
      await sbx.pause();
      await expect(sbx.commands.run('echo x')).rejects.toBeInstanceOf(SandboxNotFoundError);
      await expect(sbx.files.read('x')).rejects.toBeInstanceOf(TimeoutError);
    });
  });
});

describe('large uploads', () => {
  const SIZE = 50 * 1024 * 1024;

  it('a 50 MB file written alone arrives intact', { timeout: 60_000 }, async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    const data = randomBytes(SIZE);
    await sbx.files.write(`${home}/repo.bundle`, data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    expect(sha256(await readFile(`${home}/repo.bundle`))).toBe(sha256(data));
    const back = await sbx.files.read(`${home}/repo.bundle`, { format: 'bytes' });
    expect(back.length).toBe(SIZE);
    expect(sha256(back)).toBe(sha256(data));
    expect(fake.fileWrites(sbx.sandboxId).at(-1)).toMatchObject({ size: SIZE, sha256: sha256(data) });
  });

  it('a 50 MB file in a batch write arrives intact, next to the others', { timeout: 60_000 }, async () => {
    const sbx = await create();
    const home = fake.homeDir(sbx.sandboxId);
    const data = randomBytes(SIZE);
    const before = fake.envdRequests.length;
    await sbx.files.write([
      { path: `${home}/a.txt`, data: 'small' },
      { path: `${home}/big/repo.bundle`, data: new Blob([data]) },
      { path: `${home}/z.txt`, data: 'tail' },
    ]);
    expect(fake.envdRequests.slice(before).filter((r) => r.path === '/files' && r.method === 'POST')).toHaveLength(1);
    expect(sha256(await readFile(`${home}/big/repo.bundle`))).toBe(sha256(data));
    expect(await readFile(`${home}/a.txt`, 'utf8')).toBe('small');
    expect(await readFile(`${home}/z.txt`, 'utf8')).toBe('tail');
  });
});
