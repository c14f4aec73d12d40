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
  /**
   * Reads a file, at most `maxBytes` of it into the bot's memory (streamed, never more): a bigger one
   * — or an endless one such as a device — fails with `file_too_large`.
   */
  readFile(path: string, options?: { maxBytes?: number }): Promise<Uint8Array>;
  /** Writes several files at once, creating parent directories. */
  writeFiles(files: FileToWrite[]): Promise<void>;
  listDirectory(path: string): Promise<DirectoryEntry[]>;
  /** Creates the directory and its parents; false when it already existed. */
  makeDirectory(path: string): Promise<boolean>;
  /** Ends the sandbox and frees its resources; true when it was still running. */
  kill(): Promise<boolean>;
}

export interface SandboxSpec {
  /** Names the sandbox in the provider's console and in `/ai-dev list`. */
  metadata: Record<string, string>;
  /** How long the sandbox lives (a reconnect extends it). */
  timeoutMs: number;
  /** The E2B template for this repo (`/ai-dev link … --template`); the provider's default otherwise. */
  template?: string;
}

export interface SandboxProvider {
  readonly name: 'local' | 'e2b';
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Reconnects to a sandbox made earlier (resuming a paused one); undefined when it no longer exists. */
  connect(id: string, timeoutMs: number): Promise<Sandbox | undefined>;
  /**
   * Ends an idle sandbox by id: `kill` frees it for good, `pause` keeps its disk and memory so a
   * later connect resumes it. False when it was already gone, or (pause) when nothing was kept.
   */
  release(id: string, mode: 'kill' | 'pause'): Promise<boolean>;
}

/** Every code a sandbox (or a workspace in it) fails with. */
export type SandboxErrorCode =
  | 'sandbox_gone'
  | 'exec_failed'
  | 'exec_interrupted'
  | 'file_not_found'
  | 'is_a_directory'
  | 'file_exists'
  | 'not_a_directory'
  | 'permission_denied'
  | 'sandbox_disk_full'
  | 'e2b_auth'
  | 'e2b_template'
  | 'e2b_unavailable'
  | 'e2b_error'
  | 'clone_failed'
  | 'branch_failed'
  | 'git_failed'
  | 'not_on_branch'
  | 'empty_commit_message'
  | 'file_too_large'
  | 'not_a_file';

export class SandboxError extends AppError<SandboxErrorCode> {}

export class SandboxGoneError extends SandboxError {
  constructor(id: string, cause?: unknown) {
    super('sandbox_gone', `Sandbox ${id} no longer exists`, {
      kind: 'transient',
      cause,
      // The next run starts a fresh one from the published branch; this one cannot go on.
      endsRun: true,
      userMessage:
        'The sandbox for this thread is gone (expired or stopped). Reply in this thread to go on: I will start a fresh one from the published branch.',
    });
  }
}

/** A file too big (or endless) to read into the bot's memory. */
export function fileTooLarge(path: string, maxBytes: number): SandboxError {
  return new SandboxError(
    'file_too_large',
    `${path} is larger than ${maxBytes} bytes (or never ends); it was not read`,
    { userMessage: `${path} is too large to read here.` },
  );
}
