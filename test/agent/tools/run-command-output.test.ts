/**
 * run_command never pulls unbounded output into the bot: the command writes to files in the sandbox's temp
 * dir and only the ends the model may see come back. The same behaviour is checked on the local sandbox and
 * on E2B (the loopback fake driven by the real SDK).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolContext } from '../../../src/agent/tools/kit/context.js';
import type { ToolResult } from '../../../src/agent/tools/kit/define-tool.js';
import { runCommand, streamView } from '../../../src/agent/tools/run-command.js';
import { AbortedError } from '../../../src/lib/errors.js';
import { trimParts } from '../../../src/lib/trim-output.js';
import { E2BSandboxProvider } from '../../../src/sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from '../../../src/sandbox/local-sandbox.js';
import type { Sandbox, SandboxProvider } from '../../../src/sandbox/sandbox.js';
import type { Workspace } from '../../../src/sandbox/workspace.js';
import { type FakeE2B, startFakeE2B } from '../../fakes/e2b/index.js';
import { captureLogger } from '../../helpers/logger.js';

const BIG = 50_000_000;
const OUTPUT_MAX_CHARS = 16_000;

let fake: FakeE2B;
let localRoot: string;

beforeAll(async () => {
  fake = await startFakeE2B();
  localRoot = await mkdtemp(join(tmpdir(), 'ai-dev-run-output-'));
});

afterAll(async () => {
  await fake?.close();
  if (localRoot) await rm(localRoot, { recursive: true, force: true });
});

/** A sandbox that counts the characters (and bytes) it hands to the bot, and the output dirs run_command used. */
interface Counted {
  sandbox: Sandbox;
  received: number;
  outputDirs: Set<string>;
}

function counted(inner: Sandbox): Counted {
  const counts: Counted = { sandbox: inner, received: 0, outputDirs: new Set() };
  counts.sandbox = {
    id: inner.id,
    provider: inner.provider,
    home: inner.home,
    exec: async (command, options) => {
      for (const match of command.matchAll(/ai-dev-run-[0-9a-f-]{36}/g)) counts.outputDirs.add(match[0]);
      const result = await inner.exec(command, options);
      counts.received += result.stdout.length + result.stderr.length;
      return result;
    },
    readFile: async (path) => {
      const bytes = await inner.readFile(path);
      counts.received += bytes.length;
      return bytes;
    },
    writeFiles: (files) => inner.writeFiles(files),
    listDirectory: (path) => inner.listDirectory(path),
    makeDirectory: (path) => inner.makeDirectory(path),
    kill: () => inner.kill(),
  };
  return counts;
}

function behaviour(name: string, makeProvider: () => SandboxProvider): void {
  describe(`run_command output on ${name}`, () => {
    let inner: Sandbox;
    let counts: Counted;
    let root: string;

    beforeAll(async () => {
      inner = await makeProvider().create({ metadata: { suite: 'run-command-output' }, timeoutMs: 120_000 });
      counts = counted(inner);
      root = `${inner.home}/repo`;
      const init = await inner.exec(
        'git init -q -b main repo && cd repo && echo hi > README.md && git add -A && ' +
          'git -c user.name=S -c user.email=s@example.com commit -qm init',
        { timeoutMs: 20_000 },
      );
      expect(init.exitCode, init.stderr).toBe(0);
    });

    afterAll(async () => {
      await inner?.kill();
    });

    function context(limits: Partial<ToolContext['limits']> = {}, signal = new AbortController().signal): ToolContext {
      const workspace: Workspace = {
        repo: 'acme/widgets',
        sandbox: counts.sandbox,
        root,
        branch: 'main',
        baseBranch: 'main',
      };
      return {
        workspace: async () => workspace,
        publish: async () => {
          throw new Error('not in this test');
        },
        limits: { commandTimeoutSeconds: 30, outputMaxChars: OUTPUT_MAX_CHARS, ...limits },
        signal,
      };
    }

    async function run(command: string, ctx = context()): Promise<ToolResult & { exitCode: number }> {
      const parsed = runCommand.parse({ command });
      if (!parsed.ok) throw new Error(parsed.error);
      const result = await runCommand.run(parsed.value, ctx);
      const exitCode = result.action?.kind === 'command' ? result.action.exitCode : Number.NaN;
      return { ...result, exitCode };
    }

    it('a command printing 50 MB completes; the model gets its head and tail and the exact bytes left out', async () => {
      const rssBefore = process.memoryUsage().rss;
      const receivedBefore = counts.received;
      // How fast is for `npm run bench`; here: it completes, bounded in memory, with both ends.
      const result = await run(`echo first-line; head -c ${BIG} /dev/zero | tr '\\0' a; echo; echo last-line`);
      expect(result.exitCode).toBe(0);
      expect(result.output.length).toBeLessThanOrEqual(OUTPUT_MAX_CHARS);
      const [, section = ''] = result.output.split('\nstdout:\n');
      expect(section.startsWith('first-line\naaaa')).toBe(true);
      expect(section.endsWith('aaaa\nlast-line\n')).toBe(true);
      const found = /\n… \[(\d+) bytes left out\] …\n/.exec(section);
      expect(found).not.toBeNull();
      const [head = '', tail = ''] = section.split(found?.[0] ?? '');
      const total = 'first-line\n'.length + BIG + '\nlast-line\n'.length;
      expect(Buffer.byteLength(head) + Number(found?.[1]) + Buffer.byteLength(tail)).toBe(total);
      expect(result.action).toMatchObject({ kind: 'command', exitCode: 0, timedOut: false });
      const excerpt = result.action?.kind === 'command' ? result.action.output : '';
      expect(excerpt).toMatch(/^… \(earlier output left out\)\n/);
      expect(excerpt.endsWith('last-line')).toBe(true);
      // What reached the bot: the read-back of both ends, never the 50 MB.
      expect(counts.received - receivedBefore).toBeLessThan(120_000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(30 * 1024 * 1024);
    });

    it('reads output of up to 64 KiB whole, so its cut counts characters and lines', async () => {
      const receivedBefore = counts.received;
      const result = await run('seq 1 5000', context({ outputMaxChars: 2000 }));
      expect(result.output.length).toBeLessThanOrEqual(2000);
      const [, section = ''] = result.output.split('\nstdout:\n');
      const found = /\n… \[(\d+) chars, (\d+) lines left out\] …\n/.exec(section);
      const [head = '', tail = ''] = section.split(found?.[0] ?? '');
      expect(head.startsWith('1\n2\n3\n')).toBe(true);
      expect(tail.endsWith('4999\n5000\n')).toBe(true);
      expect(head.length + Number(found?.[1]) + tail.length).toBe(23_893);
      expect(head.split('\n').length - 1 + Number(found?.[2]) + tail.split('\n').length - 1).toBe(5000);
      expect(result.action?.kind === 'command' && result.action.output).toMatch(/^… \(4980 earlier lines\)\n4981\n/);
      expect(counts.received - receivedBefore).toBeLessThan(40_000);
    });

    it('keeps the exit code, and stdout and stderr apart', async () => {
      const result = await run('echo out; echo err >&2; echo more-out; exit 3');
      expect(result.exitCode).toBe(3);
      expect(result.output).toMatch(/^exit code 3 \(\d+ ms\)\nstdout:\nout\nmore-out\n\nstderr:\nerr\n$/);
      expect(result.action).toMatchObject({ output: 'out\nmore-out\nerr' });
      expect((await run('true')).output).toMatch(/^exit code 0 \(\d+ ms\)\n\(no output\)$/);
      expect((await run('kill -9 $$')).exitCode).toBe(137);
    });

    it('a command that cd-s elsewhere, changes env or TMPDIR, or exits early still works', async () => {
      const moved = await run('cd / && export GREETING=hello TMPDIR=/nonexistent && echo "$GREETING from $(pwd)"');
      expect(moved.output).toMatch(/\nstdout:\nhello from \/\n$/);
      const here = await run('pwd; echo "[$GREETING]"');
      expect(here.output).toContain(`stdout:\n${root}\n[]\n`);
      expect((await run('echo before; exit 0; echo after')).output).toMatch(/stdout:\nbefore\n$/);
    });

    it('reports a syntax error as bash does', async () => {
      // The first line does not parse, wrapper included: bash's message quotes the command alone.
      const result = await run('echo hi; fi');
      const bare = await inner.exec('echo hi; fi', { cwd: root, timeoutMs: 5_000 });
      expect(bare.stderr).toContain("syntax error near unexpected token `fi'");
      expect(result.exitCode).toBe(2);
      expect(result.output).toMatch(/^exit code 2 \(\d+ ms\)\nstderr:\n/);
      expect(result.output.endsWith(`stderr:\n${bare.stderr}`)).toBe(true);
      // A later line that does not parse: the same message, line number included, as without the wrapper.
      const later = await run('echo first\nif');
      const plain = await inner.exec('echo first\nif', { cwd: root, timeoutMs: 5_000 });
      expect(plain.stderr).toMatch(/line \d: syntax error/);
      expect(later.exitCode).toBe(2);
      expect(later.output).toContain(`stdout:\nfirst\n\nstderr:\n${plain.stderr}`);
    });

    it('a command killed by its timeout comes back as timed out, with what it wrote before', async () => {
      const pidFile = `${inner.home}/timeout.pid`;
      const result = await run(
        `echo $$ > ${pidFile}; echo started; echo complaint >&2; head -c 3000000 /dev/zero | tr '\\0' b; sleep 10; echo finished`,
        context({ commandTimeoutSeconds: 1 }),
      );
      // Killed at its limit: what it would print after the sleep never comes.
      expect(result.output).not.toContain('finished');
      expect(result.action).toMatchObject({ kind: 'command', timedOut: true });
      expect(result.exitCode).not.toBe(0);
      expect(result.output).toContain('timed out after 1 s and was killed');
      expect(result.output).toContain('stdout:\nstarted\nbbbb');
      expect(result.output).toMatch(/… \[\d+ bytes left out\] …\nb+\nstderr:\ncomplaint\n$/);
      const pid = Buffer.from(await inner.readFile(pidFile))
        .toString()
        .trim();
      const alive = await inner.exec(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`, { timeoutMs: 5_000 });
      expect(alive.stdout).toBe('gone\n');
    });

    it('Stop kills the command and still removes its output files', async () => {
      const abort = new AbortController();
      const before = counts.outputDirs.size;
      const pending = run('echo going; sleep 10', context({}, abort.signal));
      setTimeout(() => abort.abort(new Error('Stop pressed')), 300);
      await expect(pending).rejects.toBeInstanceOf(AbortedError);
      expect(counts.outputDirs.size).toBe(before + 1);
    });

    it('says when background processes keep writing to the output', async () => {
      const result = await run('sleep 2 & echo started');
      expect(result.output).toContain('stdout:\nstarted\n');
      expect(result.output).toContain('still write to its stdout or stderr');
      const quiet = await run('sleep 2 > /dev/null 2>&1 & echo started');
      expect(quiet.output).not.toContain('still write');
    });

    it('cuts multi-byte output on whole characters', async () => {
      const result = await run("yes 'ééé €€ 😀' | head -c 200001");
      expect(result.output).toMatch(/… \[\d+ bytes left out\] …/);
      expect(result.output).not.toContain('\uFFFD');
    });

    it('leaves nothing in the repo or in the temp dir', async () => {
      expect(counts.outputDirs.size).toBeGreaterThan(5);
      const status = await inner.exec('git status --porcelain --ignored', { cwd: root, timeoutMs: 10_000 });
      expect(status.stdout).toBe('');
      const dirs = [...counts.outputDirs].join(' ');
      const left = await inner.exec(`cd "\${TMPDIR:-/tmp}" && ls -d ${dirs} 2>/dev/null; true`, { timeoutMs: 10_000 });
      expect(left.stdout).toBe('');
    });
  });
}

behaviour('the local sandbox', () => new LocalSandboxProvider(localRoot));

behaviour(
  'E2B (loopback fake, real SDK)',
  () =>
    new E2BSandboxProvider({
      ...fake.connectionOpts,
      template: 'base',
      logger: captureLogger().logger,
      retry: { retries: 1, minDelayMs: 20 },
    }),
);

describe('streamView', () => {
  it('is the whole text when nothing is missing, decoded together so a split character survives', () => {
    const bytes = Buffer.from('aé€b');
    expect(streamView(bytes.length, bytes.subarray(0, 2), bytes.subarray(2))).toEqual({
      head: 'aé€b',
      tail: '',
      omittedBytes: 0,
    });
  });

  it('leaves out characters cut at the ends of a head and a tail, and counts their bytes', () => {
    const text = Buffer.from(`ab€${'x'.repeat(100)}€cd`);
    const head = text.subarray(0, 4); // 'ab' + 2 of the 3 bytes of '€'
    const tail = text.subarray(text.length - 3); // the last byte of '€' + 'cd'
    expect(streamView(text.length, head, tail)).toEqual({ head: 'ab', tail: 'cd', omittedBytes: text.length - 4 });
  });
});

describe('trimParts', () => {
  it('keeps head and tail within the budget and counts every byte it left out', () => {
    const head = Array.from({ length: 300 }, (_, i) => `head ${i}`).join('\n');
    const tail = Array.from({ length: 300 }, (_, i) => `tail ${i}`).join('\n');
    const trimmed = trimParts(head, tail, 1_000_000, 500, { headShare: 0.4 });
    expect(trimmed.length).toBeLessThanOrEqual(500);
    expect(trimmed.startsWith('head 0\nhead 1\n')).toBe(true);
    expect(trimmed.endsWith('tail 298\ntail 299')).toBe(true);
    const found = /\n… \[(\d+) bytes left out\] …\n/.exec(trimmed);
    const [keptHead = '', keptTail = ''] = trimmed.split(found?.[0] ?? '');
    expect(keptHead.length + Number(found?.[1]) + keptTail.length).toBe(head.length + 1_000_000 + tail.length);
  });

  it('keeps short parts whole and marks only the unread middle', () => {
    expect(trimParts('start\n', 'end\n', 42, 1000)).toBe('start\n\n… [42 bytes left out] …\nend\n');
  });
});
