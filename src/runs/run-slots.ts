import { AbortedError } from '../lib/errors.js';

/**
 * At most `size` runs at once on this instance (RUN_MAX_CONCURRENT); the others wait in the order
 * they came, and each is told its place once. A wait ends early when its signal fires.
 */
export class RunSlots {
  private running = 0;
  private readonly waiting: Array<{ start: () => void }> = [];

  constructor(private readonly size: number) {}

  /** Resolves with the slot's release once a slot is free; `onQueued` hears how many are ahead. */
  async acquire(signal: AbortSignal, onQueued: (ahead: number) => void): Promise<() => void> {
    if (this.running < this.size && this.waiting.length === 0) return this.take();
    onQueued(this.waiting.length + (this.running >= this.size ? 1 : 0));
    await new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new AbortedError(signal.reason));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
    return this.take();
  }

  private take(): () => void {
    this.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
      if (this.running < this.size) this.waiting.shift()?.start();
    };
  }
}
