import { AppError } from '../lib/errors.js';

export interface ExecOptions {
  /** Absolute directory inside the sandbox; defaults to the sandbox home. */
  cwd?: string;
  /** Hard limit for this command; the process is killed when it passes. */
  timeoutMs: number;
  /** Aborting kills the command and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Extra environment for this one command (never secrets that outlive it). */
  env?: Record<string, string>;
  /** Streamed output, for progress; the result keeps the output too, up to the adapter's cap (head and tail). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The command was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

export interface DirectoryEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
}

export interface FileToWrite {
  /** Absolute path inside the sandbox. */
  path: string;
  data: string | Uint8Array;
}

/**
 * One live sandbox: a machine (or a local temp directory) where the repo is cloned and the
 * model's commands run. A non-zero exit is an ordinary result; only infrastructure failures
 * (the sandbox is gone, the provider does not answer) throw, as SandboxError.
 */
export interface Sandbox {
  readonly id: string;
  readonly provider: 'local' | 'e2b';
  /** Absolute path of the home directory; repos are cloned below it. */
  readonly home: string;
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  readFile(path: string): Promise<Uint8Array>;
  /** Writes several files at once, creating parent directories. */
  writeFiles(files: FileToWrite[]): Promise<void>;
  listDirectory(path: string): Promise<DirectoryEntry[]>;
  /** Creates the directory and its parents; false when it already existed. */
  makeDirectory(path: string): Promise<boolean>;
  /** Keeps the sandbox alive for at least this long from now. */
  keepAlive(ms: number): Promise<void>;
  /** Ends the sandbox and frees its resources; true when it was still running. */
  kill(): Promise<boolean>;
}

export interface SandboxSpec {
  /** Names the sandbox in the provider's console and in `/ai-dev list`. */
  metadata: Record<string, string>;
  /** How long the sandbox lives without a keepAlive. */
  timeoutMs: number;
}

export interface SandboxProvider {
  readonly name: 'local' | 'e2b';
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Reconnects to a sandbox made earlier (resuming a paused one); undefined when it no longer exists. */
  connect(id: string, timeoutMs: number): Promise<Sandbox | undefined>;
  /**
   * Ends an idle sandbox by id: `kill` frees it for good, `pause` keeps its disk and memory so a
   * later connect resumes it. False when it was already gone.
   */
  release(id: string, mode: 'kill' | 'pause'): Promise<boolean>;
}

export class SandboxError extends AppError {}

export class SandboxGoneError extends SandboxError {
  constructor(id: string, cause?: unknown) {
    super('sandbox_gone', `Sandbox ${id} no longer exists`, {
      kind: 'transient',
      cause,
      userMessage:
        'The sandbox for this thread is gone (expired or stopped). Reply in this thread to go on: I will start a fresh one from the published branch.',
    });
  }
}

/** Thrown by exec when its AbortSignal fires. */
export class CommandAbortedError extends SandboxError {
  constructor(cause?: unknown) {
    super('command_aborted', 'The command was stopped', { kind: 'permanent', cause });
  }
}
