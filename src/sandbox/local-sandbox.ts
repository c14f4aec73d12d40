import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AbortedError } from '../lib/errors.js';
import { CappedOutput, EXEC_OUTPUT_MAX_CHARS } from '../lib/trim-output.js';
import {
  type DirectoryEntry,
  type ExecOptions,
  type ExecResult,
  type FileToWrite,
  fileTooLarge,
  type Sandbox,
  SandboxError,
  SandboxGoneError,
  type SandboxProvider,
  type SandboxSpec,
} from './sandbox.js';

/**
 * Development-only provider: each sandbox is a temporary directory on the bot's host and
 * commands are real processes with a clean environment (never the bot's, which holds
 * secrets) whose HOME and TMPDIR are inside it. It offers no isolation beyond that; use E2B
 * for anything real.
 */
export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local' as const;
  private readonly live = new Map<string, LocalSandbox>();

  constructor(
    private readonly root: string = join(tmpdir(), 'ai-dev-sandboxes'),
    /** PATH for commands; the host's PATH carries no secrets, its other variables might. */
    private readonly path: string = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    /** Characters of each stream `exec` keeps in memory: the head and the most recent tail. */
    private readonly outputMaxChars: number = EXEC_OUTPUT_MAX_CHARS,
  ) {}

  async create(spec: SandboxSpec): Promise<Sandbox> {
    await mkdir(this.root, { recursive: true });
    const dir = await mkdtemp(join(this.root, 'sbx-'));
    const home = join(dir, 'home');
    await mkdir(home);
    // The sandbox's own temp dir, so what commands leave there goes with the sandbox.
    await mkdir(join(dir, 'tmp'));
    const id = `local-${randomUUID()}`;
    const sandbox = new LocalSandbox(id, home, dir, this.path, () => this.live.delete(id), this.outputMaxChars);
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({ id, metadata: spec.metadata }));
    this.live.set(id, sandbox);
    return sandbox;
  }

  async connect(id: string): Promise<Sandbox | undefined> {
    return this.live.get(id);
  }

  /** A temp directory cannot be paused: both modes delete it, so a pause keeps nothing (false). */
  async release(id: string, mode: 'kill' | 'pause'): Promise<boolean> {
    const sandbox = this.live.get(id);
    if (!sandbox) return false;
    const killed = await sandbox.kill();
    return mode === 'kill' && killed;
  }
}

export class LocalSandbox implements Sandbox {
  readonly provider = 'local' as const;
  private killed = false;
  private readonly children = new Set<ReturnType<typeof spawn>>();

  constructor(
    readonly id: string,
    readonly home: string,
    private readonly dir: string,
    private readonly path: string,
    private readonly onKill: () => void,
    private readonly outputMaxChars: number = EXEC_OUTPUT_MAX_CHARS,
  ) {}

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    this.ensureAlive();
    if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
    const started = Date.now();
    const env = {
      PATH: this.path,
      HOME: this.home,
      TMPDIR: join(this.dir, 'tmp'),
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      GIT_TERMINAL_PROMPT: '0',
      ...options.env,
    };
    return new Promise<ExecResult>((resolve, reject) => {
      // A process group of its own, so a timeout or Stop kills the command's children too.
      const child = spawn('/bin/bash', ['-c', command], {
        cwd: options.cwd ?? this.home,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.children.add(child);
      // Bounded, so a command that prints without end cannot exhaust the bot's memory.
      const stdout = new CappedOutput(this.outputMaxChars);
      const stderr = new CappedOutput(this.outputMaxChars);
      let timedOut = false;
      let aborted = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout.push(chunk);
        options.onStdout?.(chunk);
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr.push(chunk);
        options.onStderr?.(chunk);
      });
      const killGroup = () => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, options.timeoutMs);
      const onAbort = () => {
        aborted = true;
        killGroup();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.children.delete(child);
        reject(new SandboxError('exec_failed', `Could not start a command: ${error.message}`, { cause: error }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.children.delete(child);
        if (aborted) {
          reject(new AbortedError(options.signal?.reason));
          return;
        }
        resolve({
          exitCode: code ?? (signal ? 128 + signalNumber(signal) : 1),
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          durationMs: Date.now() - started,
          timedOut,
        });
      });
    });
  }

  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    this.ensureAlive();
    // Non-blocking, so a FIFO is refused instead of waiting forever for a writer.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      // A device, a FIFO or a socket has no size to trust (/dev/zero never ends): only regular files.
      if (!info.isFile()) {
        throw new SandboxError('not_a_file', `${path} is not a regular file`, {
          cause: Object.assign(new Error(path), { code: info.isDirectory() ? 'EISDIR' : 'EINVAL' }),
        });
      }
      const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
      if (info.size > max) throw fileTooLarge(path, max);
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of handle.createReadStream({ highWaterMark: 64 * 1024 })) {
        total += (chunk as Buffer).length;
        // It may have grown since the stat.
        if (total > max) throw fileTooLarge(path, max);
        chunks.push(chunk as Buffer);
      }
      return new Uint8Array(Buffer.concat(chunks));
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async writeFiles(files: FileToWrite[]): Promise<void> {
    this.ensureAlive();
    for (const file of files) {
      await mkdir(dirname(file.path), { recursive: true });
      await writeFile(file.path, file.data);
    }
  }

  async listDirectory(path: string): Promise<DirectoryEntry[]> {
    this.ensureAlive();
    const entries = await readdir(path, { withFileTypes: true });
    return entries.map((entry) => ({
      name: entry.name,
      type: entry.isSymbolicLink() ? 'symlink' : entry.isDirectory() ? 'directory' : 'file',
    }));
  }

  async makeDirectory(path: string): Promise<boolean> {
    this.ensureAlive();
    const existed = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (existed) return false;
    await mkdir(path, { recursive: true });
    return true;
  }

  async kill(): Promise<boolean> {
    if (this.killed) return false;
    this.killed = true;
    for (const child of this.children) {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    this.onKill();
    await rm(this.dir, { recursive: true, force: true });
    return true;
  }

  private ensureAlive(): void {
    if (this.killed) throw new SandboxGoneError(this.id);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  return numbers[signal] ?? 1;
}
