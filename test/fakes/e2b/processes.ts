/**
 * Real child processes behind the fake envd `process.Process` service.
 *
 * Each process runs on the host in its own process group (`detached: true`), with cwd and HOME inside the
 * sandbox directory and an environment built only from the sandbox/request envs (never the test process's
 * env). Like the real envd, a process outlives the stream that started it (disconnects do not kill it);
 * it is killed by `SendSignal`, by its `Connect-Timeout-Ms` deadline, or when the sandbox dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';

export interface ProcessConfig {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
}

export interface EndInfo {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string;
}

export type ProcessEvent =
  | { type: 'data'; stream: 'stdout' | 'stderr'; data: Uint8Array }
  | { type: 'end'; end: EndInfo };

export interface SpawnOptions {
  config: ProcessConfig;
  tag?: string;
  /** Host cwd (already resolved into the sandbox). */
  cwd: string;
  /** Full child environment. */
  env: Record<string, string>;
  /** Keep a stdin pipe (true) or connect stdin to /dev/null (false). */
  stdin: boolean;
  /** Kill the process group after this many ms (0/undefined = no deadline), like envd's procCtx. */
  timeoutMs?: number;
}

/** Go's `syscall.Signal.String()` for the signals we can meet, as envd reports them ("signal: killed"). */
const GO_SIGNAL_NAMES: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGPIPE: 'broken pipe',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGSTOP: 'stopped (signal)',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
};

/**
 * `bash -l` would read the host's /etc/profile (which may reset PATH): drop the login flag and add
 * `--noprofile --norc`, keeping the command string itself untouched.
 */
export function hostArgs(cmd: string, args: string[]): string[] {
  if (basename(cmd) !== 'bash') return args;
  const out: string[] = ['--noprofile', '--norc'];
  let seenCommand = false;
  for (const arg of args) {
    if (!seenCommand && (arg === '-l' || arg === '--login')) continue;
    if (!seenCommand && arg === '-lc') {
      out.push('-c');
      seenCommand = true;
      continue;
    }
    if (arg === '-c') seenCommand = true;
    out.push(arg);
  }
  return out;
}

export class FakeProcess {
  readonly pid: number;
  readonly config: ProcessConfig;
  readonly tag: string | undefined;
  readonly startedAt = new Date();
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(event: ProcessEvent) => void>();
  private stdinPipe: Writable | null;
  private timer: NodeJS.Timeout | undefined;
  private endInfo: EndInfo | undefined;
  private readonly exitHandlers = new Set<() => void>();
  /** Events produced before the first subscriber; `undefined` once someone subscribed. */
  private backlog: ProcessEvent[] | undefined = [];

  private constructor(child: ChildProcess, pid: number, opts: SpawnOptions) {
    this.child = child;
    this.pid = pid;
    this.config = opts.config;
    this.tag = opts.tag;
    this.stdinPipe = child.stdin;
    this.stdinPipe?.on('error', () => {
      // EPIPE when the child exits before reading its input: nothing to report.
    });
    child.stdout?.on('data', (chunk: Buffer) => this.emit({ type: 'data', stream: 'stdout', data: copy(chunk) }));
    child.stderr?.on('data', (chunk: Buffer) => this.emit({ type: 'data', stream: 'stderr', data: copy(chunk) }));
    child.on('close', (code, signal) => this.finish(code, signal));
    if (opts.timeoutMs && opts.timeoutMs > 0) {
      this.timer = setTimeout(() => this.signal('SIGKILL'), opts.timeoutMs);
      this.timer.unref();
    }
  }

  /** Spawn; rejects with the spawn error (e.g. ENOENT) if the process could not start. */
  static start(opts: SpawnOptions): Promise<FakeProcess> {
    const child = spawn(opts.config.cmd, hostArgs(opts.config.cmd, opts.config.args), {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => {
        child.off('error', reject);
        child.on('error', () => {
          // errors after spawn (e.g. kill on a dead pid) are reflected by 'close'
        });
        if (child.pid === undefined) reject(new Error('spawn returned no pid'));
        else resolve(new FakeProcess(child, child.pid, opts));
      });
    });
  }

  get ended(): EndInfo | undefined {
    return this.endInfo;
  }

  /**
   * Receive every event from now on; returns the unsubscribe function. The first subscriber also gets
   * what the process produced before anyone listened (so Start never loses early output).
   */
  subscribe(listener: (event: ProcessEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.backlog) {
      const backlog = this.backlog;
      this.backlog = undefined;
      for (const event of backlog) listener(event);
    } else if (this.endInfo) listener({ type: 'end', end: this.endInfo });
    return () => this.listeners.delete(listener);
  }

  /** Called once when the process has exited and its pipes are closed. */
  onExit(handler: () => void): void {
    if (this.endInfo) handler();
    else this.exitHandlers.add(handler);
  }

  /** Signal the whole process group (the shell and everything it started). */
  signal(signal: NodeJS.Signals): void {
    if (this.endInfo) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  writeStdin(data: Uint8Array): void {
    if (!this.stdinPipe || this.stdinPipe.destroyed) throw new Error('stdin not enabled or closed');
    this.stdinPipe.write(Buffer.from(data));
  }

  closeStdin(): void {
    this.stdinPipe?.end();
    this.stdinPipe = null;
  }

  private emit(event: ProcessEvent): void {
    if (this.backlog) this.backlog.push(event);
    for (const listener of [...this.listeners]) listener(event);
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.endInfo) return;
    if (this.timer) clearTimeout(this.timer);
    let end: EndInfo;
    if (code !== null) {
      const status = `exit status ${code}`;
      end =
        code === 0 ? { exitCode: 0, exited: true, status } : { exitCode: code, exited: true, status, error: status };
    } else {
      const name = signal ? (GO_SIGNAL_NAMES[signal] ?? signal) : 'unknown';
      const status = `signal: ${name}`;
      end = { exitCode: -1, exited: false, status, error: status };
    }
    this.endInfo = end;
    this.emit({ type: 'end', end });
    this.listeners.clear();
    for (const handler of this.exitHandlers) handler();
    this.exitHandlers.clear();
  }
}

function copy(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
}
