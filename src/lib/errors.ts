import { randomBytes } from 'node:crypto';

/** Whether trying the same thing again later can succeed. */
export type ErrorKind = 'transient' | 'permanent';

export interface AppErrorOptions {
  kind?: ErrorKind;
  cause?: unknown;
  /** What a person in Slack is told; a plain sentence that says what to do. */
  userMessage?: string;
  /**
   * No tool call can fix this (a dead sandbox, a refused credential, a branch someone else moved):
   * a run that meets it ends with its sentence instead of letting the model retry in vain.
   */
  endsRun?: boolean;
}

/**
 * The base of every error the project raises on purpose. `code` is stable and greppable (each
 * room declares its own union of codes), `userMessage` is what a person sees, `message` is for
 * operators, and whether the error ends a run is decided where it is thrown.
 */
export class AppError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly kind: ErrorKind;
  readonly userMessage: string;
  readonly endsRun: boolean;

  constructor(code: Code, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = options.kind ?? 'permanent';
    this.userMessage = options.userMessage ?? message;
    this.endsRun = options.endsRun ?? false;
  }
}

/** Work stopped on purpose (Stop, shutdown, a run's deadline); belongs to no adapter. */
export class AbortedError extends AppError<'aborted'> {
  constructor(reason?: unknown) {
    super('aborted', reasonText(reason), { cause: reason });
  }
}

/** Throws an AbortedError when the signal has fired, so no new work starts that nobody will read. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

/** An abort of any origin: ours, the platform's `AbortError`, or anything thrown once the signal fired. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (error instanceof AbortedError) return true;
  return error instanceof Error && error.name === 'AbortError';
}

export function isTransient(error: unknown): boolean {
  return error instanceof AppError && error.kind === 'transient';
}

export function endsRun(error: unknown): error is AppError {
  return error instanceof AppError && error.endsRun;
}

/** A short id that a person can give an operator; the same id is logged with the error. */
export function errorReference(): string {
  return `ERR-${randomBytes(4).toString('hex').toUpperCase()}`;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

function reasonText(reason: unknown): string {
  if (reason === undefined) return 'The work was stopped';
  return `The work was stopped: ${errorMessage(reason)}`;
}
