import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SandboxProvider } from '../sandbox/sandbox.js';
import type { LiveSandbox, SandboxRegistry } from '../store/sandbox-registry.js';

export interface SandboxReaperOptions {
  registry: SandboxRegistry;
  provider: SandboxProvider;
  /** A sandbox unused for this long is released. */
  idleMs: number;
  /** `pause` keeps the sandbox resumable (E2B); `kill` frees it. */
  mode: 'kill' | 'pause';
  /**
   * Threads with a run going keep their sandboxes whatever the clock says. With Restate the run may be
   * on another instance: the thread's record answers.
   */
  isRunning: (channel: string, threadTs: string) => boolean | Promise<boolean>;
  logger: Logger;
  now?: () => number;
}

/** Frees the sandboxes of idle threads, and those of a repo that was unlinked. */
export class SandboxReaper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(private readonly options: SandboxReaperOptions) {}

  start(intervalMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      void this.sweep();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the registry; overlapping calls share the pass in progress. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /** Kills every sandbox of a repo in a channel (its link was removed). */
  async releaseRepo(channel: string, repo: string): Promise<number> {
    const wanted = repo.toLowerCase();
    const matching: LiveSandbox[] = [];
    for (const s of await this.options.registry.forChannel(channel)) {
      if (s.repo.toLowerCase() === wanted && !(await this.options.isRunning(s.channel, s.threadTs))) matching.push(s);
    }
    for (const sandbox of matching) await this.release(sandbox, 'kill');
    return matching.length;
  }

  /** Releases a thread's sandboxes now (its idle timer fired), as SANDBOX_IDLE_ACTION says. */
  async releaseThread(channel: string, threadTs: string): Promise<number> {
    const mine = (await this.options.registry.forChannel(channel)).filter(
      (s) =>
        s.threadTs === threadTs &&
        s.provider === this.options.provider.name &&
        !(s.state === 'paused' && this.options.mode === 'pause'),
    );
    for (const sandbox of mine) await this.release(sandbox, this.options.mode);
    return mine.length;
  }

  private async sweepOnce(): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    let sandboxes: LiveSandbox[];
    try {
      sandboxes = await this.options.registry.list();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'idle sweep could not read the sandbox registry');
      return;
    }
    for (const sandbox of sandboxes) {
      if (sandbox.provider !== this.options.provider.name) continue;
      if (await this.options.isRunning(sandbox.channel, sandbox.threadTs)) continue;
      const idleFor = now - Date.parse(sandbox.lastActiveAt);
      if (idleFor < this.options.idleMs) continue;
      if (sandbox.state === 'paused' && this.options.mode === 'pause') continue;
      await this.release(sandbox, this.options.mode);
    }
  }

  private async release(sandbox: LiveSandbox, mode: 'kill' | 'pause'): Promise<void> {
    const { provider, registry, logger } = this.options;
    try {
      const done = await provider.release(sandbox.sandboxId, mode);
      if (mode === 'pause' && done) await registry.markPaused(sandbox.sandboxId);
      else await registry.remove(sandbox.sandboxId);
      logger.info(
        { sandbox: sandbox.sandboxId, channel: sandbox.channel, thread: sandbox.threadTs, mode, done },
        'idle sandbox released',
      );
    } catch (error) {
      // Left in the registry: the next sweep tries again.
      logger.warn({ err: error, sandbox: sandbox.sandboxId }, `could not release a sandbox: ${errorMessage(error)}`);
    }
  }
}
