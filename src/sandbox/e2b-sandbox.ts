import { setTimeout as sleep } from 'node:timers/promises';
import {
  ALL_TRAFFIC,
  AuthenticationError,
  CommandExitError,
  type CommandHandle,
  E2B,
  type E2BClientOpts,
  FileNotFoundError,
  InvalidArgumentError,
  NotEnoughSpaceError,
  NotFoundError,
  RateLimitError,
  SandboxNotFoundError,
  type Sandbox as SdkSandbox,
  SandboxError as SdkSandboxError,
  ServiceBusyError,
  TemplateError,
  TimeoutError,
} from 'e2b';
import type { NetworkPolicy } from '../config/network.js';
import type { ErrorKind } from '../lib/errors.js';
import { AbortedError, errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import { CappedOutput, EXEC_OUTPUT_MAX_CHARS } from '../lib/trim-output.js';
import {
  type DirectoryEntry,
  type ExecOptions,
  type ExecResult,
  type FileToWrite,
  fileTooLarge,
  type Sandbox,
  SandboxError,
  type SandboxErrorCode,
  SandboxGoneError,
  type SandboxProvider,
  type SandboxSpec,
} from './sandbox.js';

export interface E2BSandboxProviderOptions {
  apiKey: string;
  /** Template name or id (`E2B_TEMPLATE`). */
  template: string;
  domain?: string | undefined;
  apiUrl?: string | undefined;
  sandboxUrl?: string | undefined;
  logger: Logger;
  /** What sandboxes may reach; no sandbox takes inbound traffic from the internet whatever the policy. */
  network?: NetworkPolicy;
  /** The longest lifetime the plan grants (E2B refuses more); asked-for lifetimes are cut to it. */
  maxLifetimeMs?: number;
  /** What E2B does when a sandbox's lifetime runs out: kill it (default) or pause it (`connect` resumes it). */
  lifecycle?: 'kill' | 'pause';
  /** Per-request limit for control-plane and file calls, and for a command's start handshake. Default 60 s. */
  requestTimeoutMs?: number;
  /** Retries of a transient create/connect failure, and the wait before the first (it grows after). */
  retry?: { retries: number; minDelayMs: number };
  /** Characters of each stream `exec` keeps in memory (the head and the most recent tail); default 16 Mi. */
  execOutputMaxChars?: number;
}

/** Exit code reported when a command ran past its timeout (as coreutils `timeout` does). */
export const TIMEOUT_EXIT_CODE = 124;
/** Where E2B templates put the user's home; used when `$HOME` cannot be read. */
export const DEFAULT_E2B_HOME = '/home/user';

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DEFAULT_RETRY = { retries: 3, minDelayMs: 500 };
const HOME_PROBE_TIMEOUT_MS = 30_000;
const HEALTH_PROBE_TIMEOUT_MS = 5_000;
const KILL_REQUEST_TIMEOUT_MS = 10_000;
/** How long an aborted or timed-out command may take to report its end after it was killed. */
const KILL_SETTLE_MS = 3_000;

/**
 * Sandboxes on E2B. Every connection setting is passed explicitly through a bound `E2B` client:
 * nothing is read from the process environment here, and no environment variable (least of all a secret) is
 * given to the sandbox at creation.
 */
export class E2BSandboxProvider implements SandboxProvider {
  readonly name = 'e2b' as const;
  private readonly client: E2B;
  private readonly logger: Logger;
  private readonly requestTimeoutMs: number;
  private readonly retry: { retries: number; minDelayMs: number };

  constructor(private readonly options: E2BSandboxProviderOptions) {
    this.logger = options.logger;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.retry = options.retry ?? DEFAULT_RETRY;
    const opts: E2BClientOpts = { apiKey: options.apiKey, requestTimeoutMs: this.requestTimeoutMs };
    if (options.domain) opts.domain = options.domain;
    if (options.apiUrl) opts.apiUrl = options.apiUrl;
    if (options.sandboxUrl) opts.sandboxUrl = options.sandboxUrl;
    this.client = new E2B(opts);
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    // A repo linked with `--template` has its own; E2B_TEMPLATE otherwise.
    const template = spec.template ?? this.options.template;
    let sdk: SdkSandbox;
    try {
      sdk = await this.withRetry('create', () =>
        this.client.Sandbox.create(template, {
          timeoutMs: this.lifetime(spec.timeoutMs),
          metadata: spec.metadata,
          envs: {},
          ...networkOptions(this.options.network),
          requestTimeoutMs: this.requestTimeoutMs,
          ...(this.options.lifecycle === 'pause' ? { lifecycle: { onTimeout: 'pause' as const } } : {}),
        }),
      );
    } catch (error) {
      const mapped = controlPlaneError(error, 'create', template, spec.template !== undefined);
      this.logger.error(
        { err: error, template, code: mapped.code },
        `E2B sandbox create failed: ${errorMessage(error)}`,
      );
      throw mapped;
    }
    const home = await this.detectHome(sdk);
    this.logger.info({ sandbox: sdk.sandboxId, template, home }, 'E2B sandbox created');
    return new E2BSandbox(sdk, home, this.logger, this.requestTimeoutMs, this.options.execOutputMaxChars);
  }

  async connect(id: string, timeoutMs: number): Promise<Sandbox | undefined> {
    let sdk: SdkSandbox;
    try {
      sdk = await this.withRetry('connect', () =>
        this.client.Sandbox.connect(id, {
          timeoutMs: this.lifetime(timeoutMs),
          requestTimeoutMs: this.requestTimeoutMs,
        }),
      );
    } catch (error) {
      if (isNotFound(error)) {
        this.logger.info({ sandbox: id }, 'E2B sandbox no longer exists');
        return undefined;
      }
      if (isTimeout(error)) {
        this.logger.warn({ sandbox: id, err: error }, 'E2B connect timed out; treating the sandbox as gone');
        return undefined;
      }
      const mapped = controlPlaneError(error, 'connect', this.options.template);
      this.logger.error({ sandbox: id, err: error, code: mapped.code }, `E2B connect failed: ${errorMessage(error)}`);
      throw mapped;
    }
    const home = await this.detectHome(sdk);
    return new E2BSandbox(sdk, home, this.logger, this.requestTimeoutMs, this.options.execOutputMaxChars);
  }

  async release(id: string, mode: 'kill' | 'pause'): Promise<boolean> {
    try {
      const done =
        mode === 'pause'
          ? await this.client.Sandbox.pause(id, { requestTimeoutMs: KILL_REQUEST_TIMEOUT_MS })
          : await this.client.Sandbox.kill(id, { requestTimeoutMs: KILL_REQUEST_TIMEOUT_MS });
      this.logger.info({ sandbox: id, mode, done }, `E2B sandbox ${mode === 'pause' ? 'paused' : 'killed'}`);
      return done;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw controlPlaneError(error, mode === 'pause' ? 'pause' : 'kill', this.options.template);
    }
  }

  private lifetime(wanted: number): number {
    return Math.min(wanted, this.options.maxLifetimeMs ?? wanted);
  }

  private async detectHome(sdk: SdkSandbox): Promise<string> {
    try {
      const result = await sdk.commands.run('echo $HOME', {
        timeoutMs: HOME_PROBE_TIMEOUT_MS,
        requestTimeoutMs: this.requestTimeoutMs,
      });
      const home = result.stdout.trim();
      if (home.startsWith('/')) return home.replace(/\/+$/, '') || '/';
      this.logger.warn({ sandbox: sdk.sandboxId, output: home }, `$HOME is not a path; using ${DEFAULT_E2B_HOME}`);
    } catch (error) {
      this.logger.warn({ sandbox: sdk.sandboxId, err: error }, `could not read $HOME; using ${DEFAULT_E2B_HOME}`);
    }
    return DEFAULT_E2B_HOME;
  }

  /** Retries transient failures (429, 5xx, connection errors); a connect timeout is left to the caller. */
  private withRetry<T>(operation: 'create' | 'connect', call: () => Promise<T>): Promise<T> {
    return retrying(call, {
      ...this.retry,
      maxDelayMs: 8_000,
      shouldRetry: (error) => isRetryable(error) && !(operation === 'connect' && isTimeout(error)),
      onRetry: (error, attempt) => {
        this.logger.warn(
          { operation, attempt, err: error },
          `E2B ${operation} failed (${errorMessage(error)}); retrying`,
        );
      },
    });
  }
}

/**
 * E2B's egress rules for a policy: deny everything but the allowed hosts (domain rules cover HTTP on
 * port 80 and TLS on 443), no internet at all, or open; public inbound traffic is always off.
 */
export function networkOptions(policy: NetworkPolicy | undefined): {
  allowInternetAccess?: boolean;
  network: { allowOut?: string[]; denyOut?: string[]; allowPublicTraffic: boolean };
} {
  if (!policy || policy.mode === 'open') return { network: { allowPublicTraffic: false } };
  if (policy.allowHosts.length === 0) return { allowInternetAccess: false, network: { allowPublicTraffic: false } };
  return { network: { allowOut: [...policy.allowHosts], denyOut: [ALL_TRAFFIC], allowPublicTraffic: false } };
}

/** One live E2B sandbox, with the same semantics as `LocalSandbox`. */
export class E2BSandbox implements Sandbox {
  readonly provider = 'e2b' as const;
  readonly id: string;
  private killed = false;

  constructor(
    private readonly sdk: SdkSandbox,
    readonly home: string,
    private readonly logger: Logger,
    private readonly requestTimeoutMs: number,
    private readonly outputMaxChars: number = EXEC_OUTPUT_MAX_CHARS,
  ) {
    this.id = sdk.sandboxId;
  }

  async exec(command: string, options: ExecOptions): Promise<ExecResult> {
    this.ensureAlive();
    const { signal } = options;
    if (signal?.aborted) throw new AbortedError(signal.reason);
    const started = Date.now();
    const timeoutMs = Math.max(1, Math.ceil(options.timeoutMs));

    // The only copy of the output kept, and a bounded one: the SDK's own copy is emptied chunk by chunk (see
    // `collect`), so a command that prints without end cannot exhaust the bot's memory.
    const stdout = new CappedOutput(this.outputMaxChars);
    const stderr = new CappedOutput(this.outputMaxChars);
    const sdkHandle: { current?: CommandHandle } = {};
    let handle: CommandHandle;
    try {
      // Started in the background so the pid is known: a Stop or a timeout kills it explicitly.
      handle = await this.sdk.commands.run(command, {
        background: true,
        cwd: options.cwd,
        envs: options.env ?? {},
        stdin: false,
        timeoutMs,
        requestTimeoutMs: this.requestTimeoutMs,
        onStdout: collect(stdout, '_stdout', sdkHandle, options.onStdout),
        onStderr: collect(stderr, '_stderr', sdkHandle, options.onStderr),
      });
    } catch (error) {
      throw await this.failure(error, 'exec');
    }
    sdkHandle.current = handle;
    // Chunks that arrived before `run` returned were collected while the handle was not yet known.
    forgetSdkOutput(handle, '_stdout');
    forgetSdkOutput(handle, '_stderr');

    const finished = handle.wait().then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      if (!signal) return;
      if (signal.aborted) resolve('aborted');
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const outcome = await Promise.race([finished, aborted]);
    if (onAbort) signal?.removeEventListener('abort', onAbort);

    if (outcome === 'aborted') {
      await this.killProcess(handle, finished);
      throw new AbortedError(signal?.reason);
    }
    const durationMs = () => Date.now() - started;
    if (outcome.ok) {
      return {
        exitCode: 0,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        durationMs: durationMs(),
        timedOut: false,
      };
    }
    const { error } = outcome;
    if (error instanceof CommandExitError) {
      return {
        exitCode: exitCodeOf(error),
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        durationMs: durationMs(),
        timedOut: false,
      };
    }
    if (error instanceof TimeoutError) {
      const state = await this.probe();
      if (state === 'gone') throw new SandboxGoneError(this.id, error);
      if (isDeadlineExceeded(error) || durationMs() >= timeoutMs) {
        // envd kills the process at the deadline; make sure, in case only the client's deadline fired.
        await this.killProcess(handle, finished);
        return {
          exitCode: TIMEOUT_EXIT_CODE,
          stdout: stdout.toString(),
          stderr: stderr.toString(),
          durationMs: durationMs(),
          timedOut: true,
        };
      }
      await this.killProcess(handle, finished);
      throw new SandboxError('exec_interrupted', `Lost the connection to a running command: ${error.message}`, {
        kind: 'transient',
        cause: error,
        userMessage: 'The connection to the sandbox dropped while a command was running; try again.',
      });
    }
    throw await this.failure(error, 'exec');
  }

  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    this.ensureAlive();
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    let stream: ReadableStream<Uint8Array>;
    try {
      stream = await this.sdk.files.read(path, { format: 'stream', requestTimeoutMs: this.requestTimeoutMs });
    } catch (error) {
      throw await this.failure(error, 'read', path);
    }
    // Streamed and counted, so a huge or endless file (a device) never fills the bot's memory.
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > max) throw fileTooLarge(path, max);
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof SandboxError) throw error;
      throw await this.failure(error, 'read', path);
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  async writeFiles(files: FileToWrite[]): Promise<void> {
    this.ensureAlive();
    if (files.length === 0) return;
    // One multipart request; envd creates missing parent directories.
    const entries = files.map((file) => ({
      path: file.path,
      data: typeof file.data === 'string' ? file.data : Uint8Array.from(file.data).buffer,
    }));
    try {
      await this.sdk.files.write(entries, { requestTimeoutMs: this.requestTimeoutMs });
    } catch (error) {
      throw await this.failure(error, 'write', files.length === 1 ? files[0]?.path : undefined);
    }
  }

  async listDirectory(path: string): Promise<DirectoryEntry[]> {
    this.ensureAlive();
    try {
      const entries = await this.sdk.files.list(path, { depth: 1, requestTimeoutMs: this.requestTimeoutMs });
      return entries.map((entry) => ({
        name: entry.name,
        // envd reports a symlink with its target's type plus `symlinkTarget`; the local sandbox says symlink.
        type: entry.symlinkTarget || entry.type === 'symlink' ? 'symlink' : entry.type === 'dir' ? 'directory' : 'file',
      }));
    } catch (error) {
      throw await this.failure(error, 'list', path);
    }
  }

  async makeDirectory(path: string): Promise<boolean> {
    this.ensureAlive();
    try {
      return await this.sdk.files.makeDir(path, { requestTimeoutMs: this.requestTimeoutMs });
    } catch (error) {
      throw await this.failure(error, 'mkdir', path);
    }
  }

  async kill(): Promise<boolean> {
    if (this.killed) return false;
    try {
      const wasRunning = await this.sdk.kill({ requestTimeoutMs: this.requestTimeoutMs });
      this.killed = true;
      return wasRunning;
    } catch (error) {
      if (isNotFound(error)) {
        this.killed = true;
        return false;
      }
      throw await this.failure(error, 'kill');
    }
  }

  private ensureAlive(): void {
    if (this.killed) throw new SandboxGoneError(this.id);
  }

  /** SIGKILLs the command and waits (briefly) until its stream reports the end, so it is really gone. */
  private async killProcess(handle: CommandHandle, finished: Promise<unknown>): Promise<void> {
    try {
      await this.sdk.commands.kill(handle.pid, { requestTimeoutMs: KILL_REQUEST_TIMEOUT_MS });
    } catch (error) {
      this.logger.warn({ sandbox: this.id, pid: handle.pid, err: error }, 'could not kill a sandbox command');
    }
    const settled = new AbortController();
    await Promise.race([finished, sleep(KILL_SETTLE_MS, undefined, { signal: settled.signal }).catch(() => undefined)]);
    settled.abort();
    await handle.disconnect().catch(() => undefined);
  }

  /** Whether the sandbox still answers: a paused one counts as gone for this handle (connect resumes it). */
  private async probe(): Promise<'running' | 'gone' | 'unknown'> {
    try {
      return (await this.sdk.isRunning({ requestTimeoutMs: HEALTH_PROBE_TIMEOUT_MS })) ? 'running' : 'gone';
    } catch (error) {
      return isPaused(error) ? 'gone' : 'unknown';
    }
  }

  private async failure(error: unknown, operation: Operation, path?: string): Promise<SandboxError> {
    if (error instanceof SandboxError) return error;
    if (error instanceof SandboxNotFoundError || isPaused(error)) return new SandboxGoneError(this.id, error);
    // A dead sandbox answers file calls with a timeout, a paused one with a bare HTTP 409: unless the error
    // is plainly about the request itself, ask whether the sandbox is still there.
    if (!isRequestProblem(error) && (await this.probe()) === 'gone') return new SandboxGoneError(this.id, error);
    const mapped = envdError(error, operation, path);
    if (mapped.kind === 'transient') this.logger.warn({ sandbox: this.id, operation, err: error }, mapped.message);
    return mapped;
  }
}

type Operation = 'exec' | 'read' | 'write' | 'list' | 'mkdir' | 'kill';

/** Errno-style codes (first match wins: "already exists but it is not a directory" is EEXIST), so file errors read the same as the local sandbox's (see agent/tools/sandbox-files.ts). */
const FILE_PROBLEMS: Array<{ test: RegExp; code: SandboxErrorCode; errno: string; what: string }> = [
  { test: /is a directory/i, code: 'is_a_directory', errno: 'EISDIR', what: 'is a directory' },
  { test: /already exists/i, code: 'file_exists', errno: 'EEXIST', what: 'already exists' },
  { test: /not a directory/i, code: 'not_a_directory', errno: 'ENOTDIR', what: 'is not a directory' },
  { test: /permission.denied/i, code: 'permission_denied', errno: 'EACCES', what: 'permission denied' },
];

function errnoError(errno: string, message: string, cause: unknown): Error {
  return Object.assign(new Error(message, { cause }), { code: errno });
}

function envdError(error: unknown, operation: Operation, path: string | undefined): SandboxError {
  const message = errorMessage(error);
  const where = path ? ` (${path})` : '';
  if (error instanceof FileNotFoundError || (error instanceof NotFoundError && path !== undefined)) {
    return new SandboxError('file_not_found', `No such file or directory${where}: ${message}`, {
      kind: 'permanent',
      cause: errnoError('ENOENT', message, error),
      userMessage: `No such file or directory${where}.`,
    });
  }
  if (error instanceof InvalidArgumentError || error instanceof SdkSandboxError) {
    const problem = path !== undefined ? FILE_PROBLEMS.find((p) => p.test.test(message)) : undefined;
    if (problem) {
      return new SandboxError(problem.code, `${path}: ${problem.what} (${message})`, {
        kind: 'permanent',
        cause: errnoError(problem.errno, message, error),
        userMessage: `${path}: ${problem.what}.`,
      });
    }
  }
  if (operation === 'exec' && (error instanceof InvalidArgumentError || error instanceof NotFoundError)) {
    return new SandboxError('exec_failed', `Could not start a command: ${message}`, {
      kind: 'permanent',
      cause: error,
    });
  }
  return sdkError(error, `E2B ${operation} failed`);
}

/** Control-plane failures (create, connect), with what an operator should check. */
function controlPlaneError(
  error: unknown,
  operation: 'create' | 'connect' | 'kill' | 'pause',
  template: string,
  /** The repo's link chose the template (`--template`), not E2B_TEMPLATE. */
  fromLink = false,
): SandboxError {
  const message = errorMessage(error);
  if (error instanceof AuthenticationError) {
    return new SandboxError('e2b_auth', `E2B rejected the API key on ${operation}: ${message}`, {
      kind: 'permanent',
      endsRun: true,
      cause: error,
      userMessage: 'E2B rejected the API key, so no sandbox can be started. An operator should check E2B_API_KEY.',
    });
  }
  const status = statusOf(error);
  if (
    operation === 'create' &&
    (error instanceof TemplateError || error instanceof InvalidArgumentError || status === 400 || status === 404)
  ) {
    return new SandboxError('e2b_template', `E2B could not start template "${template}": ${message}`, {
      kind: 'permanent',
      endsRun: true,
      cause: error,
      userMessage: fromLink
        ? `E2B could not start a sandbox from template "${template}", which this repo's link names. Link the repo again with a template the E2B team owning E2B_API_KEY can use (\`/ai-dev link owner/repo --template NAME\`), or without \`--template\` to use the bot's default.`
        : `E2B could not start a sandbox from template "${template}". An operator should check E2B_TEMPLATE (and that the E2B team owning E2B_API_KEY can use it).`,
    });
  }
  return sdkError(error, `E2B ${operation} failed`);
}

/** Any other SDK or transport error, with its kind. */
function sdkError(error: unknown, context: string): SandboxError {
  const message = `${context}: ${errorMessage(error)}`;
  if (error instanceof NotEnoughSpaceError) {
    return new SandboxError('sandbox_disk_full', message, {
      kind: 'permanent',
      endsRun: true,
      cause: error,
      userMessage: 'The sandbox ran out of disk space; remove build output or large files and try again.',
    });
  }
  if (error instanceof AuthenticationError) {
    return new SandboxError('e2b_auth', message, {
      kind: 'permanent',
      endsRun: true,
      cause: error,
      userMessage: 'E2B refused the request as unauthorized. An operator should check E2B_API_KEY.',
    });
  }
  if (error instanceof TemplateError) {
    return new SandboxError('e2b_template', message, {
      kind: 'permanent',
      endsRun: true,
      cause: error,
      userMessage: 'The E2B template is too old for this SDK. An operator should rebuild it or check E2B_TEMPLATE.',
    });
  }
  const kind: ErrorKind = isRetryable(error) ? 'transient' : 'permanent';
  return new SandboxError(kind === 'transient' ? 'e2b_unavailable' : 'e2b_error', message, {
    kind,
    cause: error,
    userMessage:
      kind === 'transient'
        ? 'E2B (the sandbox service) is not answering right now; try again in a minute.'
        : `The sandbox service refused the request (${errorMessage(error)}).`,
  });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number') return status;
  const match = /^(\d{3}): /.exec(errorMessage(error));
  return match?.[1] ? Number(match[1]) : undefined;
}

function isNotFound(error: unknown): boolean {
  return error instanceof SandboxNotFoundError || statusOf(error) === 404;
}

/** envd answers 409 "The sandbox is paused" to every call on a paused sandbox (RPCs see a bare "HTTP 409"). */
function isPaused(error: unknown): boolean {
  return /sandbox is paused|\bHTTP 409\b/i.test(errorMessage(error));
}

/** Errors about the request (a path, an argument, the disk), not about whether the sandbox is there. */
function isRequestProblem(error: unknown): boolean {
  return (
    error instanceof FileNotFoundError ||
    error instanceof InvalidArgumentError ||
    error instanceof NotEnoughSpaceError ||
    error instanceof CommandExitError ||
    error instanceof AuthenticationError
  );
}

function isTimeout(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function isDeadlineExceeded(error: TimeoutError): boolean {
  return /deadline_exceeded|deadline exceeded/i.test(error.message);
}

/** fetch/undici failures: refused, reset, DNS, TLS, dropped connections. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof TypeError && /fetch failed|terminated/i.test(error.message)) return true;
  const code = (error.cause as { code?: unknown } | undefined)?.code ?? (error as { code?: unknown }).code;
  return (
    typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(code)
  );
}

function isRetryable(error: unknown): boolean {
  if (error instanceof RateLimitError || error instanceof ServiceBusyError) return true;
  if (isTimeout(error) || isConnectionError(error)) return true;
  const status = statusOf(error);
  return status !== undefined && (status >= 500 || status === 429 || status === 408);
}

const SIGNAL_NUMBERS: Record<string, number> = {
  hangup: 1,
  interrupt: 2,
  quit: 3,
  aborted: 6,
  killed: 9,
  'segmentation fault': 11,
  'broken pipe': 13,
  terminated: 15,
};

/** envd reports a signal death as exit code -1 and `signal: <name>`; the local sandbox says 128 + signal. */
function exitCodeOf(error: CommandExitError): number {
  if (error.exitCode >= 0) return error.exitCode;
  const name = /^signal: (.+)$/.exec(error.error ?? '')?.[1];
  const number = name ? SIGNAL_NUMBERS[name] : undefined;
  return number === undefined ? 1 : 128 + number;
}

/**
 * The SDK's output callback for one stream: keeps the chunk in `output` (bounded), empties the SDK's own copy,
 * then passes the chunk on; a throwing progress callback must not break the command's event stream.
 */
function collect(
  output: CappedOutput,
  field: SdkOutputField,
  sdkHandle: { current?: CommandHandle },
  callback: ((chunk: string) => void) | undefined,
): (chunk: string) => void {
  return (chunk) => {
    output.push(chunk);
    forgetSdkOutput(sdkHandle.current, field);
    try {
      callback?.(chunk);
    } catch {
      // Progress reporting is best effort.
    }
  };
}

type SdkOutputField = '_stdout' | '_stderr';

/**
 * e2b's `CommandHandle` (2.51) appends every decoded chunk to the private strings `_stdout`/`_stderr` (read
 * through `handle.stdout`, and copied into the result at the end) and has no option to stop it. The output
 * callbacks get every chunk, each right after the SDK appended it and before `wait()` settles, so emptying
 * that string there keeps the SDK's copy to about one chunk; `CappedOutput` holds what is kept instead.
 * Nothing happens if a later SDK names the field differently (its copy then grows again, as before).
 */
function forgetSdkOutput(handle: CommandHandle | undefined, field: SdkOutputField): void {
  const internals = handle as unknown as Record<SdkOutputField, unknown> | undefined;
  if (internals && typeof internals[field] === 'string') internals[field] = '';
}
