/**
 * Sandbox records, lifetimes and the sandbox ↔ host path mapping of the fake.
 *
 * Path mapping: every sandbox gets a real directory `<rootDir>/<sandboxId>` (its "filesystem root") with
 * the home `<rootDir>/<sandboxId>/home/user`. Paths are NOT rewritten: the sandbox home *is* that host
 * path, so `files.*`, `cwd`, `$HOME`, `pwd` and absolute paths inside command strings all agree. Relative
 * paths and `~` resolve against the home (like envd). File-API paths must stay inside the sandbox root;
 * anything else (e.g. a literal `/home/user/x`) is refused with 403 / `permission_denied` so a test can
 * never write to the host by accident. Commands run on the host and are not confined.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { NetworkChange, SandboxNetworkConfig } from './network.js';
import type { FakeProcess } from './processes.js';

export type SandboxState = 'running' | 'paused' | 'killed';

/** A step in a sandbox's life, in order. `auto-paused` = its lifetime ran out with `onTimeout: 'pause'`. */
export interface SandboxEvent {
  event: 'created' | 'paused' | 'auto-paused' | 'resumed' | 'auto-resumed' | 'killed' | 'expired';
  at: Date;
  /** For pauses and resumes: whether memory (running processes) was kept. */
  memory?: boolean;
}

/** What the fake knows about a sandbox (a snapshot; mutating it does nothing). */
export interface SandboxInfo {
  sandboxId: string;
  templateId: string;
  metadata: Record<string, string>;
  /** `envs` given at create; set in every command's environment (envd's global env vars). */
  envVars: Record<string, string>;
  /** Lifetime asked for at create (ms); `undefined` → the server default was used. */
  requestedTimeoutMs: number | undefined;
  /** Last lifetime applied by create / connect / setTimeout (ms). */
  timeoutMs: number;
  createdAt: Date;
  startedAt: Date;
  endAt: Date;
  state: SandboxState;
  /** Why a killed sandbox is gone. */
  endReason?: 'killed' | 'expired';
  /** `lifecycle.onTimeout === 'pause'` → expiry pauses instead of killing. */
  autoPause: boolean;
  /** `autoPauseMemory` (SDK `onTimeout: {action: 'pause', keepMemory}`); false → an auto-pause drops processes. */
  autoPauseMemory: boolean;
  /** `lifecycle.autoResume` → envd traffic to the paused sandbox resumes it. */
  autoResume: boolean;
  /** `allow_internet_access` as last set (create or network update); undefined = never sent. */
  allowInternetAccess: boolean | undefined;
  /** Network config as stored (see `fake.network(id)` for the history and the firewall model). */
  network: SandboxNetworkConfig | undefined;
  /** Created, paused, resumed, … in order. */
  events: SandboxEvent[];
  envdAccessToken: string;
  /** Host directory acting as the sandbox filesystem root. */
  rootDir: string;
  /** Host directory acting as `/home/user` — the sandbox's HOME and default cwd. */
  homeDir: string;
  /** Process ids currently running in the sandbox. */
  runningPids: number[];
  /** How many times `Sandbox.connect` reached this sandbox. */
  connectCount: number;
}

export class PathOutsideSandboxError extends Error {
  constructor(
    readonly requested: string,
    readonly rootDir: string,
    readonly homeDir: string,
  ) {
    super(
      `path '${requested}' is outside the fake sandbox (root ${rootDir}); the fake's home is ${homeDir} — ` +
        'use paths under it (learn it with `echo $HOME`)',
    );
  }
}

export class FakeSandbox {
  readonly sandboxId: string;
  readonly templateId: string;
  readonly metadata: Record<string, string>;
  readonly envVars: Record<string, string>;
  readonly requestedTimeoutMs: number | undefined;
  readonly createdAt = new Date();
  readonly envdAccessToken = randomBytes(16).toString('hex');
  readonly rootDir: string;
  readonly homeDir: string;
  readonly autoPause: boolean;
  readonly autoPauseMemory: boolean;
  readonly autoResume: boolean;
  allowInternetAccess: boolean | undefined;
  network: SandboxNetworkConfig | undefined;
  readonly events: SandboxEvent[] = [];
  /** Every accepted network change (create's, then each update). */
  readonly networkHistory: NetworkChange[] = [];
  /** The lifetime given at create (ms), the base of an auto-resume's lifetime. */
  readonly initialTimeoutMs: number;
  startedAt = new Date();
  endAt: Date;
  timeoutMs: number;
  state: SandboxState = 'running';
  endReason: 'killed' | 'expired' | undefined;
  connectCount = 0;
  readonly processes = new Map<number, FakeProcess>();
  /** Open envd HTTP responses; destroyed when the sandbox dies (like the proxy dropping connections). */
  readonly openResponses = new Set<ServerResponse>();

  constructor(init: {
    baseDir: string;
    templateId: string;
    metadata: Record<string, string>;
    envVars: Record<string, string>;
    timeoutMs: number;
    requestedTimeoutMs: number | undefined;
    autoPause: boolean;
    autoPauseMemory: boolean;
    autoResume: boolean;
    allowInternetAccess: boolean | undefined;
    network: SandboxNetworkConfig | undefined;
  }) {
    this.sandboxId = newSandboxId();
    this.templateId = init.templateId;
    this.metadata = init.metadata;
    this.envVars = init.envVars;
    this.requestedTimeoutMs = init.requestedTimeoutMs;
    this.autoPause = init.autoPause;
    this.autoPauseMemory = init.autoPauseMemory;
    this.autoResume = init.autoResume;
    this.allowInternetAccess = init.allowInternetAccess;
    this.network = init.network;
    this.events.push({ event: 'created', at: this.createdAt });
    this.timeoutMs = init.timeoutMs;
    this.initialTimeoutMs = init.timeoutMs;
    this.endAt = new Date(Date.now() + init.timeoutMs);
    this.rootDir = join(init.baseDir, this.sandboxId);
    this.homeDir = join(this.rootDir, 'home', 'user');
    mkdirSync(this.homeDir, { recursive: true });
    // The sandbox's own /tmp: what commands leave there goes when the fake sandbox does.
    mkdirSync(join(this.rootDir, 'tmp'), { recursive: true });
  }

  /** Resolve a sandbox path (absolute, relative to home, or `~/…`) to the host path; confined to rootDir. */
  resolvePath(requested: string): string {
    let p = requested;
    if (p === '' || p === '~') p = this.homeDir;
    else if (p.startsWith('~/')) p = join(this.homeDir, p.slice(2));
    const abs = isAbsolute(p) ? resolve(p) : resolve(this.homeDir, p);
    if (abs !== this.rootDir && !abs.startsWith(this.rootDir + sep)) {
      throw new PathOutsideSandboxError(requested, this.rootDir, this.homeDir);
    }
    return abs;
  }

  /** Create the parent directories of an already-resolved host path. */
  ensureParent(hostPath: string): void {
    mkdirSync(dirname(hostPath), { recursive: true });
  }

  info(): SandboxInfo {
    return {
      sandboxId: this.sandboxId,
      templateId: this.templateId,
      metadata: { ...this.metadata },
      envVars: { ...this.envVars },
      requestedTimeoutMs: this.requestedTimeoutMs,
      timeoutMs: this.timeoutMs,
      createdAt: new Date(this.createdAt),
      startedAt: new Date(this.startedAt),
      endAt: new Date(this.endAt),
      state: this.state,
      ...(this.endReason ? { endReason: this.endReason } : {}),
      autoPause: this.autoPause,
      autoPauseMemory: this.autoPauseMemory,
      autoResume: this.autoResume,
      allowInternetAccess: this.allowInternetAccess,
      network: this.network === undefined ? undefined : structuredClone(this.network),
      events: this.events.map((e) => ({ ...e, at: new Date(e.at) })),
      envdAccessToken: this.envdAccessToken,
      rootDir: this.rootDir,
      homeDir: this.homeDir,
      runningPids: [...this.processes.keys()],
      connectCount: this.connectCount,
    };
  }

  /** Kill the sandbox: drop open envd connections first (the SDK then sees `terminated`), then the processes. */
  terminate(reason: 'killed' | 'expired'): void {
    if (this.state === 'killed') return;
    this.state = 'killed';
    this.endReason = reason;
    this.endAt = new Date();
    this.events.push({ event: reason, at: new Date() });
    this.dropConnections();
    this.killProcesses();
  }

  /**
   * Pause: drop connections and freeze every process group (SIGSTOP); `resume` continues them. Without
   * memory (a filesystem-only snapshot) the processes are killed instead — only the files survive.
   */
  pause(how: { auto: boolean; memory: boolean }): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.events.push({ event: how.auto ? 'auto-paused' : 'paused', at: new Date(), memory: how.memory });
    this.dropConnections();
    if (how.memory) for (const proc of this.processes.values()) proc.signal('SIGSTOP');
    else this.killProcesses();
  }

  /** Resume with a fresh lifetime; `memory: false` (SDK `onResume: 'reboot'`) cold-boots: processes are lost. */
  resume(timeoutMs: number, how: { auto: boolean; memory: boolean }): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.events.push({ event: how.auto ? 'auto-resumed' : 'resumed', at: new Date(), memory: how.memory });
    this.startedAt = new Date();
    this.timeoutMs = timeoutMs;
    this.endAt = new Date(Date.now() + timeoutMs);
    if (how.memory) for (const proc of this.processes.values()) proc.signal('SIGCONT');
    else this.killProcesses();
  }

  private killProcesses(): void {
    for (const proc of this.processes.values()) {
      proc.signal('SIGCONT');
      proc.signal('SIGKILL');
    }
    this.killStrays();
  }

  /**
   * A real sandbox takes every process with it, also those that left their process group
   * (`nohup … &`, double forks). Here they are host processes: find them by the sandbox's HOME,
   * which they inherit, so that a hostile test's background watcher does not outlive its sandbox.
   */
  private killStrays(): void {
    const marker = `HOME=${this.homeDir}\0`;
    let pids: string[];
    try {
      pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
    } catch {
      return; // not Linux: nothing to scan
    }
    for (const pid of pids) {
      let environ: string;
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      } catch {
        continue; // gone, or not ours to read
      }
      if (!`\0${environ}`.includes(`\0${marker}`)) continue;
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private dropConnections(): void {
    for (const res of this.openResponses) res.destroy();
    this.openResponses.clear();
  }
}

/** Real ids are 20 lowercase alphanumerics (e.g. `i1x9…`). */
function newSandboxId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(20);
  let id = 'i';
  for (let i = 1; i < 20; i++) id += alphabet[(bytes[i] ?? 0) % alphabet.length];
  return id;
}
