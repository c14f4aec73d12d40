/**
 * Provider-agnostic behaviour every `SandboxProvider` must show, so the local adapter and the E2B one
 * provably behave the same for callers (tools, workspace setup, the run coordinator).
 *
 * ```ts
 * sandboxContract('local', () => new LocalSandboxProvider(root));
 * ```
 *
 * Only what callers may rely on is checked: exact exit codes of a timed-out command, entry order of a
 * listing and error classes of file problems differ between providers and are not part of the contract
 * (file problems are checked through the errno in the error's cause chain, as agent/tools/sandbox-files.ts
 * reads them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/lib/errors.js';
import { type Sandbox, SandboxError, SandboxGoneError, type SandboxProvider } from '../../src/sandbox/sandbox.js';

/** The errno (`ENOENT`, `EISDIR`, …) somewhere in an error's cause chain; `FileNotFoundError` counts as ENOENT. */
export function errnoOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    if (current.name === 'FileNotFoundError') return 'ENOENT';
    current = current.cause;
  }
  return undefined;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const sorted = <T extends { name: string }>(entries: T[]) => [...entries].sort((a, b) => a.name.localeCompare(b.name));

export function sandboxContract(name: string, makeProvider: () => SandboxProvider | Promise<SandboxProvider>): void {
  describe(`Sandbox contract: ${name}`, () => {
    let provider: SandboxProvider;
    let sandbox: Sandbox;
    const spec = { metadata: { suite: 'sandbox-contract', provider: name }, timeoutMs: 120_000 };
    const path = (relative: string) => `${sandbox.home}/${relative}`;

    beforeAll(async () => {
      provider = await makeProvider();
      sandbox = await provider.create(spec);
    });

    afterAll(async () => {
      await sandbox?.kill();
    });

    describe('identity', () => {
      it('has an id, its provider name and an absolute home that exists', async () => {
        expect(sandbox.id).toMatch(provider.name === 'local' ? /^local-/ : /./);
        expect(sandbox.provider).toBe(provider.name);
        expect(sandbox.home.startsWith('/')).toBe(true);
        expect(Array.isArray(await sandbox.listDirectory(sandbox.home))).toBe(true);
      });

      it('connect(id) reaches the same sandbox', async () => {
        await sandbox.writeFiles([{ path: path('connect-marker.txt'), data: 'here' }]);
        const again = await provider.connect(sandbox.id, spec.timeoutMs);
        expect(again?.id).toBe(sandbox.id);
        expect(again?.home).toBe(sandbox.home);
        const read = await again?.readFile(path('connect-marker.txt'));
        expect(Buffer.from(read ?? []).toString()).toBe('here');
      });
    });

    describe('exec', () => {
      it('returns exit code 0, stdout, stderr and a duration', async () => {
        const result = await sandbox.exec('echo out; echo err >&2', { timeoutMs: 10_000 });
        expect(result).toMatchObject({ exitCode: 0, stdout: 'out\n', stderr: 'err\n', timedOut: false });
        expect(result.durationMs).toBeGreaterThanOrEqual(0);
        expect(result.durationMs).toBeLessThan(10_000);
      });

      it('a non-zero exit is an ordinary result, never a throw', async () => {
        const result = await sandbox.exec('echo some; echo wrong >&2; exit 7', { timeoutMs: 10_000 });
        expect(result).toMatchObject({ exitCode: 7, stdout: 'some\n', stderr: 'wrong\n', timedOut: false });
      });

      it('a command killed by a signal reports 128 + the signal', async () => {
        const result = await sandbox.exec('kill -9 $$', { timeoutMs: 10_000 });
        expect(result.exitCode).toBe(137);
      });

      it('runs in the home by default and in cwd when given', async () => {
        expect((await sandbox.exec('pwd', { timeoutMs: 10_000 })).stdout).toBe(`${sandbox.home}\n`);
        expect(await sandbox.makeDirectory(path('work/dir'))).toBe(true);
        const result = await sandbox.exec('pwd', { cwd: path('work/dir'), timeoutMs: 10_000 });
        expect(result.stdout).toBe(`${path('work/dir')}\n`);
      });

      it('a cwd that does not exist is a SandboxError, not a gone sandbox', async () => {
        const error = await rejection(sandbox.exec('pwd', { cwd: path('no/such/dir'), timeoutMs: 10_000 }));
        expect(error).toBeInstanceOf(SandboxError);
        expect(error).not.toBeInstanceOf(SandboxGoneError);
      });

      it('gives env to that one command only, and HOME is the sandbox home', async () => {
        const first = await sandbox.exec('echo "$ONLY_HERE|$HOME"', { env: { ONLY_HERE: 'yes' }, timeoutMs: 10_000 });
        expect(first.stdout).toBe(`yes|${sandbox.home}\n`);
        const second = await sandbox.exec('echo "[$ONLY_HERE]"', { timeoutMs: 10_000 });
        expect(second.stdout).toBe('[]\n');
      });

      it('does not leak the host process environment', async () => {
        process.env.AI_DEV_CONTRACT_LEAK = 'leaked';
        try {
          const result = await sandbox.exec('echo "[$AI_DEV_CONTRACT_LEAK]"', { timeoutMs: 10_000 });
          expect(result.stdout).toBe('[]\n');
        } finally {
          delete process.env.AI_DEV_CONTRACT_LEAK;
        }
      });

      it('streams output to the callbacks, and the result holds all of it', async () => {
        const out: string[] = [];
        const err: string[] = [];
        const result = await sandbox.exec('for i in 1 2 3; do echo o$i; echo e$i >&2; done', {
          timeoutMs: 10_000,
          onStdout: (chunk) => out.push(chunk),
          onStderr: (chunk) => err.push(chunk),
        });
        expect(out.join('')).toBe('o1\no2\no3\n');
        expect(err.join('')).toBe('e1\ne2\ne3\n');
        expect(result.stdout).toBe('o1\no2\no3\n');
        expect(result.stderr).toBe('e1\ne2\ne3\n');
      });

      it('a command past its timeout is killed and comes back as timedOut with the output so far', async () => {
        const started = Date.now();
        const result = await sandbox.exec(`echo $$ > ${path('timeout.pid')}; echo start; sleep 5; echo end`, {
          timeoutMs: 800,
        });
        expect(Date.now() - started).toBeLessThan(4_000);
        expect(result.timedOut).toBe(true);
        expect(result.exitCode).not.toBe(0);
        expect(result.stdout).toBe('start\n');
        await expectProcessGone('timeout.pid');
      });

      it('abort kills the command and rejects with AbortedError promptly', async () => {
        const controller = new AbortController();
        const running = sandbox.exec(`echo $$ > ${path('abort.pid')}; sleep 30`, {
          timeoutMs: 60_000,
          signal: controller.signal,
        });
        await expect
          .poll(
            () =>
              sandbox.readFile(path('abort.pid')).then(
                (bytes) => bytes.length > 0,
                () => false,
              ),
            { timeout: 5_000 },
          )
          .toBe(true);
        const started = Date.now();
        controller.abort(new Error('Stop pressed'));
        await expect(running).rejects.toBeInstanceOf(AbortedError);
        expect(Date.now() - started).toBeLessThan(2_000);
        await expectProcessGone('abort.pid');
      });

      it('an already-aborted signal runs nothing', async () => {
        const error = await rejection(
          sandbox.exec(`touch ${path('never-run')}`, { timeoutMs: 10_000, signal: AbortSignal.abort() }),
        );
        expect(error).toBeInstanceOf(AbortedError);
        expect(errnoOf(await rejection(sandbox.readFile(path('never-run'))))).toBe('ENOENT');
      });

      async function expectProcessGone(pidFile: string): Promise<void> {
        const pid = Buffer.from(await sandbox.readFile(path(pidFile)))
          .toString()
          .trim();
        expect(pid).toMatch(/^\d+$/);
        await expect
          .poll(
            async () =>
              (await sandbox.exec(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`, { timeoutMs: 10_000 }))
                .stdout,
            { timeout: 3_000 },
          )
          .toBe('gone\n');
      }
    });

    describe('files', () => {
      it('writes several files at once, creating parent directories', async () => {
        await sandbox.writeFiles([
          { path: path('files/a.txt'), data: 'alpha\n' },
          { path: path('files/deep/er/b.txt'), data: 'beta' },
        ]);
        expect(Buffer.from(await sandbox.readFile(path('files/a.txt'))).toString()).toBe('alpha\n');
        expect(Buffer.from(await sandbox.readFile(path('files/deep/er/b.txt'))).toString()).toBe('beta');
      });

      it('round-trips binary and UTF-8 byte-exact, and overwrites', async () => {
        const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
        await sandbox.writeFiles([
          { path: path('bytes/all.bin'), data: binary },
          { path: path('bytes/text.txt'), data: 'ünïcødé ✓\n' },
        ]);
        expect([...(await sandbox.readFile(path('bytes/all.bin')))]).toEqual([...binary]);
        expect(Buffer.from(await sandbox.readFile(path('bytes/text.txt'))).toString('utf8')).toBe('ünïcødé ✓\n');
        await sandbox.writeFiles([{ path: path('bytes/text.txt'), data: 'short' }]);
        expect(Buffer.from(await sandbox.readFile(path('bytes/text.txt'))).toString()).toBe('short');
      });

      it('files written through the API are what commands see, and the other way round', async () => {
        await sandbox.writeFiles([{ path: path('shared/from-api.txt'), data: 'api' }]);
        const seen = await sandbox.exec('cat from-api.txt; printf cmd > from-cmd.txt', {
          cwd: path('shared'),
          timeoutMs: 10_000,
        });
        expect(seen.stdout).toBe('api');
        expect(Buffer.from(await sandbox.readFile(path('shared/from-cmd.txt'))).toString()).toBe('cmd');
      });

      it('lists a directory with entry types', async () => {
        await sandbox.writeFiles([
          { path: path('list/file.txt'), data: 'x' },
          { path: path('list/sub/inner.txt'), data: 'y' },
          { path: path('list/.hidden'), data: 'z' },
        ]);
        await sandbox.exec('ln -s file.txt link', { cwd: path('list'), timeoutMs: 10_000 });
        expect(sorted(await sandbox.listDirectory(path('list')))).toEqual([
          { name: '.hidden', type: 'file' },
          { name: 'file.txt', type: 'file' },
          { name: 'link', type: 'symlink' },
          { name: 'sub', type: 'directory' },
        ]);
      });

      it('makeDirectory creates parents and is false when the directory existed', async () => {
        expect(await sandbox.makeDirectory(path('mk/a/b'))).toBe(true);
        expect(await sandbox.makeDirectory(path('mk/a/b'))).toBe(false);
        expect(await sandbox.makeDirectory(path('mk/a'))).toBe(false);
        expect(await sandbox.listDirectory(path('mk/a'))).toEqual([{ name: 'b', type: 'directory' }]);
      });

      it('file problems carry an errno: missing, is a directory, not a directory, exists', async () => {
        await sandbox.writeFiles([{ path: path('errs/file.txt'), data: 'x' }]);
        expect(errnoOf(await rejection(sandbox.readFile(path('errs/missing.txt'))))).toBe('ENOENT');
        expect(errnoOf(await rejection(sandbox.listDirectory(path('errs/missing-dir'))))).toBe('ENOENT');
        expect(errnoOf(await rejection(sandbox.readFile(path('errs'))))).toBe('EISDIR');
        expect(errnoOf(await rejection(sandbox.listDirectory(path('errs/file.txt'))))).toBe('ENOTDIR');
        expect(errnoOf(await rejection(sandbox.makeDirectory(path('errs/file.txt'))))).toBe('EEXIST');
      });
    });

    describe('kill', () => {
      it('kill is true once, then false; afterwards the sandbox is gone everywhere', async () => {
        const doomed = await provider.create(spec);
        expect(await doomed.kill()).toBe(true);
        expect(await doomed.kill()).toBe(false);
        expect(await rejection(doomed.exec('true', { timeoutMs: 10_000 }))).toBeInstanceOf(SandboxGoneError);
        expect(await rejection(doomed.readFile(`${doomed.home}/x`))).toBeInstanceOf(SandboxGoneError);
        expect(await rejection(doomed.writeFiles([{ path: `${doomed.home}/x`, data: 'x' }]))).toBeInstanceOf(
          SandboxGoneError,
        );
        expect(await provider.connect(doomed.id, spec.timeoutMs)).toBeUndefined();
      });

      it('kill ends a running command', async () => {
        const doomed = await provider.create(spec);
        const running = doomed.exec('sleep 30', { timeoutMs: 60_000 }).then(
          (result) => result,
          (error: unknown) => error,
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        const started = Date.now();
        expect(await doomed.kill()).toBe(true);
        await running;
        expect(Date.now() - started).toBeLessThan(5_000);
      });
    });
  });
}
