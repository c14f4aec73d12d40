/** Shared state of one fake: the sandboxes and their lifetimes (expiry is applied lazily and by a sweep timer). */
import { FakeSandbox, type SandboxInfo } from './sandbox.js';

export interface RegistryOptions {
  baseDir: string;
  envdVersion: string;
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  childPath: string;
}

export class SandboxRegistry {
  readonly sandboxes = new Map<string, FakeSandbox>();

  constructor(readonly options: RegistryOptions) {}

  create(init: {
    templateId: string;
    metadata: Record<string, string>;
    envVars: Record<string, string>;
    timeoutMs: number | undefined;
    autoPause: boolean;
  }): FakeSandbox {
    const sandbox = new FakeSandbox({
      baseDir: this.options.baseDir,
      templateId: init.templateId,
      metadata: init.metadata,
      envVars: init.envVars,
      timeoutMs: init.timeoutMs ?? this.options.defaultTimeoutMs,
      requestedTimeoutMs: init.timeoutMs,
      autoPause: init.autoPause,
    });
    this.sandboxes.set(sandbox.sandboxId, sandbox);
    return sandbox;
  }

  /** The sandbox after applying any due expiry (killed ones are still returned). */
  get(id: string): FakeSandbox | undefined {
    this.sweep();
    return this.sandboxes.get(id);
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
    if (sandbox.autoPause) {
      sandbox.endAt = new Date();
      sandbox.pause();
    } else sandbox.terminate('expired');
  }

  private must(id: string): FakeSandbox {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox) throw new Error(`e2b fake: no sandbox ${id}`);
    return sandbox;
  }
}
