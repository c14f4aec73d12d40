/** Resolves pending waits when `notify()` is called after something was recorded. */
export class Waiters {
  private readonly pending = new Set<() => void>();

  notify(): void {
    for (const check of [...this.pending]) check();
  }

  /**
   * Resolves with the first non-undefined result of `probe` (checked now and after every `notify()`),
   * or rejects after `timeoutMs` with `describe()` in the message.
   */
  wait<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = probe();
        if (value === undefined) return;
        this.pending.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.pending.delete(check);
        reject(new Error(describe()));
      }, timeoutMs);
      this.pending.add(check);
    });
  }
}
