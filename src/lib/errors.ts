import { randomBytes } from 'node:crypto';

/** Whether trying the same thing again later can succeed. */
export type ErrorKind = 'transient' | 'permanent';

export interface AppErrorOptions {
  kind?: ErrorKind;
  cause?: unknown;
  /** What a person in Slack is told; a plain sentence that says what to do. */
  userMessage?: string;
}

/**
 * The base of every error the project raises on purpose. `code` is stable and greppable,
 * `userMessage` is what a person sees, `message` is for operators.
 */
export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly userMessage: string;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = options.kind ?? 'permanent';
    this.userMessage = options.userMessage ?? message;
  }
}

export function isTransient(error: unknown): boolean {
  return error instanceof AppError && error.kind === 'transient';
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
