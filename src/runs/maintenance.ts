import type { Logger } from '../lib/logger.js';
import type { KeyValueStore } from '../store/key-value-store.js';
import type { SandboxReaper } from './sandbox-reaper.js';

export interface MaintenanceOptions {
  /** Crash recovery, once at start: the local engine's interrupted runs, or the threads whose run never reached Restate. */
  recover?: () => Promise<number>;
  store: KeyValueStore;
  /** The idle sweep of the local engine; with Restate each thread has its own timer (none then). */
  reaper?: SandboxReaper;
  logger: Logger;
  /** How often idle sandboxes are looked for. */
  reaperIntervalMs: number;
  /** How often expired values are swept out of the store. Default 1 h. */
  sweepIntervalMs?: number;
}

/**
 * The bot's background work, started once and stopped at shutdown: crash recovery (at start), the idle-sandbox reaper, and the store's sweep of expired values. Every timer is
 * unref'd, so none keeps the process alive on its own.
 */
export class Maintenance {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: MaintenanceOptions) {}

  start(): void {
    const { logger } = this.options;
    const recover = () =>
      (this.options.recover?.() ?? Promise.resolve(0))
        .then((count) => count > 0 && logger.info({ count }, 'recovered interrupted runs'))
        .catch((error: unknown) => logger.error({ err: error }, 'recovery of interrupted runs failed'));
    const sweep = () =>
      this.options.store
        .sweepExpired()
        .then((count) => count > 0 && logger.debug({ count }, 'expired values swept'))
        .catch((error: unknown) => logger.warn({ err: error }, 'could not sweep expired values'));
    // The local engine is one process: what it left running is found at start, and nothing else can leave any.
    if (this.options.recover) void recover();
    this.every(this.options.sweepIntervalMs ?? 3_600_000, sweep);
    this.options.reaper?.start(this.options.reaperIntervalMs);
  }

  stop(): void {
    this.options.reaper?.stop();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private every(ms: number, work: () => unknown): void {
    const timer = setInterval(work, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
