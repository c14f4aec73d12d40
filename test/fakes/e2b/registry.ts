/**
 * Shared state of one fake: the sandboxes, their lifetimes (expiry is applied lazily and by a sweep timer)
 * and the team limits (lifetime cap, running-sandbox concurrency).
 */
import { ApiError, concurrencyMessage } from './api-error.js';
import type { SandboxNetworkConfig } from './network.js';
import { FakeSandbox, type SandboxInfo } from './sandbox.js';

export interface RegistryOptions {
  baseDir: string;
  envdVersion: string;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  /** Running sandboxes allowed at once (paused ones do not count). */
  maxRunningSandboxes: number;
  childPath: string;
}

/** Lower bound of an auto-resumed sandbox's lifetime (E2B docs: "at least five minutes"; a server flag). */
export const MIN_AUTO_RESUME_TIMEOUT_MS = 5 * 60_000;

export class SandboxRegistry {
  readonly sandboxes = new Map<string, FakeSandbox>();

  constructor(readonly options: RegistryOptions) {}

  create(init: {
    templateId: string;
    metadata: Record<string, string>;
    envVars: Record<string, string>;
    timeoutMs: number | undefined;
    autoPause: boolean;
    autoPauseMemory: boolean;
    autoResume: boolean;
    allowInternetAccess: boolean | undefined;
    network: SandboxNetworkConfig | undefined;
  }): FakeSandbox {
    this.assertCapacity();
    const sandbox = new FakeSandbox({
      baseDir: this.options.baseDir,
      ...init,
      timeoutMs: init.timeoutMs ?? this.options.defaultTimeoutMs,
      requestedTimeoutMs: init.timeoutMs,
    });
    this.sandboxes.set(sandbox.sandboxId, sandbox);
    return sandbox;
  }

  /** The sandbox after applying any due expiry (killed ones are still returned). */
  get(id: string): FakeSandbox | undefined {
    this.sweep();
    return this.sandboxes.get(id);
  }

  runningCount(): number {
    let n = 0;
    for (const sandbox of this.sandboxes.values()) if (sandbox.state === 'running') n += 1;
    return n;
  }

  /** 429 when one more running sandbox would pass the limit (create and every resume check it). */
  assertCapacity(): void {
    this.sweep();
    if (this.runningCount() >= this.options.maxRunningSandboxes) {
      throw new ApiError(429, concurrencyMessage(this.options.maxRunningSandboxes));
    }
  }

  /** Resume a paused sandbox (connect, or envd traffic with `autoResume`), subject to the concurrency limit. */
  resume(sandbox: FakeSandbox, timeoutMs: number, how: { auto: boolean; memory: boolean }): void {
    if (sandbox.state !== 'paused') return;
    this.assertCapacity();
    sandbox.resume(timeoutMs, how);
  }

  /** An auto-resume's lifetime: the create-time timeout, at least 5 min, at most the cap (infra `calculateTimeoutSeconds`). */
  autoResumeTimeoutMs(sandbox: FakeSandbox): number {
    return Math.max(Math.min(sandbox.initialTimeoutMs, this.options.maxTimeoutMs), MIN_AUTO_RESUME_TIMEOUT_MS);
  }

  /**
   * infra `KeepAliveFor` (connect on a running sandbox, setTimeout): the new end is now + `ms`, clamped so the
   * sandbox never runs longer than the cap since it (re)started; connect only extends (`allowShorter` false).
   */
  keepAlive(sandbox: FakeSandbox, ms: number, allowShorter: boolean): void {
    const now = Date.now();
    const ran = now - sandbox.startedAt.getTime();
    const ttl = Math.max(0, Math.min(this.options.maxTimeoutMs - ran, ms));
    if (ran > this.options.maxTimeoutMs) throw new ApiError(400, 'Max instance length exceeded');
    const endAt = now + ttl;
    if (!allowShorter && endAt < sandbox.endAt.getTime()) return;
    sandbox.endAt = new Date(endAt);
    sandbox.timeoutMs = ttl;
  }

  /** Apply `onTimeout` to every running sandbox whose `endAt` has passed. */
  sweep(now = Date.now()): void {
    for (const sandbox of this.sandboxes.values()) {
      if (sandbox.state === 'running' && sandbox.endAt.getTime() <= now) this.expireNow(sandbox);
    }
  }

  /** Simulate the lifetime running out now (kill, or pause with `lifecycle.onTimeout: 'pause'`). */
  expire(id: string): SandboxInfo {
    const sandbox = this.must(id);
    this.expireNow(sandbox);
    return sandbox.info();
  }

  kill(id: string): SandboxInfo {
    const sandbox = this.must(id);
    sandbox.terminate('killed');
    return sandbox.info();
  }

  /** Kill every sandbox and wait (up to `waitMs`) for their processes to be gone. */
  async closeAll(waitMs = 3000): Promise<void> {
    const exits: Promise<void>[] = [];
    for (const sandbox of this.sandboxes.values()) {
      for (const proc of sandbox.processes.values()) exits.push(new Promise((resolve) => proc.onExit(resolve)));
      sandbox.terminate('killed');
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(exits),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private expireNow(sandbox: FakeSandbox): void {
    if (sandbox.state === 'killed') return;
    if (sandbox.state === 'paused') {
      // a paused sandbox has no running lifetime; only an explicit `fake.expire` reaches here
      if (!sandbox.autoPause) sandbox.terminate('expired');
      return;
    }
    if (sandbox.autoPause) {
      sandbox.endAt = new Date();
      sandbox.pause({ auto: true, memory: sandbox.autoPauseMemory });
    } else sandbox.terminate('expired');
  }

  must(id: string): FakeSandbox {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) throw new Error(`e2b fake: no sandbox ${id}`);
    return sandbox;
  }
}
