import { vi } from 'vitest';

/**
 * A clock for tests of code that spaces work in time (Date.now + setTimeout) while real I/O (a loopback fake)
 * goes on: only Date and the timeout functions are faked, so sockets and setImmediate still run. Time moves
 * only when `drive` moves it, so a spacing is asserted exactly, whatever the machine's load.
 */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
}

/** One turn of the real event loop: pending I/O callbacks run. */
export function realTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Moves the fake clock `stepMs` at a time, letting real I/O run between steps, until `work` settles. */
export async function drive<T>(work: Promise<T>, stepMs = 10): Promise<T> {
  let settled = false;
  const watched = work.finally(() => {
    settled = true;
  });
  watched.catch(() => {});
  while (!settled) {
    await vi.advanceTimersByTimeAsync(stepMs);
    await realTick();
  }
  return watched;
}
