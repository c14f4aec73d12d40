import type { SandboxRegistry } from '../store/sandbox-registry.js';
import type { ThreadState, ThreadStore } from '../store/thread-store.js';

export interface ActiveThread {
  repos: string[];
  status: Exclude<ThreadState['status'], 'idle'>;
  permalink?: string;
}

export interface LiveSandboxView {
  id: string;
  repo: string;
  state: 'running' | 'paused';
  idleMinutes: number;
}

/** What `/ai-dev list` shows of a channel besides its links: threads at work and live sandboxes. */
export class ChannelOverview {
  constructor(
    private readonly deps: {
      threads: ThreadStore;
      registry: SandboxRegistry;
      /** Answered by the store when the run may be on another instance (Restate). */
      isRunning: (channel: string, threadTs: string) => boolean | Promise<boolean>;
      now?: () => number;
    },
  ) {}

  async activeThreads(channel: string): Promise<ActiveThread[]> {
    const active = await this.deps.threads.active(channel);
    return active.flatMap((t) =>
      t.status === 'idle'
        ? []
        : [{ repos: t.repos.map((r) => r.repo), status: t.status, ...(t.permalink ? { permalink: t.permalink } : {}) }],
    );
  }

  async liveSandboxes(channel: string): Promise<LiveSandboxView[]> {
    const now = (this.deps.now ?? Date.now)();
    return Promise.all(
      (await this.deps.registry.forChannel(channel)).map(async (s) => ({
        id: s.sandboxId,
        repo: s.repo,
        state: s.state,
        idleMinutes: (await this.deps.isRunning(s.channel, s.threadTs))
          ? 0
          : Math.floor((now - Date.parse(s.lastActiveAt)) / 60_000),
      })),
    );
  }
}
