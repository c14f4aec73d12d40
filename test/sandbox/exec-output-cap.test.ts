/**
 * Defence in depth: whoever calls `exec`, each stream is kept in memory only up to a fixed size (its head and
 * its most recent tail, with the cut marked), on the local sandbox and on E2B alike, and E2B's SDK does not
 * keep a full copy of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandHandle, Sandbox as SdkSandbox } from 'e2b';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CappedOutput, EXEC_OUTPUT_MAX_CHARS } from '../../src/lib/trim-output.js';
import { E2BSandbox, E2BSandboxProvider } from '../../src/sandbox/e2b-sandbox.js';
import { LocalSandboxProvider } from '../../src/sandbox/local-sandbox.js';
import type { Sandbox, SandboxProvider } from '../../src/sandbox/sandbox.js';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import { captureLogger } from '../helpers/logger.js';

const CAP = 1024 * 1024;
const MARKER = /\n… \[(\d+) chars, (\d+) lines left out\] …\n/;

let fake: FakeE2B;
let localRoot: string;

beforeAll(async () => {
  fake = await startFakeE2B();
  localRoot = await mkdtemp(join(tmpdir(), 'ai-dev-exec-cap-'));
});

afterAll(async () => {
  await fake?.close();
  if (localRoot) await rm(localRoot, { recursive: true, force: true });
});

/** Splits a capped text at its marker and checks that kept + dropped is the whole. */
function expectCut(text: string, total: number, lines: number): { head: string; tail: string } {
  const found = MARKER.exec(text);
  expect(found, 'a marker').not.toBeNull();
  const [head = '', tail = ''] = text.split(found?.[0] ?? '');
  expect(head.length + Number(found?.[1]) + tail.length).toBe(total);
  expect(Number(found?.[2])).toBe(lines);
  return { head, tail };
}

function capContract(name: string, makeProvider: (maxChars: number) => SandboxProvider): void {
  describe(`exec keeps a bounded amount of output: ${name}`, () => {
    let sandbox: Sandbox;

    beforeAll(async () => {
      sandbox = await makeProvider(CAP).create({ metadata: { suite: 'exec-output-cap' }, timeoutMs: 120_000 });
    });

    afterAll(async () => {
      await sandbox?.kill();
    });

    it('keeps the head and the latest tail of each stream, apart, and marks exactly what it dropped', async () => {
      let streamed = 0;
      const result = await sandbox.exec(
        "echo first; seq 1 200000; echo last; echo e-first >&2; head -c 3000000 /dev/zero | tr '\\0' e >&2; echo e-last >&2",
        { timeoutMs: 20_000, onStdout: (chunk) => (streamed += chunk.length) },
      );
      expect(result.exitCode).toBe(0);
      const stdoutTotal = 'first\n'.length + 1_288_895 + 'last\n'.length;
      expect(streamed).toBe(stdoutTotal);
      expect(result.stdout.length).toBeLessThanOrEqual(CAP + 100);
      const out = expectCut(result.stdout, stdoutTotal, 200_002 - (countLines(result.stdout) - 2));
      expect(out.head.startsWith('first\n1\n2\n3\n')).toBe(true);
      expect(out.tail.endsWith('199999\n200000\nlast\n')).toBe(true);
      expect(result.stderr.length).toBeLessThanOrEqual(CAP + 100);
      const err = expectCut(result.stderr, 'e-first\n'.length + 3_000_000 + 'e-last\n'.length, 0);
      expect(err.head).toMatch(/^e-first\ne+$/);
      expect(err.tail).toMatch(/^e+e-last\n$/);
    });

    it('leaves output under the cap alone', async () => {
      const result = await sandbox.exec('seq 1 1000', { timeoutMs: 10_000 });
      expect(result.stdout).toBe(`${Array.from({ length: 1000 }, (_, i) => i + 1).join('\n')}\n`);
    });
  });
}

capContract('local', (maxChars) => new LocalSandboxProvider(localRoot, undefined, maxChars));
capContract(
  'e2b (loopback fake, real SDK)',
  (maxChars) =>
    new E2BSandboxProvider({
      ...fake.connectionOpts,
      template: 'base',
      logger: captureLogger().logger,
      retry: { retries: 1, minDelayMs: 20 },
      execOutputMaxChars: maxChars,
    }),
);

describe('the default cap', () => {
  it('a local command printing 50 MB keeps 16 Mi characters of it', async () => {
    const sandbox = await new LocalSandboxProvider(localRoot).create({ metadata: {}, timeoutMs: 60_000 });
    try {
      const result = await sandbox.exec("head -c 50000000 /dev/zero | tr '\\0' a", { timeoutMs: 20_000 });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(EXEC_OUTPUT_MAX_CHARS);
      expect(result.stdout.length).toBeLessThan(EXEC_OUTPUT_MAX_CHARS + 100);
      expectCut(result.stdout, 50_000_000, 0);
    } finally {
      await sandbox.kill();
    }
  });
});

describe('E2B: the SDK keeps no copy of its own', () => {
  it("empties the CommandHandle's stdout/stderr after every chunk", async () => {
    const sdk = await SdkSandbox.create('base', { ...fake.connectionOpts, timeoutMs: 60_000 });
    const handles: CommandHandle[] = [];
    const run = sdk.commands.run.bind(sdk.commands) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(sdk.commands, {
      run: async (...args: unknown[]) => {
        const handle = await run(...args);
        handles.push(handle as CommandHandle);
        return handle;
      },
    });
    const sandbox = new E2BSandbox(sdk, fake.homeDir(sdk.sandboxId), captureLogger().logger, 30_000, CAP);
    try {
      let largest = 0;
      let chunks = 0;
      const watch = (chunk: string) => {
        chunks++;
        const handle = handles[0];
        if (handle) largest = Math.max(largest, handle.stdout.length + handle.stderr.length - chunk.length);
      };
      const result = await sandbox.exec(
        "head -c 8000000 /dev/zero | tr '\\0' o; head -c 4000000 /dev/zero | tr '\\0' e >&2",
        { timeoutMs: 20_000, onStdout: watch, onStderr: watch },
      );
      expect(result.exitCode).toBe(0);
      expect(chunks).toBeGreaterThan(10);
      // Each callback sees the SDK's copy holding that chunk alone: it was emptied after the one before.
      expect(largest).toBe(0);
      expect(handles[0]?.stdout.length ?? 0).toBeLessThan(CAP);
      expectCut(result.stdout, 8_000_000, 0);
      expectCut(result.stderr, 4_000_000, 0);
    } finally {
      await sdk.kill();
    }
  });
});

describe('CappedOutput', () => {
  const collect = (chunks: string[], maxChars: number) => {
    const output = new CappedOutput(maxChars);
    for (const chunk of chunks) output.push(chunk);
    return output.toString();
  };

  it('is the text itself while it fits', () => {
    expect(collect(['ab', 'cd', '', 'ef'], 6)).toBe('abcdef');
    expect(collect([], 6)).toBe('');
  });

  it('keeps half for the head and half for the newest tail, whatever the chunking', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n');
    for (const size of [1, 7, 100, 4096, text.length]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
        text.slice(i * size, (i + 1) * size),
      );
      const capped = collect(chunks, 1000);
      const { head, tail } = expectCut(capped, text.length, countLines(text.slice(500, text.length - 500)));
      expect(head).toBe(text.slice(0, 500));
      expect(tail).toBe(text.slice(-500));
    }
  });

  it('never splits a surrogate pair', () => {
    const capped = collect(['😀'.repeat(1000)], 101);
    const { head, tail } = expectCut(capped, 2000, 0);
    expect(head).toBe('😀'.repeat(25));
    expect(tail).toBe('😀'.repeat(25));
  });

  it('holds about maxChars however much goes through it', () => {
    const output = new CappedOutput(10_000);
    const chunk = 'x'.repeat(65_536);
    for (let i = 0; i < 1000; i++) output.push(chunk);
    const kept = (output as unknown as { tail: string[] }).tail.join('').length;
    expect(kept).toBeLessThan(10_000 + chunk.length);
    expectCut(output.toString(), 65_536_000, 0);
  });
});

function countLines(text: string): number {
  return text.split('\n').length - 1;
}
