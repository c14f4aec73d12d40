/** What one live check found. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** What was checked, e.g. "Slack bot token". */
  name: string;
  status: CheckStatus;
  /** What was found, in a few words. */
  detail: string;
  /** What to do about it (warn and fail). */
  fix?: string;
  /** The environment variable at fault, when one is. */
  variable?: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });
export const warn = (name: string, detail: string, fix: string, variable?: string): CheckResult => ({
  name,
  status: 'warn',
  detail,
  fix,
  ...(variable ? { variable } : {}),
});
export const fail = (name: string, detail: string, fix: string, variable?: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  fix,
  ...(variable ? { variable } : {}),
});

/** How long one check may take before it counts as unreachable. */
export const CHECK_TIMEOUT_MS = 15_000;

export class CheckTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no answer from ${what} within ${Math.round(ms / 1000)} s`);
  }
}

/** The work's result, or a CheckTimeoutError once `ms` have passed. */
export async function within<T>(ms: number, what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new CheckTimeoutError(what, ms));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A network error's code (ECONNREFUSED, ENOTFOUND …) from an error or its causes. */
export function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause ?? (current as { original?: unknown }).original;
  }
  return undefined;
}

/** "what was found: what to do", for a log line or an error message. */
export function describeResult(result: CheckResult): string {
  return result.fix ? `${result.detail}: ${result.fix}` : result.detail;
}
